"""The runbook's automatic triggers, evaluated in the cockpit from metrics.

CloudWatch alarms are not used: the cockpit must show the sustain-window
progress ("7.9 % > 5 % for 3:20 of 5:00"), which an alarm does not expose,
and the rehearsal world's moto never evaluates alarms.

Rules, per trigger:
- a period is *over* when its value is past the threshold (``>``, or ``>=``
  for the health-check failure rate, as the runbook says);
- the current run is the consecutive over periods ending at the newest
  period with data; a period without data breaks a run (a gap never counts
  as over);
- sustained = from the start of the run to the end of its last period (or
  ``now``, when the run reaches the period that holds ``now``);
- breached = over now and sustained >= the required sustain time;
- no data for longer than ``STALE_PERIODS`` periods is "no data", not the
  last value seen.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rollback_cockpit.checks.metrics import ERROR_RATE, HEALTH_FAILURE, LABELS, MEMORY, P95, UNITS, MetricsSnapshot
from rollback_cockpit.runbook.clock import format_duration

# CloudWatch publishes ALB/ECS metrics one to three minutes late; older than
# this, the newest value no longer describes "now".
STALE_PERIODS = 5

GT, GE = ">", "≥"
_COMPARE: dict[str, Callable[[float, float], bool]] = {GT: operator.gt, GE: operator.ge}
COMPARISON = {ERROR_RATE: GT, P95: GT, HEALTH_FAILURE: GE, MEMORY: GT}
TRIGGERS = (ERROR_RATE, P95, HEALTH_FAILURE, MEMORY)


@dataclass(frozen=True)
class TriggerState:
    name: str
    label: str
    unit: str
    comparison: str
    value: float | None
    value_at: datetime | None
    threshold: float
    over: bool
    since: datetime | None
    sustained_seconds: float
    required_seconds: float
    breached: bool
    enabled: bool = True

    @property
    def no_data(self) -> bool:
        return self.value is None

    @property
    def breached_at(self) -> datetime | None:
        """When the sustain window filled: the moment of detection."""
        if not self.breached or self.since is None:
            return None
        return self.since + timedelta(seconds=self.required_seconds)

    @property
    def progress(self) -> float:
        """0..1 of the sustain window (1 when breached)."""
        if not self.over:
            return 0.0
        if self.required_seconds <= 0:
            return 1.0
        return min(1.0, self.sustained_seconds / self.required_seconds)

    def text(self) -> str:
        """One line for the operator, e.g. ``error rate 7.9 % > 5 % for 3:20 of 5:00``."""
        limit = f"{self.comparison} {_num(self.threshold)}{_unit(self.unit)}"
        window = f" for {format_duration(self.required_seconds)}" if self.required_seconds > 0 else ""
        if not self.enabled:
            return f"{self.label}: trigger off"
        if self.value is None:
            return f"{self.label} no data (trigger {limit}{window})"
        shown = f"{self.label} {_value(self.value, self.unit)}{_unit(self.unit)}"
        if not self.over:
            return f"{shown} (trigger {limit}{window})"
        if self.required_seconds > 0:
            line = f"{shown} {limit} for {format_duration(self.sustained_seconds)} of {format_duration(self.required_seconds)}"
        else:
            line = f"{shown} {limit}"
        return f"{line} — BREACHED" if self.breached else line

    def to_json(self) -> dict[str, Any]:
        return {
            "trigger": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "over": self.over,
            "since": self.since.isoformat() if self.since else None,
            "sustained_seconds": round(self.sustained_seconds, 1),
            "required_seconds": self.required_seconds,
            "breached": self.breached,
            "text": self.text(),
        }


def _num(x: float) -> str:
    return f"{x:g}"


def _value(x: float, unit: str) -> str:
    return f"{x:.2f}" if unit == "s" else f"{x:.1f}"


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def evaluate(snapshot: MetricsSnapshot, triggers: Any, now: datetime) -> list[TriggerState]:
    """The state of each of the runbook's four triggers at ``now``."""
    return [evaluate_one(snapshot, name, getattr(triggers, name), now) for name in TRIGGERS]


def evaluate_one(snapshot: MetricsSnapshot, name: str, trigger: Any, now: datetime) -> TriggerState:
    period = timedelta(seconds=snapshot.period_seconds)
    comparison = COMPARISON[name]
    is_over = _COMPARE[comparison]
    required = float(trigger.sustain_minutes) * 60.0
    series = snapshot.series.get(name)
    points = list(series.points) if series else []

    # The newest period with data, unless it is too old to speak for now.
    last = None
    for i in range(len(points) - 1, -1, -1):
        if points[i][1] is not None:
            last = i
            break
    if last is not None and now - (points[last][0] + period) > period * STALE_PERIODS:
        last = None

    base = dict(
        name=name,
        label=LABELS[name],
        unit=UNITS[name],
        comparison=comparison,
        threshold=float(trigger.threshold),
        required_seconds=required,
        enabled=bool(trigger.enabled),
    )
    if last is None:
        return TriggerState(value=None, value_at=None, over=False, since=None, sustained_seconds=0.0, breached=False, **base)

    value_at, value = points[last]
    assert value is not None
    over = bool(trigger.enabled) and is_over(value, trigger.threshold)
    if not over:
        return TriggerState(value=value, value_at=value_at, over=False, since=None, sustained_seconds=0.0, breached=False, **base)

    first = last
    while first > 0:
        prev = points[first - 1][1]
        if prev is None or not is_over(prev, trigger.threshold):
            break
        first -= 1
    since = points[first][0]
    until = min(now, points[last][0] + period)
    sustained = max(0.0, (until - since).total_seconds())
    return TriggerState(
        value=value,
        value_at=value_at,
        over=True,
        since=since,
        sustained_seconds=sustained,
        breached=sustained >= required,
        **base,
    )


class DetectionTracker:
    """Remembers the first detection, for the 15-minute decision clock.

    Detection is the first trigger breach (at the moment its sustain window
    filled) or the operator's "mark detected", whichever comes first; later
    breaches do not move it.
    """

    def __init__(self) -> None:
        self.detected_at: datetime | None = None
        self.by: str | None = None  # trigger name, or "operator"

    @property
    def detected(self) -> bool:
        return self.detected_at is not None

    def update(self, states: Iterable[TriggerState]) -> bool:
        """Take new trigger states; True when this call made the first detection."""
        if self.detected:
            return False
        breaches = [s for s in states if s.breached and s.breached_at is not None]
        if not breaches:
            return False
        first = min(breaches, key=lambda s: s.breached_at)  # type: ignore[arg-type, return-value]
        self.detected_at, self.by = first.breached_at, first.name
        return True

    def mark(self, at: datetime, by: str = "operator") -> bool:
        """The operator's "mark detected"; True when it was the first detection."""
        if self.detected:
            return False
        self.detected_at, self.by = at, by
        return True

    def remaining_seconds(self, now: datetime, budget_seconds: float = 15 * 60) -> float | None:
        """Seconds left of the decision budget (negative when overdue), None before detection."""
        if self.detected_at is None:
            return None
        return budget_seconds - (now - self.detected_at).total_seconds()
