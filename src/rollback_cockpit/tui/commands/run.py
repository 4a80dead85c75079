"""``rollback-cockpit run app``: a Type A rollback without the cockpit.

Prints the plan, asks for the environment's name as confirmation (``--yes``
is enough in a rehearsal), runs the steps with live progress lines, runs the
post-rollback validation, and writes the report. Every event is journaled
before it is printed. ``--resume RUN_ID`` continues an interrupted run from
its journal. This path never imports Textual: it is benchmarked
against a plain boto3 script.

Exit codes: 0 rolled back and validated, 1 a step or validation failed,
2 usage or environment-file error, 3 refused by a guardrail (nothing changed).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from rollback_cockpit.tui.commands.guard import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    confirmation_refusal,
    operator_identity,
)

REPLAN_AFTER_SECONDS = 2.0
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
    app.add_argument(
        "--approved-by",
        metavar="NAME",
        default="",
        help="the team lead who approved the rollback (required for P3/P4, as the runbook says)",
    )
    app.add_argument("--report", type=Path, metavar="PATH", help="write the Markdown report here")
    app.add_argument("--json", dest="json_path", type=Path, metavar="PATH", help="write the JSON report here")
    app.add_argument("--lang", choices=("ja", "en"), default="ja", help="report language (default ja)")
    app.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="continue a run that was interrupted (crash, kill, lost SSH) from its journal; 'last' for the newest",
    )
    app.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rollback_cockpit.tui.context import open_context, refuse_resume_in_a_new_world

    refuse_resume_in_a_new_world(args)
    with open_context(args) as ctx:
        return asyncio.run(main(args, ctx))


def _print(out: TextIO, text: str = "") -> None:
    try:
        out.write(text + "\n")
        out.flush()
    except OSError:
        # The terminal is gone (SSH dropped): the journal is the record, the run goes on.
        pass


async def main(args: argparse.Namespace, ctx: Any, out: TextIO | None = None) -> int:
    from rollback_cockpit.actions.app import plan_app
    from rollback_cockpit.actions.steps import PlanInputError, same_plan
    from rollback_cockpit.aws.errors import explain
    from rollback_cockpit.aws.session import Aws

    out = out or sys.stdout
    env = ctx.env
    async with Aws(ctx.aws_settings) as aws:
        try:
            if args.resume:
                return await _resume(args, ctx, aws, out)
            try:
                plan, caller = await asyncio.gather(
                    plan_app(aws, env, ctx.clock, services=args.services, to=args.to),
                    operator_identity(aws),
                )
                planned_at = time.monotonic()
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
            refusal = _approval_refusal(args) or confirmation_refusal(args, ctx, "roll back", "a rollback")
            if refusal:
                _print(out, f"REFUSED: {refusal}")
                _print(out, "nothing was changed")
                return EXIT_REFUSED
            # If the operator took a while to confirm (a typed name at the prompt), AWS is
            # read again: what runs must be what was confirmed. Confirmed on the command
            # line, the plan was read a moment ago and reading it twice would only cost time.
            again = plan
            prompted = not (args.yes or args.confirm)
            if prompted or time.monotonic() - planned_at > REPLAN_AFTER_SECONDS:
                again = await plan_app(aws, env, ctx.clock, services=args.services, to=args.to)
            if not same_plan(plan, again):
                _print(out, "REFUSED: AWS changed since the plan above was read (someone else may be deploying). The plan now:")
                _print_plan(out, again, ctx)
                _print(out, "nothing was changed; review the new plan and run again")
                return EXIT_REFUSED
            return await _execute(args, ctx, aws, plan, caller, out)
        except Exception as exc:  # JournalError is handled by the CLI root; AWS failures become one line
            from rollback_cockpit.runbook.journal import JournalError

            if isinstance(exc, JournalError):
                raise
            raise explain(exc) from exc


def _approval_refusal(args: argparse.Namespace) -> str | None:
    # The runbook's FAQ: P1/P2 are the on-call engineer's call; P3 and below need the team lead.
    if getattr(args, "severity", "P2") in ("P3", "P4") and not (getattr(args, "approved_by", "") or "").strip():
        return f"a {args.severity} rollback needs the team lead's approval: pass --approved-by NAME"
    return None


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


def _refused_by_lock(out: TextIO, ctx: Any, exc: Any) -> int:
    _print(out, f"REFUSED: another rollback of {ctx.env.name} is running: {exc.holder.describe()}")
    _print(out, "nothing was changed (if that run is dead, break its lock: rollback-cockpit lock break --reason TEXT)")
    return EXIT_REFUSED


async def _execute(args: argparse.Namespace, ctx: Any, aws: Any, plan: Any, caller: str, out: TextIO) -> int:
    from rollback_cockpit.actions import lock
    from rollback_cockpit.actions.rollback import RollbackRun
    from rollback_cockpit.runbook.journal import Journal

    journal = Journal.create(ctx.state_dir, ctx.clock)
    rollback = RollbackRun(aws, ctx.env, ctx.clock, journal, f"{ctx.local_user} ({caller})")
    # The lock first: a second operator is refused before anything is written or changed.
    try:
        await rollback.take_lock()
    except lock.LockHeld as exc:
        return _refused_by_lock(out, ctx, exc)
    try:
        rollback.start(
            environment=ctx.env.name,
            region=ctx.env.region,
            operator={"local_user": ctx.local_user, "aws_identity": caller},
            mode="simulate" if ctx.simulate else "aws",
            kind="app",
            reason=args.reason or "operator decision (headless run)",
            severity=args.severity,
            approved_by=args.approved_by or None,
            services=args.services or [],
            to=args.to,
        )
        return await _run_plan(args, ctx, rollback, plan, out)
    finally:
        await _release(rollback, out)
        journal.close()


async def _resume(args: argparse.Namespace, ctx: Any, aws: Any, out: TextIO) -> int:
    from rollback_cockpit.actions import lock
    from rollback_cockpit.actions.rollback import NothingToResume, RollbackRun, find_resumable, resume_point
    from rollback_cockpit.runbook import events as ev
    from rollback_cockpit.runbook import journal as jr

    try:
        path = find_resumable(args.resume, ctx.state_dir)
        events = jr.read(path)
        if not events:
            raise NothingToResume(f"{path} holds no events")
        recorded = events[0].data.get("environment")
        if recorded and recorded != ctx.env.name:
            raise NothingToResume(f"run {events[0].run_id} rolled back {recorded}, not {ctx.env.name}")
        point = resume_point(events, ctx.env, ctx.clock)
    except (FileNotFoundError, jr.JournalError, NothingToResume, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    plan = point.plan
    _print_plan(out, plan, ctx)
    _print(out, f"resuming run {events[0].run_id}: {len(point.done)} of {len(plan.steps)} step(s) done before it stopped")
    for sid in point.interrupted:
        _print(out, f"  {sid} was running when it stopped: AWS is asked whether it got there")
    refusal = confirmation_refusal(args, ctx, "roll back", "a rollback")
    if refusal:
        _print(out, f"REFUSED: {refusal}")
        _print(out, "nothing was changed")
        return EXIT_REFUSED
    caller = await operator_identity(aws)
    journal = jr.Journal.reopen(path, ctx.clock)
    rollback = RollbackRun(aws, ctx.env, ctx.clock, journal, f"{ctx.local_user} ({caller})", history=events)
    try:
        await rollback.take_lock()  # its own lock (same run id) is taken again, anyone else's refuses
    except lock.LockHeld as exc:
        return _refused_by_lock(out, ctx, exc)
    try:
        journal.append(
            ev.NOTE,
            text=f"resumed by {ctx.local_user} ({caller})",
            resumed=True,
            done=point.done,
            interrupted=point.interrupted,
        )
        return await _run_plan(args, ctx, rollback, plan, out)
    finally:
        await _release(rollback, out)
        journal.close()


async def _release(rollback: Any, out: TextIO) -> None:
    try:  # a no-op when the run gave the lock back itself; after a failure it frees it
        await rollback.release_lock()
    except Exception as exc:  # the rollback's outcome stands; the operator must free the lock by hand
        _print(out, f"warning: could not release the lock: {exc} (rollback-cockpit lock break --reason TEXT)")


async def _run_plan(args: argparse.Namespace, ctx: Any, rollback: Any, plan: Any, out: TextIO) -> int:
    from rollback_cockpit.runbook import events as ev
    from rollback_cockpit.runbook.journal import JournalError
    from rollback_cockpit.tui.context import resume_command

    clock = ctx.clock
    journal = rollback.journal
    abort = asyncio.Event()
    _on_signals(abort, journal, out)
    started = clock.time()
    _print(out, f"running (journal {journal.path}); Ctrl-C stops new steps from starting")
    try:
        async for event in rollback.execute(plan, abort=abort):
            line = _event_line(event, clock.time() - started)
            if line:
                _print(out, line)
    except JournalError:
        raise  # nothing more can be recorded
    except Exception as exc:  # a bug, not an AWS answer: still close the journal with a result
        rollback.finish(error=f"{type(exc).__name__}: {exc}")
        raise
    result = rollback.outcome
    if not result.changed and result.result == "success":
        _print(out, "already at target: nothing was changed")
    # A signal only matters if it kept a step from starting: when every step had
    # already started and then finished, the rollback is complete — validate and
    # finish it, there is nothing left to resume.
    stopped = rollback.cut_short
    if stopped:
        _print(out, f"stopped between steps; continue with: {resume_command(ctx.env, journal.run_id)}")
    elif not args.no_validate:
        _print(out, "validation:")
        async for r in rollback.validate():
            _print(out, f"  {r.line()}")
    await rollback.release_lock()
    if stopped:
        journal.append(ev.NOTE, text=f"stopped between steps; resume with: {resume_command(ctx.env, journal.run_id)}")
    else:
        rollback.finish()
    _print(out, f"result: {result.result}" + "".join(f"\n  {r}: {o}" for r, o in result.per_resource.items()))
    _print(out, f"journal: {journal.path}")
    _write_reports(args, ctx, journal, out)
    return EXIT_OK if result.ok and not rollback.validation_failed and not stopped else EXIT_FAILED


def _on_signals(abort: asyncio.Event, journal: Any, out: TextIO) -> None:
    """Ctrl-C, SIGTERM and a lost SSH session (SIGHUP) stop new steps; running ones finish.

    Each is journaled. A stopped run is left unfinished on purpose, so that
    ``--resume`` can continue it; a second Ctrl-C interrupts for real.
    """
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        from rollback_cockpit.runbook import events as ev

        name = signal.Signals(signum).name
        if signum == signal.SIGINT:
            loop.remove_signal_handler(signal.SIGINT)
        abort.set()
        journal.append(ev.SIGNAL_RECEIVED, signal=name)
        _print(out, f"{name}: no new step will start; running steps finish" + (" (Ctrl-C again to quit now)" if signum == signal.SIGINT else ""))

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            loop.add_signal_handler(signum, stop, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
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


def _write_reports(args: argparse.Namespace, ctx: Any, journal: Any, out: TextIO) -> None:
    from rollback_cockpit.runbook import report

    events = list(journal.events)
    md_path = args.report or (ctx.state_dir / "reports" / f"{journal.run_id}.md")
    report.write_file(md_path, report.render(events, fmt="md", lang=args.lang))
    _print(out, f"report: {md_path}")
    if args.json_path:
        report.write_file(args.json_path, report.render(events, fmt="json", lang=args.lang))
        _print(out, f"json report: {args.json_path}")
