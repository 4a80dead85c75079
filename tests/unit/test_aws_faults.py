"""Throttling is retried with backoff; past the retries it is one readable line."""

from __future__ import annotations

import pytest

from rollback_cockpit.aws import errors
from rollback_cockpit.aws.session import Aws, AwsSettings
from tests.conftest import REGION


def settings_via(proxy, attempts: int) -> AwsSettings:
    return AwsSettings(region=REGION, endpoint_url=proxy.url, access_key_id="a", secret_access_key="b", max_attempts=attempts)


async def test_throttling_is_retried_until_it_passes(fault_proxy, boto):
    boto("ssm").put_parameter(Name="/lightningtalk/stable-version", Value="3", Type="String")
    fault_proxy.fail("GetParameter", "ThrottlingException", times=2)
    async with Aws(settings_via(fault_proxy, attempts=4)) as aws:
        ssm = await aws.client("ssm")
        got = await ssm.get_parameter(Name="/lightningtalk/stable-version")
    assert got["Parameter"]["Value"] == "3"
    assert fault_proxy.calls("GetParameter") == 3  # two throttled, then through


async def test_throttling_past_the_retries_is_one_line(fault_proxy):
    fault_proxy.fail("DescribeServices", "ThrottlingException", times=float("inf"))
    async with Aws(settings_via(fault_proxy, attempts=2)) as aws:
        ecs = await aws.client("ecs")
        with pytest.raises(Exception) as info:
            await ecs.describe_services(cluster="lightningtalk-prod", services=["api-service"])
    problem = errors.explain(info.value, resource="lightningtalk-prod")
    assert problem.kind == errors.THROTTLED
    assert problem.line().startswith("AWS kept throttling DescribeServices on lightningtalk-prod after retries")
    assert fault_proxy.calls("DescribeServices") == 2


@pytest.mark.parametrize(
    ("code", "kind", "start"),
    [
        ("ExpiredTokenException", errors.EXPIRED, "AWS credentials have expired (ListClusters)"),
        ("AccessDeniedException", errors.DENIED, "AWS denied ListClusters"),
    ],
)
async def test_expired_and_denied_on_the_wire(fault_proxy, code, kind, start):
    fault_proxy.fail("ListClusters", code)
    async with Aws(settings_via(fault_proxy, attempts=1)) as aws:
        ecs = await aws.client("ecs")
        with pytest.raises(Exception) as info:
            await ecs.list_clusters()
    problem = errors.explain(info.value)
    assert problem.kind == kind
    assert problem.line().startswith(start)


async def test_concurrent_callers_share_one_client(aws_settings):
    import asyncio

    async with Aws(aws_settings) as aws:
        clients = await asyncio.gather(*(aws.client(s) for s in ["ecs", "ecs", "sts", "ecs", "sts"]))
        assert clients[0] is clients[1] is clients[3]
        assert clients[2] is clients[4]
        assert len(aws._clients) == 2
