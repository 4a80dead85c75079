"""3. Metrics refresh: GetMetricData requests and latency per refresh for 2, 20, 200 (and 495) services."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.measure import Section, Target
from bench.server import CREDENTIALS, REGION, LocalAws

LB = "app/lightningtalk-prod-alb/50dc6c495c0c9188"
TG = "targetgroup/lightningtalk-prod-api-tg/73e2d6bc24d8a067"
CLUSTER = "lightningtalk-prod"
MINUTES = 30


def env_text(services: int) -> str:
    lines = [
        "name: bench-metrics", f"region: {REGION}",
        "application:", "  ecs:", f"    cluster: {CLUSTER}", "    services:",
    ]
    lines += [f"      - name: svc-{i:03d}" for i in range(services)]
    lines += ["metrics:", f"  load_balancer: {LB}", f"  target_group: {TG}", "  period_seconds: 60"]
    return "\n".join(lines) + "\n"


def seed(aws: LocalAws, services: int, now: datetime) -> int:
    """30 minutes of one-minute data for the ALB series and every service's memory."""
    cw = aws.boto("cloudwatch")
    stamps = [now - timedelta(minutes=m) for m in range(MINUTES)]
    data: list[tuple[str, dict]] = []
    lb = [{"Name": "LoadBalancer", "Value": LB}]
    tg = [{"Name": "TargetGroup", "Value": TG}, *lb]
    for i, ts in enumerate(stamps):
        data += [
            ("AWS/ApplicationELB", {"MetricName": "RequestCount", "Dimensions": lb, "Timestamp": ts, "Value": 1000.0}),
            ("AWS/ApplicationELB", {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": lb, "Timestamp": ts,
                                    "Value": float(i % 7)}),
            ("AWS/ApplicationELB", {"MetricName": "TargetResponseTime", "Dimensions": lb, "Timestamp": ts,
                                    "Values": [0.1, 0.2, 0.3, 1.5], "Counts": [50, 30, 15, 5]}),
            ("AWS/ApplicationELB", {"MetricName": "HealthyHostCount", "Dimensions": tg, "Timestamp": ts, "Value": 2.0}),
            ("AWS/ApplicationELB", {"MetricName": "UnHealthyHostCount", "Dimensions": tg, "Timestamp": ts, "Value": 0.0}),
        ]
        for s in range(services):
            dims = [{"Name": "ClusterName", "Value": CLUSTER}, {"Name": "ServiceName", "Value": f"svc-{s:03d}"}]
            data.append(("AWS/ECS", {"MetricName": "MemoryUtilization", "Dimensions": dims, "Timestamp": ts,
                                     "Value": 40.0 + s % 50}))
    by_ns: dict[str, list[dict]] = {}
    for ns, datum in data:
        by_ns.setdefault(ns, []).append(datum)
    for ns, datums in by_ns.items():
        for i in range(0, len(datums), 1000):
            cw.put_metric_data(Namespace=ns, MetricData=datums[i : i + 1000])
    return len(data)


