"""``rollback-cockpit report RUN_ID_OR_PATH``: render a run's report from its journal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction, name: str) -> None:
    from rollback_cockpit.tui.context import add_state_option

    p = sub.add_parser(name, help="render the rollback report of a run from its journal")
    p.add_argument("run_ref", metavar="RUN_ID_OR_PATH", help='a run id, a journal path, or "last"')
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.add_argument("--lang", choices=("ja", "en"), default="ja")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    add_state_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rollback_cockpit.runbook import journal, report
    from rollback_cockpit.tui.context import state_dir_of

    try:
        path = journal.find_run(args.run_ref, state_dir_of(args))
        events = journal.read(path)
    except (FileNotFoundError, journal.JournalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not events:
        print(f"error: {path} holds no events", file=sys.stderr)
        return 2
    text = report.render(events, args.format, args.lang)
    if args.output:
        report.write_file(args.output, text)
        print(f"report written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0

