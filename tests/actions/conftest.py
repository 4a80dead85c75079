"""A seeded Type A world on the real moto server: two ECS services with a
task-definition history, a Lambda alias with published versions, a static
site with three releases behind a CloudFront distribution."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
CLUSTER = "lightningtalk-prod"
SERVICES = {"api-service": "lightningtalk-prod-api", "websocket-service": "lightningtalk-prod-websocket"}
FUNCTION = "lightningtalk-api-handler"
BUCKET = "lightningtalk-static"

ENV_YAML = """
name: lightningtalk-prod
region: ap-northeast-1
application:
  ecs:
    cluster: lightningtalk-prod
    services:
      - {{name: api-service, family: lightningtalk-prod-api}}
      - {{name: websocket-service, family: lightningtalk-prod-websocket}}
    stable_timeout_seconds: {timeout}
    poll_seconds: 5
  lambda:
    functions:
      - {{name: lightningtalk-api-handler, alias: prod}}
  static_site:
    bucket: lightningtalk-static
    distribution_id: {distribution}
    releases_prefix: releases/
    current_release_key: RELEASE
    invalidation_timeout_seconds: 60
"""


def register(ecs, family: str, rev_image: str, env: dict[str, str], cpu: str = "256") -> str:
    resp = ecs.register_task_definition(
        family=family,
        cpu=cpu,
        memory="512",
        containerDefinitions=[
            {
                "name": family.rsplit("-", 1)[-1],
                "image": f"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/{family}:{rev_image}",
                "memory": 512,
                "environment": [{"name": k, "value": v} for k, v in env.items()],
            }
        ],
    )
    return resp["taskDefinition"]["taskDefinitionArn"]


def ecs_backend():
    from moto.backends import get_backend

    return get_backend("ecs")[ACCOUNT][REGION]


def service_model(name: str):
    return ecs_backend().services[f"{CLUSTER}:{name}"]


def make_stable(name: str) -> None:
    """What ECS would do once the new tasks run: moto never does it by itself."""
    svc = service_model(name)
    svc.running_count = svc.desired_count
    svc.pending_count = 0


@pytest.fixture
async def ecs_settles():
    """Plays ECS's part that moto lacks: once a service points at a new task
    definition, that deployment becomes PRIMARY and all its tasks run."""
    import asyncio

    async def play():
        while True:
            for svc in list(ecs_backend().services.values()):
                head = svc.deployments[0] if svc.deployments else None
                if head is not None and head.get("taskDefinition") != svc.task_definition:
                    head["taskDefinition"] = svc.task_definition
                    svc.running_count, svc.pending_count = svc.desired_count, 0
            await asyncio.sleep(0.01)

    task = asyncio.create_task(play())
    yield
    task.cancel()


@pytest.fixture
def ecs_model():
    """Reach into moto's in-process ECS backend to play the part of ECS's own dynamics."""
    from types import SimpleNamespace

    return SimpleNamespace(service=service_model, make_stable=make_stable)


@pytest.fixture
def fast_clock():
    from rollback_cockpit.runbook.clock import ScaledClock

    now = time.time()
    # 1000x: a 5 s poll is 5 ms; a 60 s stability budget fails a stuck wait in 60 ms.
    return ScaledClock(speed=1000, real_epoch=now, sim_epoch=now)


@pytest.fixture
def seed_ecs(boto):
    ecs = boto("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    arns: dict[str, list[str]] = {}
    for svc, family in SERVICES.items():
        arns[svc] = [
            register(ecs, family, f"v1.{i}", {"DB_URL": "postgres://secret-value-1", "FEATURE_X": "on" if i >= 4 else "off"}, cpu="512" if i == 5 else "256")
            for i in range(1, 6)
        ]
        ecs.create_service(cluster=CLUSTER, serviceName=svc, taskDefinition=arns[svc][-1], desiredCount=2, launchType="EC2")
    return arns


@pytest.fixture
def seed_lambda(boto):
    iam = boto("iam")
    role = iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto("lambda")
    lam.create_function(
        FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="h.handler", Code={"ZipFile": _zip("v1")}
    )
    lam.publish_version(FunctionName=FUNCTION)
    for body in ("v2", "v3"):
        lam.update_function_code(FunctionName=FUNCTION, ZipFile=_zip(body))
        lam.publish_version(FunctionName=FUNCTION)
    lam.create_alias(FunctionName=FUNCTION, Name="prod", FunctionVersion="3")
    return lam


def _zip(body: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("h.py", f"def handler(e, c):\n    return {body!r}\n")
    return buf.getvalue()


@pytest.fixture
def seed_static(boto):
    s3 = boto("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for rel in ("r1", "r2", "r3"):
        for name in ("index.html", "assets/app.js"):
            s3.put_object(Bucket=BUCKET, Key=f"releases/{rel}/{name}", Body=f"{rel} {name}".encode())
    for name in ("index.html", "assets/app.js"):
        s3.copy_object(Bucket=BUCKET, Key=name, CopySource={"Bucket": BUCKET, "Key": f"releases/r3/{name}"})
    s3.put_object(Bucket=BUCKET, Key="RELEASE", Body=b"r3\n")
    cf = boto("cloudfront")
    dist = cf.create_distribution(
        DistributionConfig={
            "CallerReference": "seed",
            "Comment": "static",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [{"Id": "s3", "DomainName": f"{BUCKET}.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}],
            },
            "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all", "MinTTL": 0},
        }
    )
    return dist["Distribution"]["Id"]


@pytest.fixture
def seeded(seed_ecs, seed_lambda, seed_static, ecs_settles):
    """Everything seeded; the services run all their tasks and settle after an update."""
    for name in SERVICES:
        make_stable(name)
    return {"ecs": seed_ecs, "distribution": seed_static}


@pytest.fixture
def make_env():
    from rollback_cockpit.runbook import environment

    def make(distribution: str = "E000000000000", timeout: float = 60):
        return environment.loads(ENV_YAML.format(distribution=distribution, timeout=timeout))

    return make


@pytest.fixture
def journal(state_dir, fast_clock):
    from rollback_cockpit.runbook.journal import Journal

    j = Journal.create(state_dir, fast_clock)
    yield j
    j.close()
