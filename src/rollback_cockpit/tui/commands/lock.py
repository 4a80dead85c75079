"""``rollback-cockpit lock show|break``: who holds an environment's rollback lock, and freeing a stale one.

The lock (``actions/lock.py``) is an SSM parameter in the environment's own
account, so it outlives the process that took it: a cockpit killed with
``kill -9`` or a laptop that lost power leaves it behind. ``lock show`` says
who holds it; ``lock break`` removes it, but only with a reason and the
environment's name typed (``--confirm NAME``; ``--yes`` is enough in a
rehearsal), and journals a run of its own so the break is in the record:
``run_started`` (kind ``lock-break``), ``lock_broken`` (holder and reason),
``run_finished`` (result ``none``).

Exit codes: 0 shown / broken (or already free), 1 AWS or journal failure,
2 usage or environment-file error, 3 refused (wrong confirmation, or the
lock changed while it was being confirmed; nothing changed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from rollback_cockpit.tui.commands.guard import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    confirmation_refusal,
    operator_identity,
)

KIND = "lock-break"


def register(sub: argparse._SubParsersAction, name: str) -> None:
    from rollback_cockpit.tui.context import add_state_option, add_target_options

    parser = sub.add_parser(name, help="show or break an environment's rollback lock")
    actions = parser.add_subparsers(dest="lock_command", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="who holds the environment's lock, or that it is free",
        description="Who holds the environment's rollback lock (operator, run, since when), or that it is free. "
        "Exit codes: 0 answered, 1 AWS failure, 2 usage or environment-file error.",
    )
    add_target_options(show)
    add_state_option(show)
    show.set_defaults(run=run_show)

    brk = actions.add_parser(
        "break",
        help="remove a stale lock (a reason and the typed environment name are required; journaled)",
        description="Remove the environment's rollback lock, whoever holds it: for a run that died and left it "
        "behind. Needs --reason and the environment's name (typed at the prompt, or --confirm NAME; --yes "
        "in a rehearsal). The break is journaled as a run of its own in the state dir. Exit codes: 0 broken "
        "or already free, 1 AWS or journal failure, 2 usage or environment-file error, 3 refused (nothing changed).",
    )
    add_target_options(brk)
    add_state_option(brk)
    brk.add_argument("--reason", required=True, help="why the lock is stale (goes into the journal)")
    confirm = brk.add_mutually_exclusive_group()
    confirm.add_argument("--confirm", metavar="ENVIRONMENT_NAME", help="confirm by naming the environment")
    confirm.add_argument("--yes", action="store_true", help="confirm without typing (rehearsals only)")
    brk.set_defaults(run=run_break)


def run_show(args: argparse.Namespace) -> int:
    from rollback_cockpit.tui.context import open_context

    with open_context(args) as ctx:
        return asyncio.run(_show(ctx))


def run_break(args: argparse.Namespace) -> int:
    from rollback_cockpit.tui.context import open_context

    # A usage error is said before any AWS call (or rehearsal world) is made.
    if not args.reason.strip():
        print("error: breaking a lock needs a reason: --reason TEXT (it goes into the journal)", file=sys.stderr)
        return EXIT_USAGE
    with open_context(args) as ctx:
        return asyncio.run(_break(args, ctx))


async def _show(ctx: Any) -> int:
    from rollback_cockpit.actions import lock
    from rollback_cockpit.aws.session import Aws

    async with Aws(ctx.aws_settings) as aws:
        holder = await lock.read_lock(aws, ctx.env)
    where = f"(SSM parameter {lock.lock_parameter(ctx.env)})"
    if holder is None:
        print(f"{ctx.env.name}: free {where}")
    else:
        print(f"{ctx.env.name}: {holder.describe()} {where}")
    return EXIT_OK


async def _break(args: argparse.Namespace, ctx: Any) -> int:
    from rollback_cockpit.actions import lock
    from rollback_cockpit.aws.session import Aws
    from rollback_cockpit.runbook import events as ev
    from rollback_cockpit.runbook.journal import Journal

    reason = args.reason.strip()
    async with Aws(ctx.aws_settings) as aws:
        holder = await lock.read_lock(aws, ctx.env)
        if holder is None:
            print(f"{ctx.env.name}: the lock is free; nothing to break")
            return EXIT_OK
        print(f"{ctx.env.name}: {holder.describe()}")
        refusal = confirmation_refusal(args, ctx, f"break the lock held by {holder.operator}", "breaking a lock")
        if refusal:
            print(f"REFUSED: {refusal}")
            print("nothing was changed")
            return EXIT_REFUSED
        # The prompt may have waited minutes: break only the lock the operator confirmed.
        now = await lock.read_lock(aws, ctx.env)
        if now != holder:
            print("REFUSED: the lock changed while it was being confirmed: " + (now.describe() if now else "it is free now"))
            print("nothing was changed; look again with: rollback-cockpit lock show")
            return EXIT_REFUSED
        caller = await operator_identity(aws)
        journal = Journal.create(ctx.state_dir, ctx.clock)
        try:
            # Journaled before the change: a break the journal cannot record does not happen.
            journal.append(
                ev.RUN_STARTED,
                environment=ctx.env.name,
                region=ctx.env.region,
                operator={"local_user": ctx.local_user, "aws_identity": caller},
                mode="simulate" if ctx.simulate else "aws",
                kind=KIND,
                reason=reason,
            )
            try:
                broken = await lock.break_lock(aws, ctx.env, reason)
            except Exception as exc:
                from rollback_cockpit.aws.errors import explain

                problem = explain(exc, action="ssm:DeleteParameter", resource=lock.lock_parameter(ctx.env))
                journal.append(ev.RUN_FINISHED, result="none", error=problem.line())
                raise problem from exc
            if broken is None:  # released by its run between our read and the delete
                journal.append(ev.NOTE, text="the lock was already free when it was to be broken")
            else:
                journal.append(ev.LOCK_BROKEN, parameter=broken.parameter, holder=broken.to_json(), reason=reason, by=ctx.local_user)
            journal.append(ev.RUN_FINISHED, result="none")
        finally:
            journal.close()
    if broken is None:
        print(f"{ctx.env.name}: the lock was released meanwhile; nothing was broken")
    else:
        print(f"broke the lock of {ctx.env.name}: {broken.describe()}")
        print(f"reason: {reason}")
        print(f"journal: {journal.path}")
        if broken.run_id not in ("", "?"):
            from rollback_cockpit.tui.context import resume_command

            print(f"if that run is to be continued: {resume_command(ctx.env, broken.run_id)}")
    return EXIT_OK


