"""Service metrics from CloudWatch: one batched GetMetricData per refresh.

Every figure the cockpit shows and every trigger it evaluates comes from one
``sample()``: the raw CloudWatch series are asked for plainly (no metric
math: moto answers math with empty values, and asking plainly costs
nothing on AWS) and the derived series are computed here, per period:

- error rate % = HTTPCode_Target_5XX_Count Sum / RequestCount Sum * 100
- p95 seconds = TargetResponseTime, Stat "p95"
- health-check failure % = UnHealthyHostCount / (Healthy + UnHealthy) * 100
- memory % = ECS MemoryUtilization Maximum, the maximum over the services

A period without data is ``None``, never 0: "no data" must never look like
"all is well".
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rollback_cockpit.aws.errors import explain

# GetMetricData accepts at most this many queries in one request.
MAX_QUERIES_PER_REQUEST = 500

ALB = "AWS/ApplicationELB"
ECS = "AWS/ECS"

ERROR_RATE = "error_rate_percent"
P95 = "p95_seconds"
HEALTH_FAILURE = "health_check_failure_percent"
MEMORY = "memory_percent"
REQUESTS = "request_count"

# The derived series, in the order the cockpit shows them; the names are the
# trigger names of the environment file (``Triggers`` fields).
TRIGGER_SERIES = (ERROR_RATE, P95, HEALTH_FAILURE, MEMORY)

LABELS = {
    ERROR_RATE: "error rate",
    P95: "p95",
    HEALTH_FAILURE: "health-check failures",
    MEMORY: "memory",
    REQUESTS: "requests",
}
UNITS = {ERROR_RATE: "%", P95: "s", HEALTH_FAILURE: "%", MEMORY: "%", REQUESTS: ""}

Point = tuple[datetime, float | None]


@dataclass(frozen=True)
class Series:
    """One metric over the window, one point per period (oldest first)."""

    name: str
    points: tuple[Point, ...]
    # Where the numbers come from, e.g. "AWS/ApplicationELB RequestCount Sum LoadBalancer=app/x/1".
    sources: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)

    @property
    def unit(self) -> str:
        return UNITS.get(self.name, "")

    @property
    def values(self) -> list[float | None]:
        return [v for _, v in self.points]

    @property
    def latest(self) -> float | None:
        """The newest value with data (CloudWatch lags a minute or two)."""
        for _, value in reversed(self.points):
            if value is not None:
                return value
        return None

    @property
    def has_data(self) -> bool:
        return any(v is not None for _, v in self.points)


@dataclass(frozen=True)
class MetricsSnapshot:
    """What one refresh saw."""

    taken_at: datetime
    start: datetime
    end: datetime
    period_seconds: int
    series: dict[str, Series]
    # Memory per ECS service, before taking the maximum.
    memory_by_service: dict[str, Series] = field(default_factory=dict)
    # GetMetricData requests this refresh made (pages included) and queries asked.
    requests: int = 0
    queries: int = 0
    # Partial answers from CloudWatch (StatusCode other than Complete), one line each.
    notes: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Series:
        return self.series[name]

    def latest(self, name: str) -> float | None:
        series = self.series.get(name)
        return series.latest if series else None

    @property
    def timestamps(self) -> list[datetime]:
        return period_starts(self.start, self.end, self.period_seconds)


# --------------------------------------------------------------------------
# Queries.


@dataclass(frozen=True)
class Query:
    id: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str

    def to_aws(self, period: int) -> dict[str, Any]:
        return {
            "Id": self.id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.metric,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
                },
                "Period": period,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }

    @property
    def source(self) -> str:
        dims = " ".join(f"{n}={v}" for n, v in self.dimensions)
        return f"{self.namespace} {self.metric} {self.stat} {dims}".rstrip()


def services_of(env: Any) -> tuple[str | None, list[str]]:
    """(cluster, service names) whose memory is watched."""
    ecs = env.application.ecs if env.application else None
    if ecs is None:
        return None, []
    return ecs.cluster, [s.name for s in ecs.services]


def build_queries(env: Any) -> list[Query]:
    """Every query of one refresh; ids are stable so results map back."""
    queries: list[Query] = []
    m = env.metrics
    if m is not None:
        lb = (("LoadBalancer", m.load_balancer),)
        tg = (("TargetGroup", m.target_group), ("LoadBalancer", m.load_balancer))
        queries += [
            Query("requests", ALB, "RequestCount", lb, "Sum"),
            Query("errors5xx", ALB, "HTTPCode_Target_5XX_Count", lb, "Sum"),
            # Exactly as on AWS; the rehearsal world teaches moto percentiles.
            Query("p95", ALB, "TargetResponseTime", lb, "p95"),
            Query("healthy", ALB, "HealthyHostCount", tg, "Average"),
            Query("unhealthy", ALB, "UnHealthyHostCount", tg, "Average"),
        ]
    cluster, services = services_of(env)
    for i, name in enumerate(services):
        dims = (("ClusterName", cluster or ""), ("ServiceName", name))
        queries.append(Query(f"mem{i}", ECS, "MemoryUtilization", dims, "Maximum"))
    return queries


def chunks(items: Sequence[Any], size: int = MAX_QUERIES_PER_REQUEST) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or []


# --------------------------------------------------------------------------
# The time grid.


def window(now: datetime, minutes: float, period: int) -> tuple[datetime, datetime]:
    """[start, end) aligned to the period, ending after the period that holds ``now``.

    CloudWatch rounds unaligned windows itself; aligning here makes the
    timestamps of every query fall on the same grid.
    """
    t = now.timestamp()
    end = (math.floor(t / period) + 1) * period
    start = math.floor((t - minutes * 60) / period) * period
    return datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)


def period_starts(start: datetime, end: datetime, period: int) -> list[datetime]:
    n = int(round((end - start).total_seconds() / period))
    return [start + timedelta(seconds=i * period) for i in range(n)]


# --------------------------------------------------------------------------
# Sampling.


async def sample(aws: Any, env: Any, clock: Any, *, minutes: float = 30) -> MetricsSnapshot:
    """Read the last ``minutes`` of metrics in one GetMetricData request.

    More requests are made only when CloudWatch pages the answer (NextToken)
    or when there are more than 500 queries (about 495 services).
    """
    period = int(env.metrics.period_seconds) if env.metrics else 60
    now = clock.now()
    start, end = window(now, minutes, period)
    queries = build_queries(env)
    raw: dict[str, dict[datetime, float]] = {q.id: {} for q in queries}
    notes: list[str] = []
    requests = 0
    if queries:
        cw = await aws.client("cloudwatch")
        batches = chunks(queries)

        async def one_batch(batch: Sequence[Query]) -> int:
            made = 0
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {
                    "MetricDataQueries": [q.to_aws(period) for q in batch],
                    "StartTime": start,
                    "EndTime": end,
                    "ScanBy": "TimestampAscending",
                }
                if token:
                    kwargs["NextToken"] = token
                try:
                    resp = await cw.get_metric_data(**kwargs)
                except Exception as exc:
                    raise explain(exc, action="cloudwatch:GetMetricData", resource=_resource_of(env)) from exc
                made += 1
                for result in resp.get("MetricDataResults", []):
                    series = raw.setdefault(result["Id"], {})
                    for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                        series[_align(ts, start, period)] = float(value)
                    status = result.get("StatusCode", "Complete")
                    if status not in ("Complete", "PartialData"):
                        notes.append(f"{result['Id']}: CloudWatch says {status}")
                for message in resp.get("Messages", []):
                    notes.append(f"CloudWatch: {message.get('Code', '')} {message.get('Value', '')}".strip())
                token = resp.get("NextToken")
                if not token:
                    return made

        counts = await asyncio.gather(*(one_batch(b) for b in batches))
        requests = sum(counts)

    grid = period_starts(start, end, period)
    by_id = {q.id: q for q in queries}

    def column(qid: str) -> list[float | None]:
        values = raw.get(qid, {})
        return [values.get(ts) for ts in grid]

    def sources(*ids: str) -> tuple[str, ...]:
        return tuple(by_id[i].source for i in ids if i in by_id)

    series: dict[str, Series] = {}
    if env.metrics is not None:
        req = column("requests")
        err = column("errors5xx")
        series[REQUESTS] = Series(REQUESTS, tuple(zip(grid, req, strict=True)), sources("requests"))
        series[ERROR_RATE] = Series(
            ERROR_RATE,
            tuple(zip(grid, (error_rate(e, r) for e, r in zip(err, req, strict=True)), strict=True)),
            sources("errors5xx", "requests"),
        )
        series[P95] = Series(P95, tuple(zip(grid, column("p95"), strict=True)), sources("p95"))
        healthy, unhealthy = column("healthy"), column("unhealthy")
        series[HEALTH_FAILURE] = Series(
            HEALTH_FAILURE,
            tuple(zip(grid, (failure_rate(h, u) for h, u in zip(healthy, unhealthy, strict=True)), strict=True)),
            sources("healthy", "unhealthy"),
        )
    else:
        for name in (REQUESTS, ERROR_RATE, P95, HEALTH_FAILURE):
            series[name] = Series(name, tuple((ts, None) for ts in grid))

    _, services = services_of(env)
    mem_ids = [f"mem{i}" for i in range(len(services))]
    by_service = {
        name: Series(MEMORY, tuple(zip(grid, column(qid), strict=True)), sources(qid))
        for name, qid in zip(services, mem_ids, strict=True)
    }
    memory = [max_or_none(col) for col in zip(*(s.values for s in by_service.values()), strict=True)] if by_service else [None] * len(grid)
    series[MEMORY] = Series(MEMORY, tuple(zip(grid, memory, strict=True)), sources(*mem_ids))

    return MetricsSnapshot(
        taken_at=now,
        start=start,
        end=end,
        period_seconds=period,
        series=series,
        memory_by_service=by_service,
        requests=requests,
        queries=len(queries),
        notes=tuple(notes),
    )


def _resource_of(env: Any) -> str | None:
    return env.metrics.load_balancer if env.metrics else None


def _align(ts: datetime, start: datetime, period: int) -> datetime:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    index = math.floor((ts - start).total_seconds() / period + 1e-6)
    return start + timedelta(seconds=index * period)


# --------------------------------------------------------------------------
# Derived values (pure; tested directly).


def error_rate(errors: float | None, requests: float | None) -> float | None:
    """5xx per request in percent; None without traffic.

    The ALB publishes HTTPCode_Target_5XX_Count only for periods that had a
    5xx, so a period with requests and no 5xx datapoint is a true 0 %.
    """
    if requests is None or requests <= 0:
        return None
    return 100.0 * (errors or 0.0) / requests


def failure_rate(healthy: float | None, unhealthy: float | None) -> float | None:
    """Unhealthy targets in percent of all targets; None without targets or data."""
    if healthy is None and unhealthy is None:
        return None
    total = (healthy or 0.0) + (unhealthy or 0.0)
    if total <= 0:
        return None
    return 100.0 * (unhealthy or 0.0) / total


def max_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


class RequestCounter:
    """Counts the GetMetricData HTTP requests a client sends (retries included).

    ``sample()`` reports its own count in ``MetricsSnapshot.requests``; this
    counts from below, at the botocore event level, for the benchmark and
    the tests: ``with RequestCounter(client) as counter: ...; counter.count``.
    """

    EVENT = "before-send.cloudwatch.GetMetricData"

    def __init__(self, client: Any):
        self.client = client
        self.count = 0

    def _hook(self, **_: Any) -> None:
        self.count += 1

    def __enter__(self) -> RequestCounter:
        self.client.meta.events.register(self.EVENT, self._hook, unique_id=f"rc-count-{id(self)}")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.client.meta.events.unregister(self.EVENT, unique_id=f"rc-count-{id(self)}")
