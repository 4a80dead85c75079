"""The journal's events, newest first."""

from __future__ import annotations

from typing import Any

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook.clock import to_jst

_STYLE = {
    ev.STEP_FAILED: "$error",
    ev.DETECTED: "$warning",
    ev.CHECKLIST_OVERRIDDEN: "$warning",
    ev.DECISION_TAKEN: "$accent",
    ev.STEP_FINISHED: "$success",
    ev.RUN_FINISHED: "$accent",
}

MAX_EVENTS = 300


def summary(e: Any) -> str:
    """One short line for an event: its most telling fields."""
    d = e.data
    t = e.type
    if t == ev.RUN_STARTED:
        op = d.get("operator", "")
        if isinstance(op, dict):
            op = " / ".join(str(v) for v in op.values() if v)
        return f"{d.get('mode', '')} {d.get('environment', '')} by {op}"
    if t == ev.DETECTED:
        return f"by {d.get('trigger', '')}"
    if t == ev.DECISION_TAKEN:
        return f"{d.get('kind', '')}: {d.get('reason', '')}"
    if t == ev.CHECKLIST_TICKED:
        return f"{d.get('phase')}.{d.get('item')} by {d.get('by', '')}"
    if t == ev.CHECKLIST_OVERRIDDEN:
        return f"{', '.join(d.get('open', []))}: {d.get('reason', '')}"
    if t in (ev.STEP_STARTED,):
        return f"{d.get('step', '')} {d.get('describe', '')}"
    if t == ev.STEP_FINISHED:
        return f"{d.get('step', '')} in {float(d.get('duration_s') or 0):.1f}s"
    if t == ev.STEP_FAILED:
        return f"{d.get('step', '')}: {d.get('error', '')}"
    if t in (ev.STEP_PROGRESS,):
        return f"{d.get('step', '')}: {d.get('message', '')}"
    if t == ev.VALIDATION_RESULT:
        return f"{d.get('check')} {d.get('name')} {d.get('status')}: {d.get('summary', '')}"
    if t == ev.NOTE:
        return str(d.get("text", ""))
    if t == ev.RUN_FINISHED:
        return str(d.get("result", ""))
    parts = [f"{k}={v}" for k, v in d.items() if isinstance(v, (str, int, float))]
    return " ".join(parts)[:120]


def event_line(e: Any) -> str:
    # The rehearsal's own time when there is one: it is the time the
    # operator reads on the clock line.
    when = to_jst(e.sim_at or e.at).strftime("%H:%M:%S")
    style = _STYLE.get(e.type, "$foreground")
    text = Content(summary(e)).markup
    return f"[$text-muted]{when}[/] [{style}]{e.type:<18}[/] {text}"


class Timeline(VerticalScroll):
    DEFAULT_CSS = """
    Timeline {
        height: 1fr;
    }
    Timeline > Static {
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._lines: list[str] = []

    def compose(self):
        yield Static("", id="timeline-body")

    def add_events(self, events: list[Any]) -> None:
        shown = [e for e in events if e.type != ev.STEP_PROGRESS]  # progress chatter stays in the actions panel
        if not shown:
            return
        self._lines.extend(event_line(e) for e in shown)
        del self._lines[:-MAX_EVENTS]
        self.query_one("#timeline-body", Static).update(Content.from_markup("\n".join(reversed(self._lines))))
