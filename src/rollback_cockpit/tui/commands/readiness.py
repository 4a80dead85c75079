"""``rollback-cockpit readiness (--simulate | --env FILE)``: the runbook's readiness check.

One line per result as it completes; exit 0 when ready (warnings allowed),
1 when not, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys


def register(sub: argparse._SubParsersAction, name: str) -> None:
    from rollback_cockpit.tui.context import add_state_option, add_target_options

    p = sub.add_parser(
        name,
        help="check that a rollback could start now (credentials, resources, permissions, lock, backup, previous versions)",
    )
    add_target_options(p)
    add_state_option(p)
    p.add_argument("--run-id", default=None, help="a lock held by this run counts as free (when resuming)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rollback_cockpit.tui.context import open_context

    with open_context(args) as ctx:
        return asyncio.run(_main(ctx, getattr(args, "run_id", None)))


async def _main(ctx, run_id: str | None) -> int:
    from rollback_cockpit.aws.session import Aws
    from rollback_cockpit.checks.readiness import check_readiness, is_ready

    results = []
    async with Aws(ctx.aws_settings) as aws:
        async for result in check_readiness(aws, ctx.env, ctx.clock, run_id=run_id):
            results.append(result)
            print(result.line(), flush=True)
            for detail in result.details:
                if detail.startswith(("missing:", "denied:")):
                    print(f"{'':16}{detail}", flush=True)
    ready = is_ready(results)
    print(f"{ctx.env.name}: {'READY' if ready else 'NOT READY'} for a rollback", file=sys.stdout if ready else sys.stderr)
    return 0 if ready else 1
