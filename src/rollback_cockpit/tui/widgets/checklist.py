"""The pre / during / post checklists, ja with en, bound to the journal.

The panel never ticks anything itself: it asks (TickRequested), the screen
journals the tick, and the journal event comes back here to be shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from rollback_cockpit.runbook import checklists
from rollback_cockpit.runbook.clock import to_jst

PHASE_TITLES = {
    "pre": "実行前 / before   [$text-muted](* ticks itself from evidence)[/]",
    "during": "実行中 / during",
    "post": "実行後 / after",
}


def item_prompt(item: checklists.Item, tick: checklists.Tick | None) -> Content:
    # "*": the cockpit ticks this one itself from evidence (legend in the phase title).
    auto = " [$text-muted]*[/]" if item.auto else ""
    label = f"{Content(item.ja).markup} [$text-muted]{Content(item.en).markup}[/]{auto}"
    if tick is None:
        return Content.from_markup(f"[ ] {label}")
    when = to_jst(tick.at).strftime("%H:%M:%S")
    who = Content(tick.by).markup
    line = f"[$success]\\[x][/] {label}\n    [$text-muted]{who} {when}[/]"
    if tick.evidence:
        line += f" [$text-muted]— {Content(_short(tick.evidence)).markup}[/]"
    return Content.from_markup(line)


def _short(text: str, limit: int = 60) -> str:
    # The full evidence is in the journal and the report; a line is enough here.
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ChecklistPanel(OptionList):
    DEFAULT_CSS = """
    ChecklistPanel, ChecklistPanel:focus {
        height: 1fr;
        border: none;
        padding: 0;
        background: $surface;
    }
    """

    BINDINGS = [
        Binding("space", "tick", "Tick item", id="checklist.tick"),
    ]

    @dataclass
    class TickRequested(Message):
        phase: str
        item: str

    def __init__(self, **kw) -> None:
        options: list[Option | None] = []
        for phase in checklists.PHASES:
            options.append(Option(Content.from_markup(f"[b]{PHASE_TITLES[phase]}[/]"), id=f"phase.{phase}", disabled=True))
            for it in checklists.items():
                if it.phase == phase:
                    options.append(Option(item_prompt(it, None), id=f"{phase}.{it.id}"))
        super().__init__(*options, **kw)
        self._ticks: dict[tuple[str, str], checklists.Tick] = {}

    def show_tick(self, phase: str, item_id: str, tick: checklists.Tick) -> None:
        key = (phase, item_id)
        if self._ticks.get(key) == tick:
            return
        self._ticks[key] = tick
        self.replace_option_prompt(f"{phase}.{item_id}", item_prompt(checklists.item(phase, item_id), tick))

    def is_ticked(self, phase: str, item_id: str) -> bool:
        return (phase, item_id) in self._ticks

    def action_tick(self) -> None:
        option = self.highlighted_option
        if option is None or option.id is None or option.disabled:
            return
        phase, item_id = option.id.split(".", 1)
        if not self.is_ticked(phase, item_id):
            self.post_message(self.TickRequested(phase, item_id))

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_tick()