async def _measure(aws: LocalAws, services: int, refreshes: int) -> dict:
    from rollback_cockpit.aws.session import Aws, AwsSettings
    from rollback_cockpit.checks.metrics import RequestCounter, sample
    from rollback_cockpit.runbook import environment
    from rollback_cockpit.runbook.clock import Clock

    env = environment.loads(env_text(services), name=f"bench-{services}.yaml")
    settings = AwsSettings(region=REGION, endpoint_url=aws.url, access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                           secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"], max_attempts=1)
    clock = Clock()
    async with Aws(settings) as client:
        cw = await client.client("cloudwatch")
        await sample(client, env, clock, minutes=MINUTES)  # warm-up: connection and service model
        latencies, cpu, requests, counted = [], [], [], []
        snap = None
        for _ in range(refreshes):
            with RequestCounter(cw) as counter:
                t0, c0 = time.perf_counter(), time.process_time()
                snap = await sample(client, env, clock, minutes=MINUTES)
                latencies.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            requests.append(snap.requests)
            counted.append(counter.count)
    assert snap is not None
    with_data = sum(1 for s in snap.memory_by_service.values() if s.has_data)
    return {
        "services": services,
        "queries": snap.queries,
        "requests": requests,
        "counted": counted,
        "latencies": latencies,
        "cpu": cpu,
        "series_with_data": with_data,
        "alb_has_data": all(snap[n].has_data for n in ("error_rate_percent", "p95_seconds")),
        "notes": list(snap.notes),
    }


def bench_metrics(aws: LocalAws, sizes: list[int], refreshes: int, boundary: tuple[int, ...] = (495, 496)) -> Section:
    sec = Section("metrics", "3. Metrics refresh (`checks.metrics.sample`)")
    try:
        import rollback_cockpit.checks.metrics  # noqa: F401
    except ImportError as exc:
        sec.not_measured("GetMetricData requests per refresh", "1 up to 500 queries", f"checks.metrics missing: {exc}")
        return sec
    rows, results = [], []
    for n in [*sizes, *boundary]:
        aws.reset()
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        t0 = time.perf_counter()
        # At the 500-query boundary only the request count matters; with no
        # datapoints moto answers fast (its cost is per datapoint per query).
        datums = seed(aws, n, now) if n in sizes else 0
        seeded = time.perf_counter() - t0
        r = asyncio.run(_measure(aws, n, refreshes if n in sizes else 1))
        r.update(datums=datums, seed_s=seeded)
        results.append(r)
        lat = r["latencies"]
        rows.append([
            str(n) + ("" if datums else " (no data seeded)"), str(r["queries"]),
            "/".join(sorted({str(x) for x in r["requests"]})),
            "/".join(sorted({str(x) for x in r["counted"]})),
            f"{statistics.median(lat) * 1000:.1f} ms", f"{min(lat) * 1000:.1f}–{max(lat) * 1000:.1f} ms",
            f"{statistics.median(r['cpu']) * 1000:.1f} ms",
            (f"{r['series_with_data']}/{n}" + ("" if r["alb_has_data"] else "; ALB series EMPTY")) if datums else "—",
        ])
    sec.how += [
        "In the harness process, against the bench's moto server (own process; percentile statistics taught to "
        "it with the rehearsal world's patch, so the p95 query is asked exactly as on AWS): an environment with "
        f"N ECS services, {MINUTES} minutes of one-minute data seeded for the five ALB series and every service's "
        "MemoryUtilization, then `await sample(aws, env, clock, minutes=30)` repeated "
        f"{refreshes} times after one warm-up. Requests are counted twice: by `sample()` itself "
        "(`MetricsSnapshot.requests`) and from below by `checks.metrics.RequestCounter` (botocore "
        "`before-send` events, retries included). Latency: `perf_counter` around each call.",
        "Latency here is moto's, which rescans every datapoint of a period per query (see moto-gaps.md); it "
        "grows with services × datapoints in a way CloudWatch's does not, so only the request count carries over "
        "to AWS. *Client CPU* is `time.process_time()` of the harness process around the call: the cockpit's own "
        "cost of a refresh (building the queries, parsing the answer, deriving the series), free of moto's.",
        f"At {' and '.join(map(str, boundary))} services (500 and 501 queries) nothing is seeded: those rows "
        "check only where the one request becomes two.",
    ]
    sec.table(["services", "queries", "requests (sample)", "requests (counted)", "median latency", "min–max",
               "client CPU (median)", "memory series with data"], rows)
    sec.data["sizes"] = results
    bad = [r for r in results if r["queries"] <= 500 and (max(r["requests"]) != 1 or max(r["counted"]) != 1)]
    measured = ", ".join(f"{r['services']} svc: {max(r['counted'])}" for r in results)
    sec.targets.append(Target(
        "GetMetricData requests per refresh", "1 while queries ≤ 500", measured, not bad,
        "" if not bad else f"more than one request at {', '.join(str(r['services']) for r in bad)} services",
    ))
    return sec
