"""checks.readiness and the `readiness` command against a real moto server."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile

import pytest

from rollback_cockpit.checks import readiness
from rollback_cockpit.checks.backups import parse_s3_url
from rollback_cockpit.checks.results import COULD_NOT_CHECK, FAIL, PASS
from rollback_cockpit.runbook import environment
from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.tui.context import shipped_environment

SHIPPED_DISTRIBUTION, SHIPPED_ZONE = "E2LTCPROD00001", "Z0LTCPROD00001"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def seed(boto, env) -> dict[str, str]:
    """Every resource of the shipped environment, with history to roll back to.

    Returns the ids AWS chose (distribution, hosted zone) to put in the environment.
    """
    app = env.application
    ecs = boto("ecs")
    ecs.create_cluster(clusterName=app.ecs.cluster)
    for svc in app.ecs.services:
        arns = [
            ecs.register_task_definition(
                family=svc.family, containerDefinitions=[{"name": "app", "image": f"app:{v}", "memory": 256}]
            )["taskDefinition"]["taskDefinitionArn"]
            for v in (1, 2)
        ]
        ecs.create_service(cluster=app.ecs.cluster, serviceName=svc.name, taskDefinition=arns[-1], desiredCount=1)

    role = boto("iam").create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto("lambda")
    for f in app.lambda_.functions:
        lam.create_function(
            FunctionName=f.name, Runtime="python3.11", Role=role, Handler="handler.handler", Code={"ZipFile": _zip()}
        )
        lam.publish_version(FunctionName=f.name)
        lam.update_function_code(FunctionName=f.name, ZipFile=_zip() + b"")
        lam.publish_version(FunctionName=f.name, Description="v2")
        lam.create_alias(FunctionName=f.name, Name=f.alias, FunctionVersion="2")

    s3 = boto("s3")
    region = {"LocationConstraint": env.region}
    site = app.static_site
    s3.create_bucket(Bucket=site.bucket, CreateBucketConfiguration=region)
    for rel in ("v1.9", "v1.10"):
        s3.put_object(Bucket=site.bucket, Key=f"{site.releases_prefix}{rel}/index.html", Body=b"<html/>")
    s3.put_object(Bucket=site.bucket, Key=site.current_release_key, Body=b"v1.10")
    backups_bucket, prefix = parse_s3_url(env.emergency.backups)
    s3.create_bucket(Bucket=backups_bucket, CreateBucketConfiguration=region)
    s3.put_object(Bucket=backups_bucket, Key=f"{prefix}2026-02-28-VERIFIED.tar.gz", Body=b"x")
    s3.put_object(Bucket=backups_bucket, Key=f"{prefix}2026-03-01-unverified.tar.gz", Body=b"x")
    dist = boto("cloudfront").create_distribution(
        DistributionConfig={
            "CallerReference": "ref",
            "Comment": "",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": f"{site.bucket}.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all", "MinTTL": 0,
                                     "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                     "TrustedSigners": {"Enabled": False, "Quantity": 0}},
        }
    )["Distribution"]["Id"]

    ddb = boto("dynamodb")
    for t in env.database.tables:
        ddb.create_table(
            TableName=t.name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    sm = boto("secretsmanager")
    for s in env.configuration.secrets:
        sm.create_secret(Name=s.id, SecretString="old-value")
        sm.put_secret_value(SecretId=s.id, SecretString="new-value")

    ssm = boto("ssm")
    for name in readiness.configured_parameters(env):
        ssm.put_parameter(Name=name, Value="1", Type="String")

    for st in env.infrastructure.stacks:
        boto("cloudformation").create_stack(
            StackName=st.name, TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
        )
    zone = boto("route53").create_hosted_zone(Name="xn--6wym69a.com", CallerReference="ref")["HostedZone"]["Id"]
    boto("logs").create_log_group(logGroupName=env.validation.log_group)
    return {"distribution": dist, "zone": zone.rsplit("/", 1)[-1]}


def with_ids(env, ids):
    site = dataclasses.replace(env.application.static_site, distribution_id=ids["distribution"])
    app = dataclasses.replace(env.application, static_site=site)
    return dataclasses.replace(env, application=app, traffic=dataclasses.replace(env.traffic, hosted_zone_id=ids["zone"]))


@pytest.fixture
def ready_env(boto):
    env = environment.load(shipped_environment())
    return with_ids(env, seed(boto, env))


async def collect(aws, env, **kw):
    return [r async for r in readiness.check_readiness(aws, env, Clock(), **kw)]


def by_name(results):
    return {r.name: r for r in results}


async def test_a_ready_environment_passes(aws, ready_env):
    results = await collect(aws, ready_env)
    named = by_name(results)
    assert len(named) == len(results)  # one result per name
    for name in (
        "credentials",
        "lock",
        "verified backup",
        "resources: ECS",
        "resources: Lambda",
        "resources: static site",
        "resources: DynamoDB",
        "resources: secrets",
        "resources: parameters",
        "resources: stacks",
        "resources: hosted zone",
        "resources: log group",
        "previous version: ECS api-service",
        "previous version: ECS websocket-service",
        "previous version: Lambda lightningtalk-api-handler",
        "previous version: secret lightningtalk-prod-env",
        "previous version: static site",
    ):
        assert named[name].status == PASS, named[name].line()
    assert "lightningtalk-prod-api:1" in named["previous version: ECS api-service"].summary
    assert named["previous version: static site"].summary == "live v1.10, previous release v1.9"
    assert named["verified backup"].evidence["count"] == 1
    assert "GSI status-index" in " ".join(named["resources: DynamoDB"].details)
    # moto does not implement IAM policy simulation: a clear note, never a crash, not a blocker.
    perms = named["permissions"]
    assert perms.status == COULD_NOT_CHECK
    assert "IAM policy simulation is not available here" in perms.summary
    assert readiness.is_ready(results)
    # No secret value ever appears in a result.
    assert "value" not in json.dumps([r.to_json() for r in results]).replace("previous", "")


async def test_missing_resources_fail_naming_them(aws, boto, ready_env):
    boto("ecs").delete_service(cluster="lightningtalk-prod", service="websocket-service", force=True)
    boto("dynamodb").delete_table(TableName="lightningtalk-prod-participants")
    boto("secretsmanager").delete_secret(SecretId="lightningtalk-prod-env", ForceDeleteWithoutRecovery=True)
    boto("ssm").delete_parameter(Name="/lightningtalk/stable-version")
    boto("logs").delete_log_group(logGroupName="/aws/ecs/lightningtalk-prod")
    env = with_ids(ready_env, {"distribution": "E000MISSING", "zone": "Z000MISSING"})
    named = by_name(await collect(aws, env))
    assert named["resources: ECS"].status == FAIL
    assert named["resources: ECS"].summary == "missing: ECS service lightningtalk-prod/websocket-service"
    assert named["resources: DynamoDB"].summary == "missing: table lightningtalk-prod-participants"
    assert named["resources: secrets"].summary == "missing: secret lightningtalk-prod-env"
    assert named["resources: parameters"].summary == "missing: parameter /lightningtalk/stable-version"
    assert named["resources: log group"].summary == "missing: log group /aws/ecs/lightningtalk-prod"
    assert named["resources: static site"].summary == "missing: CloudFront distribution E000MISSING"
    assert named["resources: hosted zone"].summary == "missing: hosted zone Z000MISSING"
    assert named["previous version: ECS api-service"].status == PASS
    assert not readiness.is_ready(list(named.values()))


async def test_nothing_to_go_back_to_and_no_verified_backup(aws, boto, ready_env):
    ecs = boto("ecs")
    ecs.deregister_task_definition(taskDefinition="lightningtalk-prod-api:1")
    bucket, prefix = parse_s3_url(ready_env.emergency.backups)
    boto("s3").delete_object(Bucket=bucket, Key=f"{prefix}2026-02-28-VERIFIED.tar.gz")
    named = by_name(await collect(aws, ready_env))
    assert named["previous version: ECS api-service"].status == FAIL
    assert "no ACTIVE revision of lightningtalk-prod-api older than the live 2" in named["previous version: ECS api-service"].summary
    assert named["previous version: ECS websocket-service"].status == PASS
    assert named["verified backup"].status == FAIL
    assert named["verified backup"].summary == "no backup marked VERIFIED under s3://lightningtalk-backups/verified/"


async def test_a_held_lock_is_not_ready_unless_it_is_ours(aws, ready_env):
    from rollback_cockpit.actions import lock

    await lock.acquire(aws, ready_env, "alice", "run-1", Clock())
    named = by_name(await collect(aws, ready_env))
    assert named["lock"].status == FAIL and named["lock"].summary.startswith("locked by alice since ")
    assert by_name(await collect(aws, ready_env, run_id="run-1"))["lock"].status == PASS


async def test_simulation_decisions_when_the_account_allows(aws, ready_env, monkeypatch):
    """IAM simulation is not in moto; feed a real-shaped answer to check how it is read."""
    iam = await aws.client("iam")

    async def simulate_principal_policy(**kw):
        assert kw["PolicySourceArn"] == "arn:aws:iam::123456789012:user/moto"
        return {
            "EvaluationResults": [
                {"EvalActionName": a, "EvalDecision": "implicitDeny" if a == "ecs:UpdateService" else "allowed"}
                for a in kw["ActionNames"]
            ],
            "IsTruncated": False,
        }

    monkeypatch.setattr(iam, "simulate_principal_policy", simulate_principal_policy)
    results = await collect(aws, ready_env, policy_actions=["ecs:UpdateService", "ecs:DescribeServices"])
    perms = by_name(results)["permissions"]
    assert perms.status == FAIL
    assert perms.summary == "1 of 2 actions denied for arn:aws:iam::123456789012:user/moto: ecs:UpdateService"
    assert not readiness.is_ready(results)


def test_principal_arn():
    assert readiness.principal_arn("arn:aws:sts::111:assumed-role/OnCall/alice") == "arn:aws:iam::111:role/OnCall"
    assert readiness.principal_arn("arn:aws:iam::111:user/ops/bob") == "arn:aws:iam::111:user/ops/bob"
    assert readiness.principal_arn("arn:aws:iam::111:root") is None


def _cli_env_file(tmp_path, ids) -> str:
    text = shipped_environment().read_text(encoding="utf-8")
    text = text.replace(SHIPPED_DISTRIBUTION, ids["distribution"]).replace(SHIPPED_ZONE, ids["zone"])
    path = tmp_path / "env.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_command_exit_codes(boto, moto, monkeypatch, tmp_path, state_dir, capsys):
    from rollback_cockpit.tui import cli

    env = environment.load(shipped_environment())
    ids = seed(boto, env)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    path = _cli_env_file(tmp_path, ids)
    assert cli.main(["readiness", "--env", path, "--state-dir", str(state_dir)]) == 0
    out = capsys.readouterr()
    assert "lightningtalk-prod: READY for a rollback" in out.out
    assert "COULD NOT CHECK readiness   permissions:" in out.out
    assert out.out.count("\n") >= 18

    boto("lambda").delete_alias(FunctionName="lightningtalk-api-handler", Name="prod")
    assert cli.main(["readiness", "--env", path, "--state-dir", str(state_dir)]) == 1
    out = capsys.readouterr()
    assert "FAIL            readiness   resources: Lambda: missing: Lambda lightningtalk-api-handler:prod" in out.out
    assert "NOT READY" in out.err

    assert cli.main(["readiness", "--state-dir", str(state_dir)]) == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["readiness", "--bogus"])
    assert info.value.code == 2
