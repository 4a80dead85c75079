"""``rollback-cockpit validate (--simulate | --env FILE) [--deep] [--only CHECK]… [--json PATH]``.

The runbook's post-rollback validation, headless: one line per result as it
completes, then a summary. Exit 0 when everything passed (warnings
allowed), 1 when anything failed or could not be checked, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from rollback_cockpit.checks.results import CHECKS as CHECK_NAMES  # one list of checks; a light module


def register(sub: argparse._SubParsersAction, name: str) -> None:
    from rollback_cockpit.tui.context import add_state_option, add_target_options

    p = sub.add_parser(
        name,
        help="post-rollback validation: endpoints, data integrity, error logs, performance, security, settled metrics",
    )
    add_target_options(p)
    add_state_option(p)
    p.add_argument("--deep", action="store_true", help="scan every item of every table (parallel scan), not a sample")
    p.add_argument(
        "--only",
        action="append",
        choices=CHECK_NAMES,
        metavar="CHECK",
        help=f"run only this check (repeatable): {', '.join(CHECK_NAMES)}",
    )
    p.add_argument("--json", dest="json_path", type=Path, metavar="PATH", help="also write every result to this JSON file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rollback_cockpit.tui.context import open_context

    with open_context(args) as ctx:
        return asyncio.run(_main(ctx, args))


class _Progress:
    """Progress on stderr, overwritten in place, only on a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.shown = False

    def __call__(self, check: str, message: str, fraction: float | None) -> None:
        if not self.live:
            return
        pct = f" {fraction * 100:3.0f} %" if fraction is not None else ""
        sys.stderr.write(f"\r\x1b[K  … {check}{pct}: {message}"[:200])
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


async def _main(ctx, args: argparse.Namespace) -> int:
    from rollback_cockpit.aws.session import Aws
    from rollback_cockpit.checks.results import LABELS, STATUSES, summarize
    from rollback_cockpit.checks.validation import run_validation

    progress = _Progress()
    results = []
    async with Aws(ctx.aws_settings) as aws:
        async for result in run_validation(aws, ctx.env, ctx.clock, only=args.only, deep=args.deep, progress=progress):
            progress.clear()
            results.append(result)
            print(result.line(), flush=True)
            for detail in result.details:
                print(f"{'':16}{detail}", flush=True)
    progress.clear()
    counts = summarize(results)
    ok = bool(results) and all(r.ok for r in results)
    parts = ", ".join(f"{counts[s]} {LABELS[s].lower()}" for s in STATUSES if counts[s])
    verdict = "PASSED" if ok else "NOT PASSED"
    print(f"{ctx.env.name}: validation {verdict} ({parts or 'no results'})", file=sys.stdout if ok else sys.stderr)
    if args.json_path:
        doc = {
            "environment": ctx.env.name,
            "simulate": ctx.simulate,
            "at": ctx.clock.now().isoformat(),
            "passed": ok,
            "counts": counts,
            "results": [r.to_json() for r in results],
        }
        from rollback_cockpit.runbook.report import write_file

        write_file(args.json_path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")  # owner-only, like reports
    return 0 if ok else 1
