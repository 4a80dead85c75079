"""run_validation as a whole, a denied permission, and the validate command."""

from __future__ import annotations

import json
import urllib.request

import pytest

from rollback_cockpit.aws.session import Aws, AwsSettings
from rollback_cockpit.checks.results import COULD_NOT_CHECK, PASS
from rollback_cockpit.checks.validation import run_validation
from rollback_cockpit.runbook import environment
from rollback_cockpit.runbook.clock import Clock

REGION = "ap-northeast-1"
ENV = """
name: t
region: ap-northeast-1
database:
  tables:
    - {name: lt-events, expected_items: 0}
validation:
  base_url: http://127.0.0.1:1
  endpoints: [{path: /health}]
  log_group: /aws/ecs/lt
"""


@pytest.fixture
def enforce_iam(moto, boto):
    """Switch moto's IAM enforcement on for the test, with a user denied logs:FilterLogEvents.

    Yields the user's access keys; moto authorizes every request against the
    user's policies, as AWS would.
    """
    iam = boto("iam")
    iam.create_user(UserName="operator")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "logs:FilterLogEvents", "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName="operator", PolicyName="no-logs", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="operator")["AccessKey"]

    def reset_auth(count: str) -> None:
        req = urllib.request.Request(
            f"{moto}/moto-api/reset-auth", data=count.encode(), method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(req, timeout=10).read()

    reset_auth("0")
    try:
        yield key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        reset_auth("inf")


def seed(boto) -> None:
    boto("dynamodb").create_table(
        TableName="lt-events",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto("logs").create_log_group(logGroupName="/aws/ecs/lt")


async def test_denied_permission_is_could_not_check_naming_the_action(moto, boto, enforce_iam):
    # Enforcement is on: seed with the user's own keys (it may do both).
    key_id, secret = enforce_iam
    import boto3

    ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto, aws_access_key_id=key_id, aws_secret_access_key=secret)
    ddb.create_table(
        TableName="lt-events",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    logs = boto3.client("logs", region_name=REGION, endpoint_url=moto, aws_access_key_id=key_id, aws_secret_access_key=secret)
    logs.create_log_group(logGroupName="/aws/ecs/lt")
    settings = AwsSettings(region=REGION, endpoint_url=moto, access_key_id=key_id, secret_access_key=secret, max_attempts=1)
    env = environment.loads(ENV)
    async with Aws(settings) as aws:
        got = {r.name: r async for r in run_validation(aws, env, Clock(), only=["logs", "integrity"])}
    denied = got["/aws/ecs/lt"]
    assert denied.status == COULD_NOT_CHECK
    assert "AWS denied FilterLogEvents" in denied.summary
    # The same user may read DynamoDB: that check ran normally.
    assert got["lt-events: table"].status == PASS


async def test_a_check_that_raises_becomes_could_not_check(aws, monkeypatch):
    from rollback_cockpit.checks import logs as logs_mod

    async def boom(*a, **k):
        raise RuntimeError("the log client exploded")
        yield  # pragma: no cover

    monkeypatch.setattr(logs_mod, "check_logs", boom)
    env = environment.loads(ENV)
    got = [r async for r in run_validation(aws, env, Clock(), only=["logs"])]
    assert [(r.check, r.status) for r in got] == [("logs", COULD_NOT_CHECK)]
    assert "the log client exploded" in got[0].summary


async def test_unknown_check_is_refused(aws):
    with pytest.raises(ValueError, match="unknown check"):
        [r async for r in run_validation(aws, environment.loads(ENV), Clock(), only=["nope"])]


async def test_results_stream_from_all_checks(aws, boto):
    seed(boto)
    env = environment.loads(ENV)
    got = [r async for r in run_validation(aws, env, Clock(), only=["integrity", "logs", "endpoints"])]
    assert {r.check for r in got} == {"integrity", "logs", "endpoints"}


def cli(*argv: str) -> int:
    from rollback_cockpit.tui.cli import main

    return main(list(argv))


@pytest.fixture
def env_file(tmp_path, moto, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    path = tmp_path / "env.yaml"
    path.write_text(ENV, encoding="utf-8")
    return path


def test_validate_command_passes_and_writes_json(env_file, boto, tmp_path, capsys):
    seed(boto)
    out = tmp_path / "v.json"
    code = cli("validate", "--env", str(env_file), "--only", "logs", "--only", "integrity", "--json", str(out), "--state-dir", str(tmp_path / "s"))
    captured = capsys.readouterr()
    assert code == 0, captured
    assert "validation PASSED" in captured.out
    doc = json.loads(out.read_text())
    assert doc["passed"] is True
    assert {r["check"] for r in doc["results"]} == {"logs", "integrity"}


def test_validate_command_fails_when_a_check_could_not_run(env_file, boto, tmp_path, capsys):
    seed(boto)
    code = cli("validate", "--env", str(env_file), "--only", "endpoints", "--state-dir", str(tmp_path / "s"))
    captured = capsys.readouterr()
    assert code == 1
    assert "COULD NOT CHECK" in captured.out
    assert "validation NOT PASSED" in captured.err


def test_validate_usage_errors_exit_2(env_file, tmp_path, capsys):
    assert cli("validate", "--state-dir", str(tmp_path / "s")) == 2  # neither --env nor --simulate
    with pytest.raises(SystemExit) as exc:
        cli("validate", "--env", str(env_file), "--only", "coffee")
    assert exc.value.code == 2
