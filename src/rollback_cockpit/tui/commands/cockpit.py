"""``rollback-cockpit`` with no command: open the cockpit."""

from __future__ import annotations

import argparse
import os


def run(args: argparse.Namespace) -> int:
    # Over SSH every frame costs bytes: a low frame rate, no animation.
    # Both are read when textual is imported, hence before the import.
    os.environ.setdefault("TEXTUAL_FPS", "15")
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    from rollback_cockpit.tui.context import open_context

    journal = None
    from rollback_cockpit.tui.context import refuse_resume_in_a_new_world

    refuse_resume_in_a_new_world(args)
    if getattr(args, "resume", None):
        from rollback_cockpit.actions.rollback import find_resumable
        from rollback_cockpit.runbook import journal as jr
        from rollback_cockpit.tui.context import UsageError, state_dir_of

        try:
            path = find_resumable(args.resume, state_dir_of(args))
            events = jr.read(path)
        except (FileNotFoundError, jr.JournalError) as exc:
            raise UsageError(str(exc)) from None
        if not events:
            raise UsageError(f"{path} holds no events: nothing to resume")
    with open_context(args) as ctx:
        from rollback_cockpit.tui.app import CockpitApp

        if getattr(args, "resume", None):
            recorded = events[0].data.get("environment")
            if recorded and recorded != ctx.env.name:
                raise UsageError(f"run {events[0].run_id} is a run on {recorded}, not {ctx.env.name}")
            journal = jr.Journal.reopen(path, ctx.clock)
        app = CockpitApp(ctx, theme=getattr(args, "theme", None), journal=journal, resumed=journal is not None)
        app.run()
        return app.return_code or 0
