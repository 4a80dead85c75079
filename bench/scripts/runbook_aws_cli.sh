#!/usr/bin/env bash
# The runbook's Type A procedure (app-rollback.sh) with the aws CLI, as written:
# one describe of api-service, "previous" computed as N-1 for both services,
# two update-service calls with a forced new deployment. The runbook's
# ./scripts/monitor-deployment.sh --wait-stable is not part of the runbook;
# `aws ecs wait services-stable` over both services stands in for it.
set -euo pipefail
CLUSTER=lightningtalk-prod

CURRENT_VERSION=$(aws ecs describe-services \
  --cluster "$CLUSTER" \
  --services api-service \
  --query 'services[0].taskDefinition' \
  --output text | rev | cut -d: -f1 | rev)
echo "Current version: $CURRENT_VERSION"

PREVIOUS_VERSION=$((CURRENT_VERSION - 1))
PREVIOUS_TASK_DEF="lightningtalk-prod-api:${PREVIOUS_VERSION}"
echo "Rolling back to: $PREVIOUS_TASK_DEF"

aws ecs update-service \
  --cluster "$CLUSTER" \
  --service api-service \
  --task-definition "$PREVIOUS_TASK_DEF" \
  --force-new-deployment >/dev/null

aws ecs update-service \
  --cluster "$CLUSTER" \
  --service websocket-service \
  --task-definition "lightningtalk-prod-websocket:${PREVIOUS_VERSION}" \
  --force-new-deployment >/dev/null

echo "Monitoring rollback progress..."
aws ecs wait services-stable --cluster "$CLUSTER" --services api-service websocket-service
echo "stable"
