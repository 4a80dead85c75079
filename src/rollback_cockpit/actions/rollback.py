"""One rollback run, the same for every front end (the cockpit and ``run``).

Around a plan's steps a run does the same things whoever drives it: take the
environment lock, tick the "during" checklist from what happens, execute,
validate (journaling each result and ticking the post checklist), give the
lock back and journal the result. The cockpit and the headless command only
present it. Resuming after a crash is the same run again, continued from its
journal: the plan is rebuilt from what the journal recorded and every step
asks AWS whether it is already done.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from rollback_cockpit.actions import lock
from rollback_cockpit.actions.steps import Outcome, Plan, execute, outcome, plan_from_json
from rollback_cockpit.runbook import checklists
from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.runbook.events import Event
from rollback_cockpit.runbook.journal import Journal, JournalError

AUTO_BY = "rollback-cockpit"


class NothingToResume(Exception):
    """The journal holds no plan that ran, or the run already finished."""


@dataclass(frozen=True)
class ResumePoint:
    plan: Plan
    done: list[str]  # step ids already finished or at target
    interrupted: list[str]  # step ids started and never finished


def find_resumable(ref: str, state_dir: Any) -> Any:
    """The journal to resume: a run id or path, or "last" = the newest run that
    started a plan and never finished (not merely the newest journal: a lock
    break or a cockpit session that never planned is not a rollback to resume)."""
    from rollback_cockpit.runbook import journal as jr

    if ref != "last":
        return jr.find_run(ref, state_dir)
    folder = jr.runs_dir(state_dir)
    for path in sorted(folder.glob("*.jsonl"), reverse=True):
        try:
            types = {e.type for e in jr.read(path)}
        except jr.JournalError:
            continue
        if ev.PLAN_SHOWN in types and ev.RUN_FINISHED not in types:
            return path
    raise FileNotFoundError(f"no unfinished rollback run in {folder}")


def resume_point(events: list[Event], env: Any, clock: Clock) -> ResumePoint:
    """Where a crashed run stands, from its journal alone."""
    finished = [e for e in events if e.type == ev.RUN_FINISHED]
    if finished:
        result = finished[-1].data.get("result", "?")
        raise NothingToResume(f"run {events[0].run_id} already finished (result: {result}); nothing to resume")
    shown = [e for e in events if e.type == ev.PLAN_SHOWN]
    if not shown:
        raise NothingToResume(f"run {events[0].run_id if events else '?'} never started a plan; nothing to resume")
    plan = plan_from_json(shown[-1].data, env, clock)
    status: dict[str, str] = {}
    for e in events:
        sid = e.data.get("step")
        if sid and e.type in (ev.STEP_STARTED, ev.STEP_FINISHED, ev.STEP_SKIPPED, ev.STEP_FAILED):
            status[sid] = e.type
    done = [s.id for s in plan.steps if status.get(s.id) in (ev.STEP_FINISHED, ev.STEP_SKIPPED)]
    interrupted = [s.id for s in plan.steps if status.get(s.id) == ev.STEP_STARTED]
    return ResumePoint(plan, done, interrupted)


class RollbackRun:
    """The lock, the steps, validation and the result of one run, all journaled first."""

    def __init__(self, aws: Any, env: Any, clock: Clock, journal: Journal, operator: str, *, history: list[Event] = ()):
        """``history``: the events of the same run before a resume, so the result covers the whole run."""
        self.aws = aws
        self.env = env
        self.clock = clock
        self.journal = journal
        self.operator = operator
        self.plan: Plan | None = None
        self.step_events: list[Event] = [e for e in history if e.data.get("step")]
        self.results: list[Any] = []
        self.finished_at: float | None = None
        self.lock_info: Any = None
        self.cut_short = False

    # -- the lock -----------------------------------------------------------
    async def take_lock(self) -> Any:
        """Raises lock.LockHeld (naming the holder) when someone else holds it: nothing changed.

        Before :meth:`start` nothing is journaled yet (a refused attempt leaves
        no journal); the lock is then recorded right after ``run_started``.
        """
        self.lock_info = await lock.acquire(self.aws, self.env, self.operator, self.journal.run_id, self.clock)
        if self.journal.events:
            self.journal.append(ev.LOCK_TAKEN, **self.lock_info.to_json())
        return self.lock_info

    def start(self, **data: Any) -> Event:
        """Journal ``run_started`` (headless runs; the cockpit starts its journal itself)."""
        first = self.journal.append(ev.RUN_STARTED, **data)
        if self.lock_info is not None:
            self.journal.append(ev.LOCK_TAKEN, **self.lock_info.to_json())
        return first

    async def release_lock(self) -> bool:
        if self.lock_info is None:
            return False
        released = await lock.release(self.aws, self.env, self.journal.run_id)
        self.lock_info = None
        if released and self.journal.events:
            try:
                self.journal.append(ev.LOCK_RELEASED, parameter=lock.lock_parameter(self.env))
            except JournalError:
                pass  # the lock is free; the journal's failure is reported where it first happened
        return released

    # -- the steps ----------------------------------------------------------
    def tick(self, phase: str, item: str, evidence: str) -> None:
        """Tick an item the run itself proves, once."""
        if (phase, item) not in checklists.state_from_events(self.journal.events):
            self.journal.append(ev.CHECKLIST_TICKED, phase=phase, item=item, by=AUTO_BY, evidence=evidence, auto=True)

    async def execute(self, plan: Plan, *, abort: asyncio.Event | None = None, credentials_poll: float = 15.0) -> AsyncIterator[Event]:
        self.plan = plan
        self.tick("during", "start_recorded", f"run {self.journal.run_id}")
        self.cut_short = False
        async for event in execute(plan, self.aws, self.journal, self.clock, abort=abort, credentials_poll=credentials_poll):
            self.step_events.append(event)
            if event.type == ev.STEP_SKIPPED and event.data.get("outcome") == "aborted":
                self.cut_short = True  # a stop kept this step from starting: the run can be resumed
            if event.type == ev.STEP_FAILED:
                self.tick("during", "errors_recorded", str(event.data.get("error", ""))[:200])
            yield event
        self.finished_at = self.clock.time()
        result = self.outcome
        if result.result == "success":
            self.tick("during", "steps_confirmed", f"{len(plan.steps)} step(s), every resource at target")
        if not any(e.type == ev.STEP_FAILED for e in self.step_events):
            self.tick("during", "errors_recorded", "no step failed; every step's outcome is in the journal")

    @property
    def outcome(self) -> Outcome:
        assert self.plan is not None, "execute() first"
        return outcome(self.plan, self.step_events)

    # -- validation ---------------------------------------------------------
    async def validate(self, *, deep: bool = False, progress: Callable[..., None] | None = None) -> AsyncIterator[Any]:
        """Post-rollback validation, each result journaled, then the post items it proves."""
        from rollback_cockpit.checks.validation import run_validation

        self.results = []
        async for r in run_validation(self.aws, self.env, self.clock, deep=deep, progress=progress, since=self.finished_at):
            self.journal.append(
                ev.VALIDATION_RESULT,
                check=r.check,
                name=r.name,
                status=r.status,
                summary=r.summary,
                details=list(r.details),
                evidence=r.evidence,
            )
            self.results.append(r)
            yield r
        for item_id, evidence in checklists.post_ticks_from_validation(self.results):
            self.tick("post", item_id, evidence)

    @property
    def validation_counts(self) -> dict[str, int]:
        from rollback_cockpit.checks.results import summarize

        return {status: n for status, n in summarize(self.results).items() if n}

    @property
    def validation_failed(self) -> bool:
        return not all(r.ok for r in self.results)

    # -- the end ------------------------------------------------------------
    def finish(self, **extra: Any) -> Event:
        if self.plan is None:
            return self.journal.append(ev.RUN_FINISHED, result="none", **extra)
        result = self.outcome
        return self.journal.append(
            ev.RUN_FINISHED,
            result=result.result,
            per_resource=result.per_resource,
            changed=result.changed,
            validation=self.validation_counts,
            **extra,
        )
