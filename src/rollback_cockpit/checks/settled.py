"""Metrics settled: every trigger metric stays under its threshold for the
settle window (``validation.settle_minutes``) on the injected clock.

Right after a rollback the last minutes still hold the bad revision's
numbers, so this check watches: it samples once a period (one
GetMetricData call, through ``checks.metrics.sample``) until each enabled
trigger has been calm — no period over its threshold — for the whole
window, measured up to its newest data point. A trigger that is not calm
by the deadline (the window plus a few periods of CloudWatch lag) fails;
one with no data at all could not be checked ("no data" is never calm).
"""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

from rollback_cockpit.aws.errors import explain
from rollback_cockpit.checks.metrics import LABELS, UNITS, sample
from rollback_cockpit.checks.results import COULD_NOT_CHECK, FAIL, PASS, WARN, CheckResult
from rollback_cockpit.checks.triggers import COMPARISON, GE, GT, TRIGGERS
from rollback_cockpit.runbook.clock import format_duration

CHECK = "metrics"
# CloudWatch publishes ALB/ECS metrics up to a few periods late.
LAG_PERIODS = 3
Progress = Callable[[str, str, float | None], None]
_OVER = {GT: operator.gt, GE: operator.ge}


def calm(points: list[tuple[datetime, float | None]], threshold: float, comparison: str, period: timedelta):
    """(calm since, newest data end, newest value, worst value in the points) or None without data.

    Calm since = the end of the newest period over the threshold, else the
    start of the oldest period with data.
    """
    is_over = _OVER[comparison]
    with_data = [(ts, v) for ts, v in points if v is not None]
    if not with_data:
        return None
    since = with_data[0][0]
    for ts, v in with_data:
        if is_over(v, threshold):
            since = ts + period
    newest_ts, newest = with_data[-1]
    worst = max(v for _, v in with_data)
    return since, newest_ts + period, newest, worst


def _fmt(value: float, unit: str) -> str:
    return f"{value:.2f} {unit}" if unit == "s" else f"{value:.1f} {unit}".rstrip()


async def check_settled(
    aws: Any,
    env: Any,
    clock: Any,
    *,
    progress: Progress | None = None,
    settle_minutes: float | None = None,
) -> AsyncIterator[CheckResult]:
    if env.metrics is None:
        yield CheckResult(CHECK, "settled", WARN, "no metrics section in the environment file: nothing to watch")
        return
    settle_s = float(settle_minutes if settle_minutes is not None else env.validation.settle_minutes) * 60.0
    period_s = int(env.metrics.period_seconds)
    period = timedelta(seconds=period_s)
    pending = {name: getattr(env.triggers, name) for name in TRIGGERS if getattr(env.triggers, name).enabled}
    if not pending:
        yield CheckResult(CHECK, "settled", WARN, "every trigger is switched off: nothing to watch")
        return
    deadline = clock.time() + settle_s + LAG_PERIODS * period_s
    minutes = settle_s / 60.0 + LAG_PERIODS * period_s / 60.0 + 1
    window = format_duration(settle_s)
    samples = 0
    while True:
        try:
            snapshot = await sample(aws, env, clock, minutes=minutes)
        except Exception as exc:
            reason = explain(exc, action="cloudwatch:GetMetricData").line()
            for name in pending:
                yield CheckResult(CHECK, LABELS[name], COULD_NOT_CHECK, reason)
            return
        samples += 1
        # Judge the data as of when it was asked for, not after the answer came.
        now: datetime = snapshot.taken_at
        final = clock.time() >= deadline
        status_line = []
        for name, trigger in list(pending.items()):
            series = snapshot.series.get(name)
            points = [(ts, v) for ts, v in (series.points if series else ()) if ts + period > now - timedelta(seconds=settle_s) - LAG_PERIODS * period]
            unit = UNITS[name]
            limit = f"{COMPARISON[name]} {trigger.threshold:g}{' ' + unit if unit else ''}"
            found = calm(points, float(trigger.threshold), COMPARISON[name], period)
            evidence: dict[str, Any] = {"trigger": name, "threshold": trigger.threshold, "settle_seconds": settle_s, "samples": samples}
            if found is None:
                if final:
                    del pending[name]
                    yield CheckResult(CHECK, LABELS[name], COULD_NOT_CHECK, f"no data for {LABELS[name]} in the last {window}", evidence=evidence)
                else:
                    status_line.append(f"{LABELS[name]} no data yet")
                continue
            since, data_end, newest, worst = found
            calm_s = max(0.0, (data_end - since).total_seconds())
            evidence.update({"latest": newest, "calm_seconds": calm_s, "calm_since": since.isoformat()})
            if calm_s >= settle_s:
                del pending[name]
                yield CheckResult(
                    CHECK, LABELS[name], PASS,
                    f"under the trigger ({limit}) for {format_duration(calm_s)} ≥ {window}; now {_fmt(newest, unit)}",
                    evidence=evidence,
                )
            elif final:
                del pending[name]
                over_now = _OVER[COMPARISON[name]](newest, trigger.threshold)
                state = f"still over: {_fmt(newest, unit)} {limit}" if over_now else f"calm only {format_duration(calm_s)} of {window}"
                yield CheckResult(CHECK, LABELS[name], FAIL, f"not settled: {state} (worst {_fmt(worst, unit)})", evidence=evidence)
            else:
                status_line.append(f"{LABELS[name]} calm {format_duration(calm_s)} of {window}")
        if not pending:
            return
        if progress is not None:
            left = max(0.0, deadline - clock.time())
            progress(CHECK, "; ".join(status_line) + f" (at most {format_duration(left)} more)", None)
        await clock.sleep(min(period_s, max(1.0, deadline - clock.time())))
