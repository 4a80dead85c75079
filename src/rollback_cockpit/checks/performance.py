"""Performance probe: a short, bounded burst against the endpoints.

It replaces the runbook's external load tool. The burst is bounded three
ways (request count, concurrency, duration) so it is safe to point at
production and at a loopback rehearsal service alike. Like the latencies it
measures, its duration is wall-clock time (see ``checks.endpoints``): a
rehearsal service is exercised for as long as a real one would be.
A request is an error when it gets no answer or a 5xx, as in the
error-rate trigger.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from rollback_cockpit.checks.endpoints import endpoint_url, fetch_once, new_session
from rollback_cockpit.checks.results import COULD_NOT_CHECK, FAIL, PASS, WARN, CheckResult

CHECK = "performance"


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (what CloudWatch's pNN means for raw samples)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


async def burst(session: Any, urls: list[str], clock: Any, *, requests: int, concurrency: int, duration: float) -> dict[str, Any]:
    deadline = time.perf_counter() + duration
    next_index = 0
    latencies: list[float] = []
    per_url: dict[str, list[float]] = {u: [] for u in urls}
    errors = 0
    transport_errors: dict[str, int] = {}

    async def worker() -> None:
        nonlocal next_index, errors
        while next_index < requests and time.perf_counter() < deadline:
            url = urls[next_index % len(urls)]
            next_index += 1
            got = await fetch_once(session, url, clock, read_body=True)
            if got.error is not None:
                errors += 1
                transport_errors[got.error] = transport_errors.get(got.error, 0) + 1
                continue
            latencies.append(got.latency_s)
            per_url[url].append(got.latency_s)
            if (got.status or 0) >= 500:
                errors += 1

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return {
        "sent": next_index,
        "answered": len(latencies),
        "errors": errors,
        "latencies": latencies,
        "per_url": per_url,
        "transport_errors": transport_errors,
    }


async def check_performance(aws: Any, env: Any, clock: Any) -> AsyncIterator[CheckResult]:
    v = env.validation
    if v is None or not v.endpoints:
        yield CheckResult(CHECK, "burst", WARN, "no endpoints configured (validation.endpoints)")
        return
    probe = v.load_probe
    urls = [endpoint_url(v.base_url, e.path) for e in v.endpoints]
    # The per-request cap keeps one hung request from outliving the burst.
    async with new_session(timeout=max(5.0, probe.duration_seconds), limit=probe.concurrency) as session:
        got = await burst(
            session, urls, clock, requests=probe.requests, concurrency=probe.concurrency, duration=probe.duration_seconds
        )
    p95_limit = env.triggers.p95_seconds.threshold
    err_limit = env.triggers.error_rate_percent.threshold
    sent = got["sent"]
    evidence: dict[str, Any] = {
        "sent": sent,
        "answered": got["answered"],
        "errors": got["errors"],
        "concurrency": probe.concurrency,
        "p95_threshold_s": p95_limit,
        "error_rate_threshold_percent": err_limit,
    }
    if not got["latencies"]:
        reasons = "; ".join(f"{n}× {r}" for r, n in got["transport_errors"].items()) or "no request was sent"
        yield CheckResult(CHECK, "burst", COULD_NOT_CHECK, f"no answers to {sent} request(s): {reasons}", evidence=evidence)
        return
    p50 = percentile(got["latencies"], 50)
    p95 = percentile(got["latencies"], 95)
    err_pct = 100.0 * got["errors"] / sent
    evidence.update({"p50_s": round(p50, 4), "p95_s": round(p95, 4), "error_percent": round(err_pct, 2)})
    details = [
        f"{u}: p95 {percentile(ls, 95) * 1000:.0f} ms over {len(ls)}" for u, ls in got["per_url"].items() if ls
    ]
    details += [f"{n}× {r}" for r, n in got["transport_errors"].items()]
    summary = (
        f"{sent} requests ×{probe.concurrency}: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"errors {err_pct:.1f} %"
    )
    over = []
    if p95 > p95_limit:  # the runbook's triggers: strictly over
        over.append(f"p95 ≥ {p95_limit:g} s")
    if err_pct > err_limit:
        over.append(f"errors ≥ {err_limit:g} %")
    if over:
        yield CheckResult(CHECK, "burst", FAIL, f"{summary} ({', '.join(over)})", tuple(details), evidence)
    else:
        yield CheckResult(CHECK, "burst", PASS, summary, tuple(details), evidence)
