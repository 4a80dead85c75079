"""Small modal questions: confirm, give a reason, decide, help."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

DIALOG_CSS = """
{name} {{
    align: center middle;
}}
{name} > Vertical {{
    width: 76;
    max-width: 100%;
    height: auto;
    max-height: 100%;
    border: thick $primary;
    background: $surface;
    padding: 0 1;
}}
{name} .dialog-title {{
    text-style: bold;
    color: $accent;
}}
{name} .dialog-hint {{
    color: $text-muted;
}}
{name} .dialog-error {{
    color: $error;
}}
"""

_CANCEL = Binding("escape", "cancel", "Cancel", id="dialog.cancel")


class ConfirmScreen(ModalScreen[bool]):
    """Yes / no; with ``typed`` the operator must type that text exactly."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS = [
        _CANCEL,
        Binding("y", "yes", "Yes", id="dialog.yes"),
        Binding("n", "cancel", "No", id="dialog.no"),
    ]

    def __init__(self, title: str, body: str, typed: str | None = None) -> None:
        super().__init__()
        self.title_text, self.body, self.typed = title, body, typed

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(self.title_text), classes="dialog-title")
            yield Static(Content(self.body))
            if self.typed:
                yield Static(Content(f"type {self.typed} and press enter; escape cancels"), classes="dialog-hint")
                yield Input(placeholder=self.typed, id="typed")
                yield Static("", classes="dialog-error")
            else:
                yield Static("y: yes   n / escape: no", classes="dialog-hint")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # With a typed confirmation a stray "y" must not confirm anything.
        if action == "yes" and self.typed:
            return False
        return True

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() == self.typed:
            self.dismiss(True)
        else:
            self.query_one(".dialog-error", Static).update(Content(f"that is not {self.typed}; nothing was done"))


class ReasonScreen(ModalScreen[str | None]):
    """Ask for a short text (a reason); empty is not accepted."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ReasonScreen")
    BINDINGS = [_CANCEL]

    def __init__(self, title: str, body: str, placeholder: str = "reason") -> None:
        super().__init__()
        self.title_text, self.body, self.placeholder = title, body, placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(self.title_text), classes="dialog-title")
            yield Static(Content(self.body))
            yield Input(placeholder=self.placeholder, id="reason")
            yield Static("enter: confirm   escape: cancel", classes="dialog-hint")

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())


class DecisionScreen(ModalScreen[tuple[str, str, str, str] | None]):
    """The rollback decision: a kind or no rollback, a reason, the severity.

    The runbook's FAQ: P1/P2 are decided by the on-call engineer; P3 and
    below need the team lead's approval, so a rollback at P3/P4 names who
    approved it. Answers (kind, reason, severity, approved_by).
    """

    DEFAULT_CSS = DIALOG_CSS.format(name="DecisionScreen") + """
    DecisionScreen OptionList { height: auto; max-height: 10; }
    DecisionScreen #decision-error { color: $error; height: auto; }
    """
    BINDINGS = [_CANCEL]
    SEVERITIES = ("P1", "P2", "P3", "P4")

    def __init__(self, kinds: list[tuple[str, str]]) -> None:
        super().__init__()
        self.kinds = kinds
        self.kind: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Rollback decision / ロールバック判断", classes="dialog-title")
            options = [Option(label, id=k) for k, label in self.kinds]
            options.append(Option("no rollback / ロールバックしない", id="none"))
            yield OptionList(*options, id="decision-kinds")
            yield Input(value="P2", placeholder="severity P1–P4", id="severity")
            yield Input(placeholder="approved by (team lead; needed for P3/P4)", id="approver")
            yield Input(placeholder="reason (required for no rollback)", id="reason")
            yield Static("", id="decision-error")
            yield Static("enter on a choice, then a reason and enter (tab: severity, approver); escape cancels",
                         classes="dialog-hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.kind = event.option.id
        self.query_one("#reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.kind is None:
            self.query_one("#decision-kinds", OptionList).focus()
            return
        reason = self.query_one("#reason", Input).value.strip()
        severity = self.query_one("#severity", Input).value.strip().upper()
        approver = self.query_one("#approver", Input).value.strip()
        problem = ""
        if severity not in self.SEVERITIES:
            problem = "severity must be P1, P2, P3 or P4"
        elif self.kind == "none" and not reason:
            problem = "no rollback needs a reason"
        elif self.kind != "none" and severity in ("P3", "P4") and not approver:
            problem = f"{severity}: a rollback needs the team lead's approval — name who approved it"
        if problem:
            self.query_one("#decision-error", Static).update(problem)
            return
        self.dismiss((self.kind, reason, severity, approver))

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = DIALOG_CSS.format(name="HelpScreen")
    BINDINGS = [
        _CANCEL,
        Binding("question_mark", "cancel", "Close help", id="help.close"),
    ]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Keys / キー操作", classes="dialog-title")
            lines = [f"[b]{Content(k).markup:>12}[/]  {Content(d).markup}" for k, d in self.keys]
            yield Static(Content.from_markup("\n".join(lines)))
            yield Static("every action is also in the command palette (ctrl+p); escape closes", classes="dialog-hint")

    def action_cancel(self) -> None:
        self.dismiss(None)
