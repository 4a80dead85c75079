"""The world every Type A contender starts from, and the check each must pass after.

Cluster ``lightningtalk-prod`` with ``api-service`` and ``websocket-service``
(families ``lightningtalk-prod-api`` / ``lightningtalk-prod-websocket``),
revisions 1..3 registered, both services live on 3 with desiredCount 2. The
right rollback target is revision 2 of each family.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.server import REGION, RUNNING_TASKS, LocalAws

CLUSTER = "lightningtalk-prod"
ENV_NAME = "lightningtalk-prod"
SERVICES = {"api-service": "lightningtalk-prod-api", "websocket-service": "lightningtalk-prod-websocket"}
IMAGES = {1: "v2.2.0", 2: "v2.3.1", 3: "v2.4.0"}
LIVE, PREVIOUS = 3, 2
TEMPLATE = Path(__file__).with_name("env.template.yaml")
WORK = Path(__file__).with_name(".work")


def _container(family: str, rev: int) -> dict:
    return {
        "name": family.removeprefix("lightningtalk-prod-"),
        "image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{family}:{IMAGES[rev]}",
        "cpu": 256,
        "memory": 512,
        "essential": True,
        "environment": [{"name": "RELEASE", "value": IMAGES[rev]}],
        "portMappings": [{"containerPort": 3000, "hostPort": 3000}],
    }


def seed_ecs(aws: LocalAws) -> None:
    ecs = aws.boto("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    for service, family in SERVICES.items():
        arns = {}
        for rev in (1, 2, 3):
            resp = ecs.register_task_definition(family=family, containerDefinitions=[_container(family, rev)])
            arns[rev] = resp["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(
            cluster=CLUSTER, serviceName=service, taskDefinition=arns[LIVE], desiredCount=RUNNING_TASKS
        )


def env_file() -> Path:
    """The cockpit's environment file for this world, written at run time from the template.

    It has no ``rehearsal:`` section: the cockpit treats the bench's moto like
    AWS, reached through ``AWS_ENDPOINT_URL`` and the standard credential chain.
    """
    WORK.mkdir(exist_ok=True)
    path = WORK / "lightningtalk-prod.bench.yaml"
    path.write_text(TEMPLATE.read_text())
    return path


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str
    side_effects: str


def check_rolled_back(aws: LocalAws) -> Verdict:
    """Both services on the previous good revision (or an exact copy of it), and what else changed."""
    ecs = aws.boto("ecs")
    services = ecs.describe_services(cluster=CLUSTER, services=list(SERVICES))["services"]
    problems, where, effects = [], [], []
    for svc in services:
        family = SERVICES[svc["serviceName"]]
        live = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        rev = int(live["revision"])
        image = live["containerDefinitions"][0]["image"]
        wanted = _container(family, PREVIOUS)["image"]
        if live["family"] != family or image != wanted:
            problems.append(f"{svc['serviceName']} on {family}:{rev} ({image.rsplit(':', 1)[-1]})")
        elif rev != PREVIOUS:
            where.append(f"{svc['serviceName']} on {family}:{rev} (a copy of :{PREVIOUS})")
        else:
            where.append(f"{svc['serviceName']} on {family}:{rev}")
        active = _revisions(ecs, family, "ACTIVE")
        inactive = _revisions(ecs, family, "INACTIVE")
        new = [r for r in active + inactive if r > LIVE]
        if new:
            effects.append(f"registered {family}:{','.join(map(str, new))}")
        if inactive:
            effects.append(f"deregistered {family}:{','.join(map(str, inactive))}")
    if len(services) != len(SERVICES):
        problems.append(f"{len(services)} of {len(SERVICES)} services found")
    detail = "; ".join(problems or where)
    return Verdict(not problems, detail, "; ".join(effects) or "none")


def _revisions(ecs, family: str, status: str) -> list[int]:
    arns = ecs.list_task_definitions(familyPrefix=family, status=status)["taskDefinitionArns"]
    return sorted(int(a.rsplit(":", 1)[1]) for a in arns if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family)
