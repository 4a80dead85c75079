"""The actions panel: rollback kinds, the plan as a diff, steps as they run."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from rollback_cockpit.runbook import events as ev

KIND_LABELS = {
    "app": "A  application (ECS / Lambda / static) 5–10 min",
    "schema": "B  database schema 30 min–2 h",
    "infra": "C  infrastructure stack 15–30 min",
    "config": "D  configuration (secrets, parameters) 5 min",
    "bluegreen": "blue/green traffic switch",
    "canary": "canary: Lambda alias back",
    "emergency": "emergency: maintenance page, restore",
}

_STATUS = {
    "pending": "[$text-muted]·[/]",
    "running": "[$warning]▶[/]",
    "done": "[$success]✔[/]",
    "skipped": "[$success]=[/]",
    "failed": "[b $error]✘[/]",
}


@dataclass
class StepLine:
    id: str
    describe: str
    status: str = "pending"
    duration: float | None = None
    message: str = ""
    started: float | None = None


@dataclass
class StepBoard:
    """The steps of the running plan, updated from journal events."""

    steps: dict[str, StepLine] = field(default_factory=dict)

    def load(self, lines: list[tuple[str, str]]) -> None:
        self.steps = {sid: StepLine(sid, text) for sid, text in lines}

    def apply(self, e, now: float) -> bool:
        d = e.data
        sid = str(d.get("step", ""))
        if e.type not in (ev.STEP_STARTED, ev.STEP_PROGRESS, ev.STEP_FINISHED, ev.STEP_SKIPPED, ev.STEP_FAILED):
            return False
        line = self.steps.setdefault(sid, StepLine(sid, str(d.get("describe", sid))))
        if e.type == ev.STEP_STARTED:
            line.status, line.started = "running", now
        elif e.type == ev.STEP_PROGRESS:
            line.message = str(d.get("message", ""))
        elif e.type == ev.STEP_FINISHED:
            line.status, line.duration, line.message = "done", d.get("duration_s"), ""
        elif e.type == ev.STEP_SKIPPED:
            line.status, line.message = "skipped", str(d.get("reason", "already done"))
        elif e.type == ev.STEP_FAILED:
            line.status, line.duration = "failed", d.get("duration_s")
            line.message = str(d.get("error", ""))
        return True

    def render(self, now: float) -> str:
        out = []
        for s in self.steps.values():
            if s.duration is not None:
                took = f"{float(s.duration):5.1f}s"
            elif s.status == "running" and s.started is not None:
                took = f"{now - s.started:5.0f}s"
            else:
                took = "      "
            line = f"{_STATUS[s.status]} {took} {Content(s.describe).markup}"
            if s.message:
                style = "$error" if s.status == "failed" else "$text-muted"
                line += f"\n         [{style}]{Content(s.message).markup}[/]"
            out.append(line)
        return "\n".join(out)

    @property
    def running(self) -> bool:
        return any(s.status == "running" for s in self.steps.values())


class ActionsPanel(Vertical):
    DEFAULT_CSS = """
    ActionsPanel {
        height: 1fr;
    }
    ActionsPanel > #kinds, ActionsPanel > #kinds:focus {
        height: auto;
        max-height: 8;
        border: none;
        padding: 0;
    }
    ActionsPanel.-planned > #kinds {
        max-height: 3;
    }
    ActionsPanel > #action-status {
        height: auto;
        color: $text-muted;
    }
    ActionsPanel > #action-status.-error {
        color: $error;
        text-style: bold;
    }
    ActionsPanel > VerticalScroll {
        height: 1fr;
    }
    """

    @dataclass
    class KindChosen(Message):
        kind: str

    def __init__(self, kinds: list[str], not_built: list[str] = (), **kw) -> None:
        super().__init__(**kw)
        self.kinds = kinds
        self.not_built = list(not_built)
        self.board = StepBoard()

    def compose(self) -> ComposeResult:
        options = [Option(f"{KIND_LABELS.get(k, k)}", id=k) for k in self.kinds]
        yield OptionList(*options, id="kinds")
        hint = "choose a rollback kind (enter) to see its plan; nothing changes until you confirm"
        if self.not_built:
            names = ", ".join(KIND_LABELS.get(k, k).split("  ")[-1].split(" (")[0] for k in self.not_built)
            hint += f"\nnot in this version (use the runbook's procedure): {names}"
        yield Static(hint, id="action-status")
        with VerticalScroll():
            # Steps first: at 80×24 their live status must be visible without scrolling.
            yield Static("", id="steps")
            yield Static("", id="plan")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.KindChosen(event.option.id))

    def show_status(self, text: str, error: bool = False) -> None:
        self.query_one("#action-status", Static).update(text)
        self.query_one("#action-status").set_class(error, "-error")

    def show_plan(self, kind: str, diff: list[str], steps: list[tuple[str, str]]) -> None:
        lines = [f"[b]plan: {KIND_LABELS.get(kind, kind)}[/]"]
        for d in diff:
            style = "$error" if d.startswith("-") else "$success" if d.startswith("+") else "$foreground"
            lines.append(f"[{style}]{Content(d).markup}[/]")
        self.query_one("#plan", Static).update(Content.from_markup("\n".join(lines)))
        self.board.load(steps)
        self.refresh_steps(0.0)
        # Room for the plan: the list of kinds shrinks to a few lines.
        self.add_class("-planned")

    def step_event(self, e, now: float) -> None:
        if self.board.apply(e, now):
            self.refresh_steps(now)

    def refresh_steps(self, now: float) -> None:
        text = self.board.render(now)
        if text != getattr(self, "_steps_text", None):
            self._steps_text = text
            self.query_one("#steps", Static).update(Content.from_markup(text))
