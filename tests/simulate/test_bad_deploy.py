"""Under bad-deploy the triggers' metrics breach with their sustain windows; logs carry ERRORs."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from datetime import timedelta


def _tail_over(values: list[float], threshold: float) -> int:
    """How many of the newest values in a row are over the threshold."""
    n = 0
    for v in reversed(values):
        if v <= threshold:
            break
        n += 1
    return n


def test_triggers_breach_and_stay_breached(bad_world, tools):
    env = tools.load_env(bad_world)
    t = env.triggers
    # The backfill starts the incident 8 simulated minutes ago; p95 needs 10 sustained minutes,
    # which at 60x arrive within seconds of wall time.
    deadline = time.monotonic() + 20
    while True:
        m = tools.metric_series(bad_world, env, minutes=25)
        rates = [e / r * 100 for e, r in zip(m["err"], m["req"], strict=True)]
        if (_tail_over(rates, t.error_rate_percent.threshold) >= t.error_rate_percent.sustain_minutes
                and _tail_over(m["p95"], t.p95_seconds.threshold) >= t.p95_seconds.sustain_minutes):
            break
        assert time.monotonic() < deadline, (rates, m["p95"])
        time.sleep(0.5)
    # The history before the incident is healthy, so the sparklines show the break.
    assert rates[0] < 1 and m["p95"][0] < 1
    assert len(m["req"]) >= 20
    for i in range(len(env.application.ecs.services)):
        assert 70 < m[f"mem{i}"][-1] < t.memory_percent.threshold
    health = [u / (u + h) * 100 for u, h in zip(m["unhealthy"], m["healthy"], strict=True)]
    assert 0 < health[-1] < t.health_check_failure_percent.threshold


def test_error_lines_in_the_log_group(bad_world, tools):
    env = tools.load_env(bad_world)
    logs = tools.client(bad_world, "logs")
    start = int((bad_world.clock.now() - timedelta(minutes=env.validation.window_minutes)).timestamp() * 1000)
    errors = logs.filter_log_events(logGroupName=env.validation.log_group, startTime=start,
                                    filterPattern=env.validation.error_pattern)["events"]
    everything = logs.filter_log_events(logGroupName=env.validation.log_group, startTime=start)["events"]
    assert len(errors) > env.validation.max_error_lines
    assert len(errors) < len(everything)  # the filter really filters


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_service_answers_badly(bad_world):
    from concurrent.futures import ThreadPoolExecutor

    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(status_of, [f"{bad_world.service_url}/api/events/current"] * 20))
    assert 500 in statuses and statuses.count(200) > 10
    assert time.monotonic() - started > 1.0  # slow, as the p95 says
