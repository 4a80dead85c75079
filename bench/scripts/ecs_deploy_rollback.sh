#!/usr/bin/env bash
# ecs-deploy (PyPI `ecs-deploy`) deploying the previous revision to each
# service, one process per service, defaults otherwise. It registers a NEW
# revision that copies the one given with --task and deploys it; by default
# (--deregister) it then deregisters the revision it was given: afterwards
# each service runs revision 4 (a copy of 2), revision 2 is INACTIVE and the
# bad revision 3 is still ACTIVE.
#
# --timeout -1: ecs-deploy decides "deployed" by counting RUNNING tasks of
# the new revision through ListTasks/DescribeTasks; moto starts no tasks for
# a service, so its wait can never succeed here. This contender is therefore
# measured WITHOUT waiting for stability (a lower bound for it).
set -euo pipefail
CLUSTER=lightningtalk-prod
ecs deploy "$CLUSTER" api-service --task lightningtalk-prod-api:2 --timeout -1 --no-diff
ecs deploy "$CLUSTER" websocket-service --task lightningtalk-prod-websocket:2 --timeout -1 --no-diff
