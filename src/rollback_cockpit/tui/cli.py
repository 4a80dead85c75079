"""The command line: the composition root of rollback-cockpit.

Every subcommand lives in ``tui/commands/<name>.py`` with ``register(sub)``
and ``run(args) -> int``; heavy imports happen inside ``run`` so that
``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rollback_cockpit import __version__
from rollback_cockpit.tui.commands.guard import EXIT_FAILED, EXIT_OK, EXIT_USAGE

# Subcommand name -> module under rollback_cockpit.tui.commands.
COMMANDS: dict[str, str] = {
    "env": "env_check",
    "lock": "lock",
    "report": "report",
    "run": "run",
    "readiness": "readiness",
    "sim": "sim",
    "validate": "validate",
}



def build_parser() -> argparse.ArgumentParser:
    from rollback_cockpit.tui.context import add_state_option, add_target_options, set_top_defaults

    parser = argparse.ArgumentParser(
        prog="rollback-cockpit",
        description="A terminal cockpit for rolling back an AWS-hosted web service. "
        "Without a command it opens the cockpit.",
    )
    parser.add_argument("--version", action="version", version=f"rollback-cockpit {__version__}")
    add_state_option(parser)
    add_target_options(parser)
    set_top_defaults(parser)
    parser.add_argument("--theme", default=None, help="colour theme: dark (default), light or ansi")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="last",
        default=None,
        metavar="RUN_ID",
        help="reopen the cockpit on an interrupted run (default: the newest) and continue it",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        importlib.import_module(f"rollback_cockpit.tui.commands.{module}").register(sub, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in (["--version"], ["-V"]):  # the fast path: no parser, no imports
        print(f"rollback-cockpit {__version__}")
        return EXIT_OK
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            from rollback_cockpit.tui.commands import cockpit

            return cockpit.run(args)
        return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one readable line
        return report_failure(exc, args)


def report_failure(exc: BaseException, args: argparse.Namespace) -> int:
    """Print one line for the operator; the traceback goes to the debug log."""
    import logging

    from rollback_cockpit.aws.errors import AwsProblem
    from rollback_cockpit.runbook.environment import EnvironmentFileError
    from rollback_cockpit.runbook.journal import JournalError
    from rollback_cockpit.tui.context import UsageError

    if isinstance(exc, EnvironmentFileError):
        for problem in exc.problems:
            print(f"error: {problem.render()}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, UsageError):
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # The debug log is set up before logging, so the traceback never reaches the screen.
    where = _debug_log_hint(args)
    logging.getLogger("rollback_cockpit").error("command failed", exc_info=exc)
    if isinstance(exc, AwsProblem):
        print(f"error: {exc.line()}{where}", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(exc, JournalError):
        started = getattr(exc, "steps_started", ())
        if started:
            consequence = (
                f"the run stopped; these steps had started and may have changed AWS: {', '.join(started)} — "
                f"free space, then continue with `rollback-cockpit run app --env {getattr(args, 'env_file', None) or 'FILE'} "
                f"--resume {exc.run_id or 'RUN_ID'}` "
                "(each step asks AWS whether it is already done)"
            )
        else:
            consequence = "nothing was changed in AWS"
        print(f"error: {exc} — {consequence}{where}", file=sys.stderr)
        return EXIT_FAILED
    from rollback_cockpit.aws.errors import explain

    problem = explain(exc)
    print(f"error: {problem.line()}{where}", file=sys.stderr)
    return EXIT_FAILED


def _debug_log_hint(args: argparse.Namespace) -> str:
    import logging

    from rollback_cockpit import debuglog
    from rollback_cockpit.tui.context import state_dir_of

    try:
        path = debuglog.setup(state_dir_of(args))
    except OSError:
        logging.getLogger("rollback_cockpit").addHandler(logging.NullHandler())
        return ""
    return f" (details: {path})"


if __name__ == "__main__":
    raise SystemExit(main())
