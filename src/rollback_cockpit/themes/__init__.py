"""The cockpit's colour themes and layout (.tcss).

This is the only place in the package where colours are written down. Widgets
refer to theme variables (``$primary``, ``$error``, ``$mode-production`` …)
so a theme change recolours everything, including the 16-colour ``ansi``
theme for plain terminals over SSH.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from textual.theme import Theme

# Two banners that must never be mistaken for each other: production is a
# solid red bar, a rehearsal a solid blue one, in every theme.
_DARK = Theme(
    name="cockpit-dark",
    primary="#3d8bfd",
    secondary="#6c8ebf",
    accent="#f0a030",
    warning="#f0a030",
    error="#e5484d",
    success="#46a758",
    foreground="#e6e6e6",
    background="#111418",
    surface="#181c22",
    panel="#222831",
    dark=True,
    variables={
        "mode-production": "#c1121f",
        "mode-production-text": "#ffffff",
        "mode-simulate": "#1d4ed8",
        "mode-simulate-text": "#ffffff",
        "metric-breach": "#e5484d",
        "metric-ok": "#46a758",
        "footer-key-foreground": "#f0a030",
    },
)

_LIGHT = Theme(
    name="cockpit-light",
    primary="#0b5cad",
    secondary="#4a6a8a",
    accent="#a35200",
    warning="#a35200",
    error="#b4232a",
    success="#1e7a34",
    foreground="#1b1f24",
    background="#f7f7f5",
    surface="#ffffff",
    panel="#e8eaed",
    dark=False,
    variables={
        "mode-production": "#b4232a",
        "mode-production-text": "#ffffff",
        "mode-simulate": "#1d4ed8",
        "mode-simulate-text": "#ffffff",
        "metric-breach": "#b4232a",
        "metric-ok": "#1e7a34",
    },
)

# Only the 16 ANSI colours: the terminal's own palette decides the shades.
_ANSI = Theme(
    name="cockpit-ansi",
    ansi=True,
    primary="ansi_blue",
    secondary="ansi_cyan",
    accent="ansi_yellow",
    warning="ansi_yellow",
    error="ansi_red",
    success="ansi_green",
    foreground="ansi_default",
    background="ansi_default",
    surface="ansi_default",
    panel="ansi_default",
    boost="ansi_default",
    dark=True,
    variables={
        "mode-production": "ansi_red",
        "mode-production-text": "ansi_bright_white",
        "mode-simulate": "ansi_blue",
        "mode-simulate-text": "ansi_bright_white",
        "metric-breach": "ansi_bright_red",
        "metric-ok": "ansi_green",
        "ansi-background": "ansi_black",
        "ansi-foreground": "ansi_white",
        "border-blurred": "ansi_white",
        "block-cursor-foreground": "ansi_black",
        "block-cursor-background": "ansi_white",
        "input-cursor-background": "ansi_white",
        "input-cursor-foreground": "ansi_black",
        "input-selection-background": "ansi_blue",
        "scrollbar": "ansi_blue",
        "scrollbar-hover": "ansi_bright_blue",
        "scrollbar-active": "ansi_bright_blue",
        "footer-key-foreground": "ansi_yellow",
    },
)

# Fallbacks for the cockpit's own variables under any theme (Textual's
# built-in ones included, e.g. when a user picks one from the palette).
VARIABLE_DEFAULTS: dict[str, str] = {
    k: v for k, v in _DARK.variables.items() if k.startswith(("mode-", "metric-"))
}

THEMES: dict[str, Theme] = {t.name: t for t in (_DARK, _LIGHT, _ANSI)}
# What `--theme` accepts.
ALIASES = {"dark": "cockpit-dark", "light": "cockpit-light", "ansi": "cockpit-ansi"}
DEFAULT = "cockpit-dark"


def theme_name(choice: str | None) -> str:
    """The registered name for a ``--theme`` value (unknown names pass through)."""
    if not choice:
        return DEFAULT
    return ALIASES.get(choice, choice)


def layout_path() -> Path:
    return Path(str(resources.files("rollback_cockpit.themes") / "cockpit.tcss"))
