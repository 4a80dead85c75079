"""What every command that changes AWS asks first: the exit codes, who the operator
is, and the typed confirmation of the environment's name."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3


async def operator_identity(aws: Any) -> str:
    """The operator's STS identity, or why it is unknown (the next AWS call will say more)."""
    from rollback_cockpit.aws.errors import explain

    try:
        _, arn = await aws.account_and_caller()
        return arn
    except Exception as exc:
        return f"unknown ({explain(exc, action='GetCallerIdentity').message})"


def confirmation_refusal(args: argparse.Namespace, ctx: Any, doing: str, needs: str) -> str | None:
    """None when the operator confirmed ``doing`` on this environment, else why not.

    ``--confirm NAME`` on the command line, the typed name at a terminal, or
    ``--yes`` in a rehearsal only. ``needs`` completes "… needs confirmation".
    """
    name = ctx.env.name
    if args.yes:
        if ctx.simulate:
            return None
        return f"--yes is only for rehearsals; on a real environment confirm with --confirm {name}"
    if args.confirm is not None:
        if args.confirm == name:
            return None
        return f"--confirm {args.confirm!r} does not match the environment name {name!r}"
    if sys.stdin.isatty():
        try:
            typed = input(f"type the environment name ({name}) to {doing}: ").strip()
        except EOFError:
            typed = ""
        return None if typed == name else f"confirmation {typed!r} does not match {name!r}"
    return f"{needs} needs confirmation: pass --confirm {name}" + (" (or --yes in a rehearsal)" if ctx.simulate else "")
