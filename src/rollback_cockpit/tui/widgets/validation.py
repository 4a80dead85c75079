"""Post-rollback validation results, as they complete."""

from __future__ import annotations

from typing import Any

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

_MARK = {
    "pass": "[$success]PASS[/]",
    "warn": "[$warning]WARN[/]",
    "fail": "[b $error]FAIL[/]",
    "could_not_check": "[$warning]????[/]",
}


def result_line(r: Any) -> str:
    mark = _MARK.get(r.status, r.status)
    text = f"{mark} {Content(f'{r.check:<11} {r.name}').markup}: {Content(r.summary).markup}"
    for d in tuple(getattr(r, "details", ()))[:3]:
        text += f"\n       [$text-muted]{Content(str(d)).markup}[/]"
    return text


class ValidationPanel(VerticalScroll):
    DEFAULT_CSS = """
    ValidationPanel {
        height: 1fr;
    }
    ValidationPanel > #validation-summary {
        color: $text-muted;
    }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.results: list[Any] = []

    def compose(self):
        yield Static("validation runs after the rollback (or press v)", id="validation-summary")
        yield Static("", id="validation-body")

    def reset(self, text: str) -> None:
        self.results = []
        self.query_one("#validation-body", Static).update("")
        self.query_one("#validation-summary", Static).update(text)

    def add_result(self, r: Any) -> None:
        self.results.append(r)
        body = "\n".join(result_line(x) for x in self.results)
        self.query_one("#validation-body", Static).update(Content.from_markup(body))
        counts: dict[str, int] = {}
        for x in self.results:
            counts[x.status] = counts.get(x.status, 0) + 1
        self.query_one("#validation-summary", Static).update(
            " ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        )

    def finish(self, text: str) -> None:
        self.query_one("#validation-summary", Static).update(text)
