"""checks.metrics against a real moto server: one request per refresh, derived values, no data."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import pytest

from rollback_cockpit.checks import metrics
from rollback_cockpit.runbook import environment
from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.runbook.environment import EcsService
from rollback_cockpit.tui.context import shipped_environment

# A fixed "now" half-way through a minute, recent enough for CloudWatch's retention rules.
NOW = datetime.fromtimestamp((math.floor(datetime.now(UTC).timestamp() / 60) - 5) * 60 + 30, UTC)


class FixedClock(Clock):
    def __init__(self, at: datetime):
        self.at = at

    def time(self) -> float:
        return self.at.timestamp()


def make_env(services: int | None = None):
    env = environment.load(shipped_environment())
    if services is not None:
        ecs = dataclasses.replace(
            env.application.ecs, services=[EcsService(f"svc-{i:03d}") for i in range(services)]
        )
        env = dataclasses.replace(env, application=dataclasses.replace(env.application, ecs=ecs))
    return env


def minute(i: int) -> datetime:
    """The start of the minute ``i`` minutes before the one holding NOW."""
    return NOW.replace(second=0) - timedelta(minutes=i)


def put_alb(boto, env, name, points, dims="lb"):
    m = env.metrics
    dimensions = [{"Name": "LoadBalancer", "Value": m.load_balancer}]
    if dims == "tg":
        dimensions = [{"Name": "TargetGroup", "Value": m.target_group}] + dimensions
    boto("cloudwatch").put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Timestamp": ts + timedelta(seconds=5), "Value": v}
            for ts, v in points
        ],
    )


def put_memory(boto, env, service, points):
    boto("cloudwatch").put_metric_data(
        Namespace="AWS/ECS",
        MetricData=[
            {
                "MetricName": "MemoryUtilization",
                "Dimensions": [
                    {"Name": "ClusterName", "Value": env.application.ecs.cluster},
                    {"Name": "ServiceName", "Value": service},
                ],
                "Timestamp": ts + timedelta(seconds=5),
                "Value": v,
            }
            for ts, v in points
        ],
    )


@pytest.fixture
def moto_percentiles(moto, monkeypatch):
    """Teach the in-process moto server percentiles, like the rehearsal world does.

    moto 5.2.5 answers any ``pNN`` statistic with HTTP 500; the cockpit asks
    for p95 exactly as on AWS, so the unit tests patch the server's
    CloudWatch backend (nearest-rank percentile over the period's raw values).
    """
    from moto.cloudwatch.models import Statistics

    from rollback_cockpit.simulate.patches import percentile

    original = Statistics.get_statistics_for_type

    def get_statistics_for_type(self, stat):
        if stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit():
            return percentile(list(self.metric_single_values_list), float(stat[1:]))
        return original(self, stat)

    monkeypatch.setattr(Statistics, "get_statistics_for_type", get_statistics_for_type)
    return moto


async def test_one_request_derives_every_series(aws, boto, moto_percentiles):
    env = make_env()
    put_alb(boto, env, "RequestCount", [(minute(i), 100.0) for i in range(10)])
    put_alb(boto, env, "HTTPCode_Target_5XX_Count", [(minute(i), 8.0) for i in range(3)])
    # p95 of 1..20 (nearest rank) is 19.
    for i in range(2):
        boto("cloudwatch").put_metric_data(
            Namespace="AWS/ApplicationELB",
            MetricData=[
                {
                    "MetricName": "TargetResponseTime",
                    "Dimensions": [{"Name": "LoadBalancer", "Value": env.metrics.load_balancer}],
                    "Timestamp": minute(i) + timedelta(seconds=1 + k),
                    "Value": float(k + 1) / 10,
                }
                for k in range(20)
            ],
        )
    put_alb(boto, env, "HealthyHostCount", [(minute(0), 1.0)], dims="tg")
    put_alb(boto, env, "UnHealthyHostCount", [(minute(0), 3.0)], dims="tg")
    put_memory(boto, env, "api-service", [(minute(0), 40.0), (minute(1), 97.0)])
    put_memory(boto, env, "websocket-service", [(minute(0), 60.0)])

    snap = await metrics.sample(aws, env, FixedClock(NOW), minutes=30)

    assert snap.requests == 1
    assert snap.queries == 5 + 2
    assert snap.period_seconds == 60
    assert len(snap.timestamps) == 31  # 30 minutes, aligned to whole minutes, the one holding NOW included
    assert snap.end > NOW >= snap.end - timedelta(minutes=1)
    err = dict(snap[metrics.ERROR_RATE].points)
    assert err[minute(0)] == pytest.approx(8.0)
    assert err[minute(5)] == 0.0  # requests and no 5xx datapoint: a true zero
    assert err[minute(12)] is None  # no traffic: no data, not zero
    assert snap.latest(metrics.ERROR_RATE) == pytest.approx(8.0)
    assert snap.latest(metrics.P95) == pytest.approx(1.9)
    assert snap.latest(metrics.HEALTH_FAILURE) == pytest.approx(75.0)
    mem = dict(snap[metrics.MEMORY].points)
    assert mem[minute(0)] == 60.0 and mem[minute(1)] == 97.0 and mem[minute(2)] is None
    assert dict(snap.memory_by_service["api-service"].points)[minute(0)] == 40.0
    assert any("HTTPCode_Target_5XX_Count Sum LoadBalancer=" in s for s in snap[metrics.ERROR_RATE].sources)
    assert "AWS/ApplicationELB TargetResponseTime p95" in snap[metrics.P95].sources[0]


async def test_no_data_is_none_never_zero(aws, moto_percentiles):
    snap = await metrics.sample(aws, make_env(), FixedClock(NOW), minutes=30)
    assert snap.requests == 1
    for name in metrics.TRIGGER_SERIES:
        assert snap.latest(name) is None
        assert all(v is None for v in snap[name].values)
        assert not snap[name].has_data


@pytest.mark.parametrize("services", [2, 20, 200])
async def test_one_request_per_refresh_scales_with_services(aws, boto, moto_percentiles, services):
    env = make_env(services)
    put_memory(boto, env, f"svc-{services - 1:03d}", [(minute(0), 91.0)])
    cw = await aws.client("cloudwatch")
    with metrics.RequestCounter(cw) as counter:
        snap = await metrics.sample(aws, env, FixedClock(NOW), minutes=30)
    assert counter.count == 1
    assert snap.requests == 1
    assert snap.queries == 5 + services
    assert snap.latest(metrics.MEMORY) == 91.0


def test_more_than_500_queries_are_split_into_batches():
    env = make_env(600)
    queries = metrics.build_queries(env)
    batches = metrics.chunks(queries)
    assert [len(b) for b in batches] == [500, 105]
    assert len({q.id for q in queries}) == len(queries)


def test_p95_asked_exactly_as_on_aws():
    """The query asks CloudWatch for the percentile itself (no client-side estimate from averages)."""
    [query] = [q for q in metrics.build_queries(make_env()) if q.metric == "TargetResponseTime"]
    assert query.stat == "p95"
    assert query.namespace == "AWS/ApplicationELB"
    assert dict(query.dimensions) == {"LoadBalancer": make_env().metrics.load_balancer}


def test_derived_values():
    assert metrics.error_rate(None, None) is None
    assert metrics.error_rate(5, 0) is None
    assert metrics.error_rate(None, 50) == 0.0
    assert metrics.error_rate(5, 50) == 10.0
    assert metrics.failure_rate(None, None) is None
    assert metrics.failure_rate(0, 0) is None
    assert metrics.failure_rate(2, None) == 0.0
    assert metrics.failure_rate(1, 1) == 50.0
    assert metrics.max_or_none([None, None]) is None
    assert metrics.max_or_none([None, 3, 2]) == 3


def test_window_is_aligned_to_the_period():
    start, end = metrics.window(NOW, 30, 60)
    assert start.timestamp() % 60 == 0 and end.timestamp() % 60 == 0
    assert start <= NOW - timedelta(minutes=30) and end > NOW
