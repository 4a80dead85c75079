"""AWS failures become one readable line with a hint, against a real moto server."""

from __future__ import annotations

import pytest

from rollback_cockpit.aws import errors
from rollback_cockpit.aws.session import Aws, AwsSettings
from tests.conftest import REGION, free_port


async def failing(settings: AwsSettings, service: str, op: str, **kw):
    async with Aws(settings) as aws:
        try:
            client = await aws.client(service)
            await getattr(client, op)(**kw)
        except Exception as exc:  # what every caller does: explain it
            return errors.explain(exc, resource=kw.get("cluster") or kw.get("Name"), endpoint_url=settings.endpoint_url)
    pytest.fail(f"{op} did not fail")


def one_line(problem: errors.AwsProblem) -> str:
    line = problem.line()
    assert "\n" not in line and "Traceback" not in line
    return line


async def test_missing_resource(aws_settings):
    p = await failing(aws_settings, "ecs", "describe_task_definition", taskDefinition="lightningtalk-prod-api:7")
    assert p.kind == errors.NOT_FOUND
    assert one_line(p).startswith("not found:")
    p = await failing(aws_settings, "ecs", "describe_services", cluster="lightningtalk-prod", services=["api-service"])
    assert p.kind == errors.NOT_FOUND
    assert one_line(p).startswith("not found: lightningtalk-prod (DescribeServices: Cluster not found.)")
    p = await failing(aws_settings, "ssm", "get_parameter", Name="/lightningtalk/stable-version")
    assert p.kind == errors.NOT_FOUND
    assert "/lightningtalk/stable-version" in one_line(p)
    assert "check the name in the environment file" in p.hint


async def test_bad_credentials(aws_settings, enforce_auth):
    enforce_auth.enable()
    bad = AwsSettings(region=REGION, endpoint_url=aws_settings.endpoint_url, access_key_id="AKIANOTAREALKEY00000", secret_access_key="x", max_attempts=1)
    p = await failing(bad, "ecs", "list_clusters")
    assert p.kind == errors.CREDENTIALS
    assert one_line(p).startswith("AWS rejected the credentials (InvalidClientTokenId in ListClusters)")
    assert "aws sso login" in p.hint


async def test_access_denied_names_the_action(aws_settings, enforce_auth):
    key, secret = enforce_auth("sts:GetCallerIdentity")
    enforce_auth.enable()
    limited = AwsSettings(region=REGION, endpoint_url=aws_settings.endpoint_url, access_key_id=key, secret_access_key=secret, max_attempts=1)
    p = await failing(limited, "ssm", "get_parameter", Name="/lightningtalk/prod/active-environment")
    assert p.kind == errors.DENIED
    assert one_line(p).startswith("AWS denied GetParameter on /lightningtalk/prod/active-environment")
    assert "iam-policy.json" in p.hint


async def test_unreachable_endpoint():
    url = f"http://127.0.0.1:{free_port()}"
    settings = AwsSettings(region=REGION, endpoint_url=url, access_key_id="a", secret_access_key="b", max_attempts=1, connect_timeout=1)
    p = await failing(settings, "ecs", "list_clusters")
    assert p.kind == errors.UNREACHABLE
    assert one_line(p).startswith(f"cannot reach {url}")
    assert p.retryable


async def test_no_credentials(monkeypatch, tmp_path, moto):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    p = await failing(AwsSettings(region=REGION, endpoint_url=moto, max_attempts=1), "sts", "get_caller_identity")
    assert p.kind == errors.CREDENTIALS
    assert one_line(p).startswith("no AWS credentials found")


async def test_unknown_profile(monkeypatch, tmp_path, moto):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    p = await failing(AwsSettings(region=REGION, profile="oncall", endpoint_url=moto, max_attempts=1), "sts", "get_caller_identity")
    assert p.kind == errors.CREDENTIALS
    assert one_line(p).startswith("AWS profile not found: oncall")


def test_traceback_goes_to_the_debug_log_only(tmp_path, capsys):
    from botocore.exceptions import ClientError

    from rollback_cockpit import debuglog

    path = debuglog.setup(tmp_path)
    exc = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetMetricData")
    p = errors.explain(exc, resource="AWS/ApplicationELB")
    assert p.kind == errors.THROTTLED
    assert one_line(p).startswith("AWS kept throttling GetMetricData on AWS/ApplicationELB after retries")
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "ThrottlingException" in path.read_text()


def test_a_local_os_error_is_not_called_a_network_problem():
    p = errors.explain(OSError(28, "No space left on device", "/var/state/run.jsonl"))
    assert p.kind == errors.OTHER
    assert p.line().startswith("No space left on device: /var/state/run.jsonl")
    assert errors.explain(ConnectionRefusedError(111, "Connection refused")).kind == errors.UNREACHABLE
