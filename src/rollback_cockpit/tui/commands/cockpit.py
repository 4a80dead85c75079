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

    with open_context(args) as ctx:
        from rollback_cockpit.tui.app import CockpitApp

        app = CockpitApp(ctx, theme=getattr(args, "theme", None))
        app.run()
        return app.return_code or 0
