"""``rollback-cockpit run app``: a Type A rollback without the cockpit.

Prints the plan, asks for the environment's name as confirmation (``--yes``
is enough in a rehearsal), runs the steps with live progress lines, runs the
post-rollback validation, and writes the report. Every event is journaled
before it is printed. This path never imports Textual: it is benchmarked
against a plain boto3 script.

Exit codes: 0 rolled back and validated, 1 a step or validation failed,
2 usage or environment-file error, 3 refused by a guardrail (nothing changed).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3
SEVERITIES = ("P1", "P2", "P3", "P4")


def register(sub: argparse._SubParsersAction, name: str) -> None:
    from rollback_cockpit.tui.context import add_state_option, add_target_options

    parser = sub.add_parser(name, help="run a rollback headless (prints progress, writes the report)")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    app = kinds.add_parser(
        "app",
        help="Type A: ECS services, Lambda aliases and the static site back to their previous versions",
        description="Type A application rollback. Exit codes: 0 rolled back and validated, 1 a step or "
        "validation failed, 2 usage or environment-file error, 3 refused by a guardrail (nothing changed).",
    )
    add_target_options(app)
    add_state_option(app)
    app.add_argument(
        "--service",
        dest="services",
        action="append",
        metavar="NAME",
        help="only this part (an ECS service, a Lambda function, or static-site); repeatable",
    )
    app.add_argument("--to", metavar="REV", help="the ECS task-definition revision to go to (REV or FAMILY:REV)")
    app.add_argument("--dry-run", action="store_true", help="show the plan and change nothing")
    confirm = app.add_mutually_exclusive_group()
    confirm.add_argument("--yes", action="store_true", help="confirm without typing (rehearsals only)")
    confirm.add_argument("--confirm", metavar="ENVIRONMENT_NAME", help="confirm by naming the environment")
    app.add_argument("--no-validate", action="store_true", help="skip the post-rollback validation")
    app.add_argument("--reason", default="", help="why the rollback is done (goes into the report)")
    app.add_argument("--severity", choices=SEVERITIES, default="P2", help="incident severity (default P2)")
    app.add_argument("--report", type=Path, metavar="PATH", help="write the Markdown report here")
    app.add_argument("--json", dest="json_path", type=Path, metavar="PATH", help="write the JSON report here")
    app.add_argument("--lang", choices=("ja", "en"), default="ja", help="report language (default ja)")
    app.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rollback_cockpit.tui.context import open_context

    with open_context(args) as ctx:
        return asyncio.run(main(args, ctx))


def _print(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


async def main(args: argparse.Namespace, ctx: Any, out: TextIO | None = None) -> int:
    from rollback_cockpit.actions.app import plan_app
    from rollback_cockpit.actions.steps import PlanInputError
    from rollback_cockpit.aws.errors import explain
    from rollback_cockpit.aws.session import Aws

    out = out or sys.stdout
    env = ctx.env
    async with Aws(ctx.aws_settings) as aws:
        try:
            plan, caller = await asyncio.gather(
                plan_app(aws, env, ctx.clock, services=args.services, to=args.to),
                _caller(aws),
            )
        except PlanInputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        _print_plan(out, plan, ctx)
        if plan.refusals:
            for reason in plan.refusals:
                _print(out, f"REFUSED: {reason}")
            _print(out, "nothing was changed")
            return EXIT_REFUSED
        if args.dry_run:
            _print(out, "dry run: nothing was changed")
            return EXIT_OK
        refusal = _confirmation_refusal(args, ctx)
        if refusal:
            _print(out, f"REFUSED: {refusal}")
            _print(out, "nothing was changed")
            return EXIT_REFUSED
        try:
            return await _execute(args, ctx, aws, plan, caller, out)
        except Exception as exc:  # JournalError is handled by the CLI root; AWS failures become one line
            from rollback_cockpit.runbook.journal import JournalError

            if isinstance(exc, JournalError):
                raise
            raise explain(exc) from exc


async def _caller(aws: Any) -> str:
    from rollback_cockpit.aws.errors import explain

    try:
        _, arn = await aws.account_and_caller()
        return arn
    except Exception as exc:  # the plan's own reads will say what is wrong with the credentials
        return f"unknown ({explain(exc, action='GetCallerIdentity').message})"


def _confirmation_refusal(args: argparse.Namespace, ctx: Any) -> str | None:
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
            typed = input(f"type the environment name ({name}) to roll back: ").strip()
        except EOFError:
            typed = ""
        return None if typed == name else f"confirmation {typed!r} does not match {name!r}"
    return f"a rollback needs confirmation: pass --confirm {name}" + (" (or --yes in a rehearsal)" if ctx.simulate else "")


def _print_plan(out: TextIO, plan: Any, ctx: Any) -> None:
    mode = "REHEARSAL" if ctx.simulate else "AWS"
    _print(out, f"Type A application rollback — {plan.environment} [{mode}]")
    if plan.diff:
        w1 = max(len(r.resource) for r in plan.diff)
        w2 = max(len(r.field) for r in plan.diff)
        _print(out, "plan:")
        for r in plan.diff:
            _print(out, f"  {r.resource:<{w1}}  {r.field:<{w2}}  {r.current} → {r.target}")
    for w in plan.warnings:
        _print(out, f"  ! {w}")
    if plan.steps:
        _print(out, "steps:")
        for i, s in enumerate(plan.steps, 1):
            after = f" (after {', '.join(s.depends_on)})" if s.depends_on else ""
            _print(out, f"  {i}. [{s.id}] {s.describe()}{after}")


async def _execute(args: argparse.Namespace, ctx: Any, aws: Any, plan: Any, caller: str, out: TextIO) -> int:

    from rollback_cockpit.actions import lock
    from rollback_cockpit.runbook.journal import new_run_id

    clock = ctx.clock
    run_id = new_run_id()
    operator = f"{ctx.local_user} ({caller})"
    # The lock first: a second operator is refused before anything is written or changed.
    try:
        held = await lock.acquire(aws, ctx.env, operator, run_id, clock)
    except lock.LockHeld as exc:
        _print(out, f"REFUSED: another rollback of {ctx.env.name} is running: {exc.holder.describe()}")
        _print(out, "nothing was changed (if that run is dead, break the lock with the cockpit's lock command)")
        return EXIT_REFUSED
    try:
        return await _locked(args, ctx, aws, plan, caller, out, run_id, held)
    finally:
        try:  # a no-op when the run gave the lock back itself; after a crash it frees it
            await lock.release(aws, ctx.env, run_id)
        except Exception as exc:  # the rollback's outcome stands; the operator must free the lock by hand
            _print(out, f"warning: could not release the lock {held.parameter}: {exc}")


async def _locked(args: argparse.Namespace, ctx: Any, aws: Any, plan: Any, caller: str, out: TextIO, run_id: str, held: Any) -> int:
    from rollback_cockpit.actions import lock
    from rollback_cockpit.actions.steps import execute, outcome
    from rollback_cockpit.runbook import events as ev
    from rollback_cockpit.runbook.journal import Journal, JournalError

    clock = ctx.clock
    journal = Journal.create(ctx.state_dir, clock, run_id=run_id)
    try:
        journal.append(
            ev.RUN_STARTED,
            environment=ctx.env.name,
            region=ctx.env.region,
            operator={"local_user": ctx.local_user, "aws_identity": caller},
            mode="simulate" if ctx.simulate else "aws",
            kind="app",
            reason=args.reason or "operator decision (headless run)",
            severity=args.severity,
            services=args.services or [],
            to=args.to,
        )
        journal.append(ev.LOCK_TAKEN, parameter=held.parameter, operator=held.operator)
        abort = asyncio.Event()
        _on_interrupt(abort, journal, out)
        started = clock.time()
        events = []
        _print(out, f"running (journal {journal.path}); Ctrl-C stops new steps from starting")
        try:
            async for event in execute(plan, aws, journal, clock, abort=abort):
                events.append(event)
                line = _event_line(event, clock.time() - started)
                if line:
                    _print(out, line)
        except JournalError:
            raise  # nothing more can be recorded
        except Exception as exc:  # a bug, not an AWS answer: still close the journal with a result
            journal.append(ev.RUN_FINISHED, result="failed", error=f"{type(exc).__name__}: {exc}",
                           per_resource=outcome(plan, events).per_resource)
            raise
        result = outcome(plan, events)
        if not result.changed and result.result == "success":
            _print(out, "already at target: nothing was changed")

        validation_failed = False
        counts: dict[str, int] = {}
        if not args.no_validate:
            validation_failed, counts = await _validate(aws, ctx, journal, out)
        if await lock.release(aws, ctx.env, run_id):
            journal.append(ev.LOCK_RELEASED, parameter=held.parameter)
        journal.append(
            ev.RUN_FINISHED,
            result=result.result,
            per_resource=result.per_resource,
            changed=result.changed,
            validation=counts,
        )
        _print(out, f"result: {result.result}" + "".join(f"\n  {r}: {o}" for r, o in result.per_resource.items()))
        _print(out, f"journal: {journal.path}")
        _write_reports(args, ctx, journal, out)
    finally:
        journal.close()
    return EXIT_OK if result.ok and not validation_failed else EXIT_FAILED


def _on_interrupt(abort: asyncio.Event, journal: Any, out: TextIO) -> None:
    loop = asyncio.get_running_loop()

    def stop() -> None:
        from rollback_cockpit.runbook import events as ev

        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C interrupts for real
        abort.set()
        journal.append(ev.SIGNAL_RECEIVED, signal="SIGINT")
        _print(out, "interrupt: no new step will start; running steps finish (Ctrl-C again to quit now)")

    try:
        loop.add_signal_handler(signal.SIGINT, stop)
    except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
        pass


def _event_line(event: Any, elapsed: float) -> str | None:
    from rollback_cockpit.runbook import events as ev
    from rollback_cockpit.runbook.clock import format_duration

    d = event.data
    at = f"[{format_duration(elapsed):>5}]"
    if event.type == ev.STEP_STARTED:
        return f"{at} ▶ {d['step']}: {d.get('describe', '')}"
    if event.type == ev.STEP_PROGRESS:
        return f"{at}   {d['step']}: {d.get('message', '')}"
    if event.type == ev.STEP_FINISHED:
        return f"{at} ✓ {d['step']} done ({d.get('duration_s', 0):.1f} s)"
    if event.type == ev.STEP_SKIPPED:
        return f"{at} – {d['step']}: {d.get('reason', 'skipped')}"
    if event.type == ev.STEP_FAILED:
        hint = f" — {d['hint']}" if d.get("hint") else ""
        return f"{at} ✗ {d['step']} FAILED: {d.get('error', '')}{hint}"
    return None


async def _validate(aws: Any, ctx: Any, journal: Any, out: TextIO) -> tuple[bool, dict[str, int]]:
    from rollback_cockpit.runbook import events as ev
    from rollback_cockpit.runbook.checklists import post_ticks_from_validation

    try:
        from rollback_cockpit.checks.validation import run_validation
    except ImportError as exc:
        text = f"validation could not run: {exc}"
        journal.append(ev.NOTE, text=text)
        _print(out, text)
        return True, {}
    _print(out, "validation:")
    results = []
    async for r in run_validation(aws, ctx.env, ctx.clock):
        results.append(r)
        journal.append(
            ev.VALIDATION_RESULT,
            check=r.check,
            name=r.name,
            status=r.status,
            summary=r.summary,
            details=list(r.details),
            evidence=r.evidence,
        )
        _print(out, f"  {r.line()}" if hasattr(r, "line") else f"  {r.status} {r.check} {r.name}: {r.summary}")
    for item_id, evidence in post_ticks_from_validation(results):
        journal.append(ev.CHECKLIST_TICKED, phase="post", item=item_id, by="rollback-cockpit", evidence=evidence, auto=True)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts.get("fail", 0) > 0, counts


def _write_reports(args: argparse.Namespace, ctx: Any, journal: Any, out: TextIO) -> None:
    from rollback_cockpit.runbook import report

    events = list(journal.events)
    md_path = args.report or (ctx.state_dir / "reports" / f"{journal.run_id}.md")
    report.write_file(md_path, report.render(events, fmt="md", lang=args.lang))
    _print(out, f"report: {md_path}")
    if args.json_path:
        report.write_file(args.json_path, report.render(events, fmt="json", lang=args.lang))
        _print(out, f"json report: {args.json_path}")
