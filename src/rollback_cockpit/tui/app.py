"""The cockpit application: themes, the journal, the AWS session, the palette.

The app takes everything it depends on in its constructor (the environment,
AWS settings, clock, journal, and the services it calls), so a Pilot test
can build it directly against a moto server or the rehearsal world.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App, InvalidThemeError
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from rollback_cockpit import themes
from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.runbook.journal import Journal

log = logging.getLogger("rollback_cockpit")


@dataclass
class Services:
    """The plain async functions the cockpit drives; a test may hand in its own."""

    sample: Callable[..., Any] | None = None
    evaluate: Callable[..., Any] | None = None
    planners: dict[str, Callable[..., Any]] = field(default_factory=dict)
    render_report: Callable[..., Any] | None = None
    readiness: Callable[..., Any] | None = None

    @classmethod
    def default(cls) -> Services:
        from rollback_cockpit.actions.kinds import PLANNERS
        from rollback_cockpit.checks.metrics import sample
        from rollback_cockpit.checks.readiness import check_readiness
        from rollback_cockpit.checks.triggers import evaluate
        from rollback_cockpit.runbook.report import render

        return cls(sample=sample, evaluate=evaluate, planners=dict(PLANNERS), render_report=render, readiness=check_readiness)


class CockpitCommands(Provider):
    """Every key binding of the cockpit as a palette command."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        screen = self.screen
        out = []
        seen = set()
        for node in (screen, self.app):
            for b in getattr(node, "BINDINGS", []):
                if isinstance(b, Binding) and b.description and b.action not in seen:
                    seen.add(b.action)
                    out.append((b.description, f"key {b.key_display or b.key}", partial(node.run_action, b.action)))
        return out

    async def discover(self) -> Hits:
        for title, help_text, command in self._commands():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, help=help_text)


class CockpitApp(App):
    TITLE = "rollback-cockpit"
    CSS_PATH = str(themes.layout_path())
    COMMANDS = App.COMMANDS | {CockpitCommands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True, show=False),
        Binding("q", "quit", "Quit", id="app.quit_q"),
        Binding("question_mark", "help", "Help", id="app.help"),
    ]
    # Over SSH, every animation frame is bytes on the wire.
    ANIMATION_LEVEL = "none"

    def __init__(
        self,
        ctx: Any = None,
        *,
        env: Any = None,
        aws_settings: Any = None,
        clock: Clock | None = None,
        journal: Journal | None = None,
        state_dir: Path | None = None,
        local_user: str | None = None,
        simulate: bool | None = None,
        theme: str | None = None,
        services: Services | None = None,
        sample_on_timer: bool = True,
        check_terminal: bool = True,
        resumed: bool = False,
    ) -> None:
        super().__init__()
        self.env = env if env is not None else ctx.env
        self.aws_settings = aws_settings if aws_settings is not None else getattr(ctx, "aws_settings", None)
        self.clock = clock or getattr(ctx, "clock", None) or Clock()
        self.state_dir = Path(state_dir or ctx.state_dir)
        self.local_user = local_user or getattr(ctx, "local_user", None) or os.environ.get("USER", "operator")
        self.simulate = bool(simulate if simulate is not None else getattr(ctx, "simulate", self.env.is_rehearsal))
        self.journal = journal or Journal.create(self.state_dir, self.clock)
        self.services = services or Services.default()
        # Metrics follow their own timer unless a test drives them.
        self.sample_on_timer = sample_on_timer
        self.check_terminal = check_terminal
        # A resumed cockpit continues a journal that already holds the run.
        self.resumed = resumed
        self.aws: Any = None
        self.aws_identity: str | None = None
        self._theme_choice = theme
        self._theme_problem = ""
        self.animation_level = "none"

    @property
    def operator(self) -> str:
        return f"{self.local_user} ({self.aws_identity})" if self.aws_identity else self.local_user

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **themes.VARIABLE_DEFAULTS}

    def _select_theme(self) -> None:
        for t in themes.THEMES.values():
            self.register_theme(t)
        try:
            self.theme = themes.theme_name(self._theme_choice)
        except InvalidThemeError:
            self.theme = themes.DEFAULT
            self._theme_problem = f"unknown theme {self._theme_choice!r}; using dark (choices: dark, light, ansi)"

    def on_load(self) -> None:
        self._select_theme()

    async def on_mount(self) -> None:
        if self._theme_problem:
            self.notify(self._theme_problem, severity="warning")
        if self.aws_settings is not None:
            from rollback_cockpit.aws.session import Aws

            self.aws = await Aws(self.aws_settings).__aenter__()
        # The run begins on disk before anything is shown.
        if self.resumed:
            self.journal.append(ev.NOTE, text=f"cockpit resumed by {self.local_user}", resumed=True)
        else:
            self.journal.append(
                ev.RUN_STARTED,
                environment=self.env.name,
                region=self.env.region,
                operator={"local_user": self.local_user, "aws_identity": None},
                mode="simulate" if self.simulate else "aws",
            )
        self._watch_signals()
        from rollback_cockpit.tui.screens.cockpit import CockpitScreen

        await self.push_screen(CockpitScreen())
        if self.check_terminal and not (os.environ.get("TMUX") or os.environ.get("STY")):
            self.notify(
                "not inside tmux or screen: if the SSH session drops, the cockpit ends with it",
                title="tmux / screen",
                severity="warning",
                timeout=15,
            )

    def _watch_signals(self) -> None:
        """A lost SSH session (SIGHUP) or a SIGTERM: journal it, stop between steps, leave resumable."""
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._signalled, signum)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests), or no signals
                pass

    def _signalled(self, signum: int) -> None:
        import signal

        from rollback_cockpit.tui.context import resume_command

        name = signal.Signals(signum).name
        screen = self.screen
        running = getattr(screen, "rollback_running", False)
        try:
            self.journal.append(
                ev.SIGNAL_RECEIVED,
                signal=name,
                rollback_running=running,
                resume=resume_command(self.env, self.journal.run_id, cockpit=True),
            )
        except Exception:  # the journal's own error is already logged; leave anyway
            log.exception("could not journal %s", name)
        abort = getattr(screen, "_abort", None)
        if abort is not None:
            abort.set()
        self.exit(return_code=129 if signum == signal.SIGHUP else 143)

    async def on_unmount(self) -> None:
        if self.aws is not None:
            try:
                await self.aws.__aexit__(None, None, None)
            except Exception:  # closing must never hide the real outcome
                log.debug("closing the AWS clients failed", exc_info=True)
        self.journal.close()

    def action_help(self) -> None:
        from rollback_cockpit.tui.screens.dialogs import HelpScreen

        keys = []
        seen = set()
        for node in (self.screen, self):
            for b in getattr(node, "BINDINGS", []):
                if isinstance(b, Binding) and b.description and (b.key, b.action) not in seen:
                    seen.add((b.key, b.action))
                    keys.append((b.key_display or b.key, b.description))
        from rollback_cockpit.tui.widgets.checklist import ChecklistPanel

        keys += [(b.key, f"{b.description} (checklists)") for b in ChecklistPanel.BINDINGS]
        keys.append(("ctrl+p", "Command palette"))
        self.push_screen(HelpScreen(keys))

    async def action_quit(self) -> None:
        screen = self.screen
        if getattr(screen, "rollback_running", False):
            await screen.run_action("confirm_quit")
            return
        self.exit()
