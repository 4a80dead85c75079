"""Metrics settled, through checks.metrics.sample, against a real moto server."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import pytest

from rollback_cockpit.checks.results import COULD_NOT_CHECK, FAIL, PASS
from rollback_cockpit.checks.settled import check_settled
from rollback_cockpit.runbook.clock import ScaledClock
from rollback_cockpit.runbook.environment import loads

# A minute boundary a little in the past (CloudWatch refuses far-off data).
NOW = datetime.fromtimestamp((math.floor(time.time() / 60) - 2) * 60, UTC)
LB = "app/lt-alb/1"
TG = "targetgroup/lt-tg/2"

ENV = f"""
name: t
region: ap-northeast-1
application:
  ecs:
    cluster: lt
    services: [{{name: api-service}}]
validation:
  base_url: http://127.0.0.1:1
  settle_minutes: 5
metrics: {{load_balancer: {LB}, target_group: {TG}, period_seconds: 60}}
"""


@pytest.fixture
def moto_percentiles(moto, monkeypatch):
    """moto answers Stat p95 with a 500; teach it, as the rehearsal world does."""
    from moto.cloudwatch.models import Statistics

    from rollback_cockpit.simulate.patches import percentile

    original = Statistics.get_statistics_for_type

    def stats(self, stat):
        if stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit():
            return percentile(list(self.metric_single_values_list), float(stat[1:]))
        return original(self, stat)

    monkeypatch.setattr(Statistics, "get_statistics_for_type", stats)
    return moto


def publish(boto, minutes_ago: range, *, error_pct: float = 0.5, p95: float = 0.2, memory: float = 40.0):
    lb = [{"Name": "LoadBalancer", "Value": LB}]
    tg = [{"Name": "TargetGroup", "Value": TG}] + lb
    mem = [{"Name": "ClusterName", "Value": "lt"}, {"Name": "ServiceName", "Value": "api-service"}]
    data = []
    for i in minutes_ago:
        ts = NOW - timedelta(minutes=i) + timedelta(seconds=10)
        data += [
            {"MetricName": "RequestCount", "Dimensions": lb, "Timestamp": ts, "Value": 1000.0},
            {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": lb, "Timestamp": ts, "Value": error_pct * 10},
            {"MetricName": "TargetResponseTime", "Dimensions": lb, "Timestamp": ts, "Value": p95},
            {"MetricName": "HealthyHostCount", "Dimensions": tg, "Timestamp": ts, "Value": 2.0},
            {"MetricName": "UnHealthyHostCount", "Dimensions": tg, "Timestamp": ts, "Value": 0.0},
        ]
    cw = boto("cloudwatch")
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data[i : i + 500])
    cw.put_metric_data(
        Namespace="AWS/ECS",
        MetricData=[
            {"MetricName": "MemoryUtilization", "Dimensions": mem, "Timestamp": NOW - timedelta(minutes=i) + timedelta(seconds=10), "Value": memory}
            for i in minutes_ago
        ],
    )


def fast_clock() -> ScaledClock:
    # 600x: the 5-minute window plus lag allowance passes in about a second.
    return ScaledClock(speed=600.0, real_epoch=time.time(), sim_epoch=NOW.timestamp() + 30)


async def results(aws):
    return {r.name: r async for r in check_settled(aws, loads(ENV), fast_clock())}


async def test_calm_metrics_pass_at_once(aws, boto, moto_percentiles):
    publish(boto, range(1, 12))
    t0 = time.perf_counter()
    got = await results(aws)
    assert set(got) == {"error rate", "p95", "health-check failures", "memory"}
    assert all(r.status == PASS for r in got.values()), {n: r.summary for n, r in got.items()}
    assert time.perf_counter() - t0 < 1.0  # no waiting when the data already proves it


async def test_error_rate_still_high_fails(aws, boto, moto_percentiles):
    publish(boto, range(4, 12))
    publish(boto, range(0, 4), error_pct=12.0)
    got = await results(aws)
    assert got["error rate"].status == FAIL
    assert "still over: 12.0 %" in got["error rate"].summary
    assert got["p95"].status == PASS


async def test_recent_recovery_is_not_yet_settled(aws, boto, moto_percentiles):
    publish(boto, range(3, 12), p95=3.5)
    publish(boto, range(0, 3), p95=0.3)
    got = await results(aws)
    assert got["p95"].status == FAIL
    assert "calm only" in got["p95"].summary


async def test_no_data_could_not_check(aws, moto_percentiles):
    got = await results(aws)
    assert {r.status for r in got.values()} == {COULD_NOT_CHECK}

