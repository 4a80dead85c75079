"""checks.triggers: sustain windows, breach timing, gaps, stale data and the operator's line."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from rollback_cockpit.checks import metrics, triggers
from rollback_cockpit.checks.metrics import MetricsSnapshot, Series
from rollback_cockpit.runbook.environment import Trigger, Triggers

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
P = 60


def snapshot(**columns: list[float | None]) -> MetricsSnapshot:
    """Series starting at T0, one value per minute; missing metrics have no data."""
    n = max(len(v) for v in columns.values())
    grid = [T0 + timedelta(seconds=P * i) for i in range(n)]
    series = {}
    for name in (*metrics.TRIGGER_SERIES, metrics.REQUESTS):
        values = columns.get(name, [None] * n)
        series[name] = Series(name, tuple(zip(grid, values, strict=True)))
    return MetricsSnapshot(
        taken_at=grid[-1], start=grid[0], end=grid[-1] + timedelta(seconds=P), period_seconds=P, series=series
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def state(snap, name, now):
    return {s.name: s for s in triggers.evaluate(snap, Triggers(), now)}[name]


def test_error_rate_window_progress_and_text():
    # Under for 5 minutes, then over from minute 5 on; "now" is 20 s into minute 8.
    snap = snapshot(error_rate_percent=[1.0] * 5 + [6.0, 8.0, 7.5, 7.9])
    s = state(snap, "error_rate_percent", at(8 + 20 / 60))
    assert s.over and not s.breached
    assert s.since == at(5)
    assert s.sustained_seconds == pytest.approx(200.0)
    assert s.required_seconds == 300.0
    assert s.progress == pytest.approx(200 / 300)
    assert s.text() == "error rate 7.9 % > 5 % for 3:20 of 5:00"


def test_breach_when_sustained_reaches_the_window():
    snap = snapshot(error_rate_percent=[1.0] * 2 + [9.0] * 7)
    s = state(snap, "error_rate_percent", at(7))
    assert s.sustained_seconds == 300.0 and s.breached
    assert s.breached_at == at(7)
    assert s.text().endswith("for 5:00 of 5:00 — BREACHED")
    # One second earlier it had not yet breached.
    assert not state(snap, "error_rate_percent", at(7) - timedelta(seconds=1)).breached


def test_threshold_itself_is_not_over_except_for_health_checks():
    snap = snapshot(error_rate_percent=[5.0] * 10, health_check_failure_percent=[50.0] * 10)
    assert not state(snap, "error_rate_percent", at(9.5)).over
    health = state(snap, "health_check_failure_percent", at(9.5))
    assert health.over and health.breached  # >= 50 %, no sustain window
    assert health.text() == "health-check failures 50.0 % ≥ 50 % — BREACHED"


def test_a_gap_breaks_the_run():
    snap = snapshot(error_rate_percent=[9.0] * 4 + [None] + [9.0] * 3)
    s = state(snap, "error_rate_percent", at(7.5))
    assert s.since == at(5)
    assert s.sustained_seconds == pytest.approx(150.0)
    assert not s.breached


def test_trailing_lag_is_not_a_gap_but_does_not_extend_the_run():
    # CloudWatch has not published minutes 8 and 9 yet.
    snap = snapshot(p95_seconds=[2.5] * 8 + [None, None])
    s = state(snap, "p95_seconds", at(9.5))
    assert s.over and s.since == at(0)
    assert s.sustained_seconds == 480.0  # up to the end of the last reported minute, not now
    assert s.text() == "p95 2.50 s > 2 s for 8:00 of 10:00"


def test_stale_data_is_no_data():
    snap = snapshot(memory_percent=[99.0] + [None] * 20)
    s = state(snap, "memory_percent", at(20.5))
    assert s.no_data and not s.over and not s.breached
    assert s.text() == "memory no data (trigger > 95 %)"


def test_no_data_is_shown_as_no_data_never_zero():
    snap = snapshot(error_rate_percent=[None] * 10)
    s = state(snap, "error_rate_percent", at(9.5))
    assert s.value is None and s.text() == "error rate no data (trigger > 5 % for 5:00)"


def test_under_threshold_text_and_disabled_trigger():
    snap = snapshot(memory_percent=[40.0] * 3)
    s = state(snap, "memory_percent", at(2.5))
    assert s.text() == "memory 40.0 % (trigger > 95 %)"
    off = Triggers(memory_percent=Trigger(95.0, 0.0, enabled=False))
    hot = snapshot(memory_percent=[99.0] * 3)
    s = {x.name: x for x in triggers.evaluate(hot, off, at(2.5))}["memory_percent"]
    assert not s.over and not s.breached and s.text() == "memory: trigger off"


def test_detection_tracker_keeps_the_first_breach_and_counts_down():
    tracker = triggers.DetectionTracker()
    calm = snapshot(error_rate_percent=[1.0] * 3)
    assert not tracker.update(triggers.evaluate(calm, Triggers(), at(2.5)))
    assert tracker.remaining_seconds(at(3)) is None
    hot = snapshot(error_rate_percent=[1.0] * 2 + [9.0] * 8)
    assert tracker.update(triggers.evaluate(hot, Triggers(), at(9.5)))
    assert tracker.detected_at == at(7) and tracker.by == "error_rate_percent"
    assert tracker.remaining_seconds(at(10)) == 12 * 60
    # Later breaches and marks do not move it.
    assert not tracker.update(triggers.evaluate(hot, Triggers(), at(9.9)))
    assert not tracker.mark(at(9.9))
    assert tracker.detected_at == at(7)
    manual = triggers.DetectionTracker()
    assert manual.mark(at(1)) and manual.by == "operator"


async def test_sampled_breach_from_moto(aws, boto, moto):
    """End to end: metrics published to moto breach the error-rate trigger."""
    from rollback_cockpit.runbook import environment
    from rollback_cockpit.runbook.clock import Clock
    from rollback_cockpit.tui.context import shipped_environment

    env = environment.load(shipped_environment())
    now = datetime.fromtimestamp((math.floor(datetime.now(UTC).timestamp() / 60) - 5) * 60 + 30, UTC)

    class Fixed(Clock):
        def time(self) -> float:
            return now.timestamp()

    lb = [{"Name": "LoadBalancer", "Value": env.metrics.load_balancer}]
    minutes = [now.replace(second=0) - timedelta(minutes=i) for i in range(7)]
    boto("cloudwatch").put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[{"MetricName": "RequestCount", "Dimensions": lb, "Timestamp": m, "Value": 1000.0} for m in minutes]
        + [{"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": lb, "Timestamp": m, "Value": 79.0} for m in minutes],
    )
    snap = await metrics.sample(aws, env, Fixed(), minutes=30)
    s = {x.name: x for x in triggers.evaluate(snap, env.triggers, now)}
    err = s["error_rate_percent"]
    assert err.value == pytest.approx(7.9)
    assert err.since == minutes[-1]
    assert err.breached and err.sustained_seconds == pytest.approx(6 * 60 + 30)
    assert s["p95_seconds"].no_data and s["memory_percent"].no_data
