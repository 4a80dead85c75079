"""The cockpit header: mode banner, where and who, and the small clock line.

The banner and the identity line change a handful of times per run; only the
one-line clock is refreshed every second, so the per-second redraw over SSH
is a single short line.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static


class ModeBanner(Static):
    """PRODUCTION or SIMULATE, in colours that can't be mistaken."""

    DEFAULT_CSS = """
    ModeBanner {
        width: auto;
        padding: 0 1;
        text-style: bold;
    }
    ModeBanner.-production {
        background: $mode-production;
        color: $mode-production-text;
    }
    ModeBanner.-simulate {
        background: $mode-simulate;
        color: $mode-simulate-text;
    }
    """

    def __init__(self, simulate: bool, **kw) -> None:
        text = " SIMULATE  リハーサル " if simulate else " PRODUCTION  本番 "
        super().__init__(text, **kw)
        self.add_class("-simulate" if simulate else "-production")


class IdentityLine(Static):
    DEFAULT_CSS = """
    IdentityLine {
        width: 1fr;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    """

    def __init__(self, env_name: str, region: str, operator: str, **kw) -> None:
        self.env_name = env_name
        self.aws_region = region
        super().__init__(self._text(operator), **kw)

    def _text(self, operator: str) -> Content:
        return Content.from_markup(
            f"[b]{Content(self.env_name).markup}[/]  {Content(self.aws_region).markup}  "
            f"operator: {Content(operator).markup}"
        )

    def show_operator(self, operator: str) -> None:
        self.update(self._text(operator))


class ClockLine(Static):
    """JST now, the simulated time, and the decision clock."""

    DEFAULT_CSS = """
    ClockLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    ClockLine.-urgent {
        color: $error;
        text-style: bold;
    }
    """

    def show(self, text: str, urgent: bool = False) -> None:
        # Called every second: skip the write when nothing visible changed.
        if text != getattr(self, "_last", None):
            self._last = text
            self.update(text)
        self.set_class(urgent, "-urgent")


class CockpitHeader(Vertical):
    DEFAULT_CSS = """
    CockpitHeader {
        height: 2;
        dock: top;
    }
    CockpitHeader > Horizontal {
        height: 1;
    }
    """

    def __init__(self, env_name: str, region: str, operator: str, simulate: bool, **kw) -> None:
        super().__init__(**kw)
        self._args = (env_name, region, operator, simulate)

    def compose(self) -> ComposeResult:
        env_name, region, operator, simulate = self._args
        with Horizontal():
            yield ModeBanner(simulate, id="mode-banner")
            yield IdentityLine(env_name, region, operator, id="identity")
        yield ClockLine("", id="clock-line")
