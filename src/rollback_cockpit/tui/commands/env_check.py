"""``rollback-cockpit env check FILE``: validate an environment file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction, name: str) -> None:
    from rollback_cockpit.tui.context import add_state_option

    env = sub.add_parser(name, help="work with environment files")
    env_sub = env.add_subparsers(dest="env_command", metavar="ACTION", required=True)
    check = env_sub.add_parser("check", help="validate an environment file (exit 0 valid, 2 invalid)")
    check.add_argument("file", type=Path)
    add_state_option(check)
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rollback_cockpit.runbook import environment

    try:
        env = environment.load(args.file)
    except environment.EnvironmentFileError as exc:
        for problem in exc.problems:
            print(f"error: {problem.render()}", file=sys.stderr)
        print(f"{args.file}: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 2
    kinds = ", ".join(environment.offered_kinds(env)) or "none"
    print(f"{args.file}: valid — environment {env.name} in {env.region}; rollback kinds offered: {kinds}")
    return 0
