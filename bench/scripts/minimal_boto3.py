"""The floor for a Python tool: only the calls a correct Type A rollback of two ECS services needs.

DescribeServices (both at once), ListTaskDefinitions per family (the previous
ACTIVE revision, not N-1), two UpdateService with a forced new deployment,
then the services-stable waiter. No journal, no report, no safety checks.
"""

import boto3

CLUSTER = "lightningtalk-prod"
SERVICES = ["api-service", "websocket-service"]

ecs = boto3.client("ecs")
live = {s["serviceName"]: s["taskDefinition"] for s in ecs.describe_services(cluster=CLUSTER, services=SERVICES)["services"]}
for name, arn in live.items():
    family, rev = arn.rsplit("/", 1)[-1].rsplit(":", 1)
    arns = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]
    older = sorted((int(a.rsplit(":", 1)[1]), a) for a in arns if int(a.rsplit(":", 1)[1]) < int(rev))
    ecs.update_service(cluster=CLUSTER, service=name, taskDefinition=older[-1][1], forceNewDeployment=True)
ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=SERVICES, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
print("stable")
