"""The metrics panel: one row per runbook trigger, bound to MetricsSampled.

A row is rewritten only when what it shows changed; CloudWatch data moves
once a period, so most refreshes write nothing to the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

# Trigger field name (runbook.environment.Triggers, checks.metrics series) -> label, unit.
METRICS: dict[str, tuple[str, str]] = {
    "error_rate_percent": ("error rate", "%"),
    "p95_seconds": ("p95", "s"),
    "health_check_failure_percent": ("health-check failures", "%"),
    "memory_percent": ("memory", "%"),
}


@dataclass(frozen=True)
class MetricView:
    key: str
    # The trigger's own line, e.g. "error rate 7.9 % > 5 % for 3:20 of 5:00".
    line: str
    series: tuple[float, ...]
    no_data: bool = True
    over: bool = False
    breached: bool = False

    def text(self) -> str:
        line = Content(self.line).markup
        if self.no_data:
            return f"[$text-muted]{line}[/]"
        if self.breached:
            return f"[b $metric-breach]{line}[/]"
        if self.over:
            return f"[$warning]{line}[/]"
        return f"[$metric-ok]●[/] {line}"


def views_from(snapshot: Any, trigger_states: list[Any]) -> list[MetricView]:
    """What each row shows, from a MetricsSnapshot and its TriggerStates."""
    states = {st.name: st for st in trigger_states or ()}
    views = []
    for key, (label, _unit) in METRICS.items():
        series = snapshot.series.get(key) if snapshot is not None else None
        # Gaps are left out of the sparkline; the line says "no data" when all is gap.
        values = tuple(v for v in (series.values if series else ()) if v is not None)
        st = states.get(key)
        if st is None:
            views.append(MetricView(key, f"{label} no data", values))
            continue
        views.append(MetricView(key, st.text(), values, no_data=st.no_data, over=st.over, breached=st.breached))
    return views


class MetricRow(Vertical):
    DEFAULT_CSS = """
    MetricRow {
        height: 2;
    }
    MetricRow > Static {
        height: 1;
    }
    MetricRow > Sparkline {
        height: 1;
        margin: 0 0 0 2;
    }
    MetricRow > Sparkline > .sparkline--max-color {
        color: $metric-breach;
    }
    MetricRow > Sparkline > .sparkline--min-color {
        color: $metric-ok;
    }
    """

    def __init__(self, key: str, **kw) -> None:
        super().__init__(**kw)
        self.key = key
        self._view: MetricView | None = None

    def compose(self) -> ComposeResult:
        label, _ = METRICS.get(self.key, (self.key, ""))
        yield Static(f"{label} no data", classes="metric-text")
        spark = Sparkline([], summary_function=max)
        spark.visible = False
        yield spark

    def show(self, view: MetricView) -> None:
        old, self._view = self._view, view
        if old is None or old.text() != view.text():
            self.query_one(".metric-text", Static).update(Content.from_markup(view.text()))
        if old is None or old.series != view.series:
            spark = self.query_one(Sparkline)
            spark.data = list(view.series)
            # An empty sparkline draws a flat line, which reads as zero: hide it.
            spark.visible = bool(view.series)


class MetricsPanel(Vertical):
    DEFAULT_CSS = """
    MetricsPanel {
        height: auto;
    }
    MetricsPanel > .metrics-status {
        height: 1;
        color: $text-muted;
    }
    """

    def compose(self) -> ComposeResult:
        for key in METRICS:
            yield MetricRow(key, id=f"metric-{key.replace('_', '-')}")
        yield Static("waiting for the first sample…", classes="metrics-status")

    def show(self, views: list[MetricView], status: str) -> None:
        for view in views:
            self.query_one(f"#metric-{view.key.replace('_', '-')}", MetricRow).show(view)
        self.show_status(status)

    def show_status(self, status: str) -> None:
        label = self.query_one(".metrics-status", Static)
        if getattr(self, "_status", None) != status:
            self._status = status
            label.update(status)
