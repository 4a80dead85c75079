"""The step mechanism every rollback kind is built from.

A rollback is a :class:`Plan`: data the operator reads before anything
changes (a diff of current → target, warnings, refusals) and the
:class:`Step` objects that make the change. :func:`execute` runs the steps:
independent ones concurrently, dependent ones in order, each only if
``is_done`` says it is not already at its target (so a re-run or a resume
changes nothing twice). Every event is appended to the journal before it is
yielded, so the operator never sees something the journal does not hold.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rollback_cockpit.aws.errors import explain
from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.runbook.events import Event
from rollback_cockpit.runbook.journal import Journal, JournalError

ALREADY_AT_TARGET = "already at target"

# Per-resource outcomes (run_finished.per_resource) and overall results.
ROLLED_BACK = "rolled_back"
AT_TARGET = "already_at_target"
FAILED = "failed"
NOT_RUN = "not_run"
SUCCESS, PARTIAL, RESULT_FAILED, ABORTED = "success", "partial", "failed", "aborted"

Progress = Callable[..., None]


class StepFailed(Exception):
    """A step's own verdict that it did not reach its target (not an AWS error)."""

    def __init__(self, message: str, hint: str = "", **evidence: Any):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.evidence = evidence


class PlanInputError(ValueError):
    """The operator asked for something the environment does not have (a usage error)."""


def refuse_if_missing(plan: Plan, exc: BaseException, *, action: str, resource: str) -> None:
    """A planning read failed: a missing resource refuses the plan (exit 3, nothing
    changed); any other failure (unreachable, denied, throttled) is raised as the
    AWS problem it is (exit 1), never dressed up as a guardrail."""
    from rollback_cockpit.aws.errors import NOT_FOUND

    problem = explain(exc, action=action, resource=resource)
    if problem.kind != NOT_FOUND:
        raise problem from exc
    plan.refusals.append(problem.line())


class PlanRefused(Exception):
    """execute() was handed a plan with refusals."""


@dataclass(frozen=True)
class DiffRow:
    resource: str
    field: str
    current: str
    target: str

    def to_json(self) -> dict[str, str]:
        return {"resource": self.resource, "field": self.field, "current": self.current, "target": self.target}


# Every Step class with a TYPE, so a plan can be rebuilt from its journal.
STEP_TYPES: dict[str, type[Step]] = {}


class Step:
    """One idempotent change. Subclasses set ``id``/``resource`` and override the three methods.

    ``TYPE`` names the class in the journal and ``PARAMS`` the constructor
    arguments recorded there: a plan interrupted by a crash is rebuilt from
    exactly what was shown and confirmed (:func:`plan_from_json`), never
    planned again from an AWS that is half-way to the target.
    """

    TYPE: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[str, ...]] = ()
    id: str
    resource: str
    depends_on: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.TYPE:
            STEP_TYPES[cls.TYPE] = cls

    def params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.PARAMS}

    @classmethod
    def from_params(cls, params: dict[str, Any], env: Any, clock: Clock) -> Step:
        """Rebuild from the journal; steps that need the environment or the clock override this."""
        return cls(**params)

    def describe(self) -> str:
        raise NotImplementedError

    async def is_done(self, aws: Any) -> bool:
        """Read AWS: is the resource already where this step would put it?"""
        raise NotImplementedError

    async def run(self, aws: Any, progress: Progress) -> dict[str, Any]:
        """Make the one change; return evidence (ids, before/after, request id)."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.TYPE,
            "params": self.params(),
            "resource": self.resource,
            "describe": self.describe(),
            "depends_on": list(self.depends_on),
        }


@dataclass
class Plan:
    kind: str
    environment: str
    steps: list[Step] = field(default_factory=list)
    diff: list[DiffRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Reasons the plan must not run; a plan with any is shown, never executed.
    refusals: list[str] = field(default_factory=list)

    @property
    def resources(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.steps:
            seen.setdefault(s.resource)
        return list(seen)

    def extend(self, other: Plan) -> None:
        """Merge a part (one resource family) into this plan."""
        self.steps += other.steps
        self.diff += other.diff
        self.warnings += other.warnings
        self.refusals += other.refusals

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "environment": self.environment,
            "steps": [s.to_json() for s in self.steps],
            "diff": [d.to_json() for d in self.diff],
            "warnings": list(self.warnings),
            "refusals": list(self.refusals),
        }

    def check(self) -> None:
        ids = [s.id for s in self.steps]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate step ids: {sorted(dup)}")
        unknown = {d for s in self.steps for d in s.depends_on if d not in ids}
        if unknown:
            raise ValueError(f"steps depend on unknown steps: {sorted(unknown)}")
        # A cycle would leave steps pending forever.
        order: list[str] = []
        pending = {s.id: set(s.depends_on) for s in self.steps}
        while pending:
            ready = [i for i, deps in pending.items() if deps <= set(order)]
            if not ready:
                raise ValueError(f"steps depend on each other in a cycle: {sorted(pending)}")
            order += ready
            for i in ready:
                del pending[i]


def plan_from_json(data: dict[str, Any], env: Any, clock: Clock) -> Plan:
    """The plan a journal recorded (its ``plan_shown`` event), with live Step objects again."""
    steps: list[Step] = []
    for item in data.get("steps", []):
        cls = STEP_TYPES.get(item.get("type", ""))
        if cls is None:
            raise ValueError(f"the journal names a step of unknown type {item.get('type')!r} ({item.get('id')})")
        step = cls.from_params(dict(item.get("params") or {}), env, clock)
        step.depends_on = tuple(item.get("depends_on") or ())
        steps.append(step)
    return Plan(
        kind=data.get("kind", ""),
        environment=data.get("environment", ""),
        steps=steps,
        diff=[DiffRow(**row) for row in data.get("diff", [])],
        warnings=list(data.get("warnings", [])),
        refusals=list(data.get("refusals", [])),
    )


def same_plan(a: Plan, b: Plan) -> bool:
    """Would ``b`` do exactly what ``a`` showed? (Used to re-check a plan right before it runs.)"""
    def key(p: Plan) -> Any:
        return ([(s.TYPE, s.id, s.params(), tuple(s.depends_on)) for s in p.steps], [d.to_json() for d in p.diff], p.refusals)

    return key(a) == key(b)


@dataclass
class Outcome:
    result: str
    per_resource: dict[str, str]
    changed: bool

    @property
    def ok(self) -> bool:
        return self.result == SUCCESS


def outcome(plan: Plan, events: list[Event]) -> Outcome:
    """success / partial / failed, and what happened to each resource, from the step events."""
    status: dict[str, str] = {}
    for e in events:
        sid = e.data.get("step")
        if sid is None:
            continue
        if e.type == ev.STEP_FINISHED:
            status[sid] = "done"
        elif e.type == ev.STEP_FAILED:
            status[sid] = "failed"
        elif e.type == ev.STEP_SKIPPED:
            if e.data.get("outcome") == "already_done":
                # A resumed pass finds at target what the first pass did: still done.
                status[sid] = "done" if status.get(sid) == "done" else "at_target"
            else:
                status[sid] = "not_run"
    per: dict[str, str] = {}
    aborted = any(e.type == ev.STEP_SKIPPED and e.data.get("outcome") == "aborted" for e in events)
    for resource in plan.resources:
        states = [status.get(s.id, "not_run") for s in plan.steps if s.resource == resource]
        if "failed" in states:
            per[resource] = FAILED
        elif "not_run" in states:
            per[resource] = NOT_RUN
        elif "done" in states:
            per[resource] = ROLLED_BACK
        else:
            per[resource] = AT_TARGET
    good = [r for r, o in per.items() if o in (ROLLED_BACK, AT_TARGET)]
    if len(good) == len(per):
        result = SUCCESS
    elif good:
        result = PARTIAL
    elif aborted and FAILED not in per.values():
        result = ABORTED
    else:
        result = RESULT_FAILED
    return Outcome(result, per, changed=any(v == "done" for v in status.values()))


def step_event_data(step: Step, **data: Any) -> dict[str, Any]:
    return {"step": step.id, "resource": step.resource, "describe": step.describe(), **data}


async def execute(
    plan: Plan,
    aws: Any,
    journal: Journal,
    clock: Clock,
    *,
    abort: asyncio.Event | None = None,
    credentials_poll: float = 15.0,
) -> AsyncIterator[Event]:
    """Run the plan's steps; journal, then yield, every event.

    A failed step stops the steps that depend on it; independent steps go on.
    ``abort`` stops new steps from starting (running ones finish: an AWS
    change half-made is worse than one completed). A JournalError stops
    every new step and is raised once the running ones are done: nothing
    changes that the journal cannot record.
    """
    if plan.refusals:
        raise PlanRefused("; ".join(plan.refusals))
    plan.check()
    by_id = {s.id: s for s in plan.steps}
    # pending | running | done | failed | skipped (at target) | blocked | aborted
    state = dict.fromkeys(by_id, "pending")
    queue: asyncio.Queue[Event | tuple[str, str]] = asyncio.Queue()
    journal_error: list[JournalError] = []

    def emit(type_: str, **data: Any) -> Event:
        try:
            return journal.append(type_, **data)
        except JournalError:
            raise
        except Exception as exc:  # a broken listener or file handle: treat as unrecorded, stop changing
            raise JournalError(f"cannot journal {type_}: {exc}") from exc

    yield emit(ev.PLAN_SHOWN, **plan.to_json())

    async def run_one(step: Step) -> None:
        final = "failed"
        started = clock.time()

        def progress(message: str, **data: Any) -> None:
            queue.put_nowait(emit(ev.STEP_PROGRESS, step=step.id, resource=step.resource, message=message, **data))

        try:
            announced = False
            while True:
                try:
                    try:
                        done = await step.is_done(aws)
                    except StepFailed:
                        raise
                    except Exception as exc:  # a read failed: treat as a step failure, shown as one line
                        raise _Explained(exc, "checking the current state") from exc
                    if done:
                        if announced:  # it got there before the credentials ran out
                            evidence = {"note": "reached its target before the pause"}
                            queue.put_nowait(emit(ev.STEP_FINISHED, **step_event_data(step, evidence=evidence, duration_s=round(clock.time() - started, 3))))
                            final = "done"
                            return
                        queue.put_nowait(emit(ev.STEP_SKIPPED, **step_event_data(step, reason=ALREADY_AT_TARGET, outcome="already_done")))
                        final = "skipped"
                        return
                    if not announced:
                        queue.put_nowait(emit(ev.STEP_STARTED, **step_event_data(step)))
                        announced = True
                    evidence = await step.run(aws, progress)
                    break
                except Exception as exc:
                    if not _credentials_expired(exc) or (abort is not None and abort.is_set()):
                        raise
                    # Expired credentials are the operator's to renew, not a failure of the
                    # rollback: pause this step, say how to log in, go on when they work again.
                    hint = explain(exc.exc if isinstance(exc, _Explained) else exc, profile=getattr(getattr(aws, "settings", None), "profile", None)).hint
                    progress(f"paused: AWS credentials have expired — {hint}; the step continues when they work again", paused=True)
                    if not await wait_for_credentials(aws, abort, credentials_poll):
                        raise StepFailed("stopped while paused for expired AWS credentials", hint) from exc
                    progress("AWS credentials work again: continuing", paused=False)
            queue.put_nowait(
                emit(ev.STEP_FINISHED, **step_event_data(step, evidence=evidence or {}, duration_s=round(clock.time() - started, 3)))
            )
            final = "done"
        except JournalError as exc:
            journal_error.append(exc)
        except Exception as exc:
            message, hint, evidence = _failure(exc, step)
            try:
                queue.put_nowait(
                    emit(
                        ev.STEP_FAILED,
                        **step_event_data(step, error=message, hint=hint, evidence=evidence, duration_s=round(clock.time() - started, 3)),
                    )
                )
            except JournalError as jexc:
                journal_error.append(jexc)
        finally:
            queue.put_nowait((step.id, final))

    tasks: set[asyncio.Task[None]] = set()
    try:
        while True:
            stopping = bool(journal_error) or (abort is not None and abort.is_set())
            # Steps that can never run: a dependency failed or was itself blocked.
            for sid, st in state.items():
                if st != "pending":
                    continue
                bad = [d for d in by_id[sid].depends_on if state[d] in ("failed", "blocked", "aborted")]
                if bad and not journal_error:
                    state[sid] = "blocked"
                    reason = f"not run: it needs {', '.join(bad)}, which did not complete"
                    yield emit(ev.STEP_SKIPPED, **step_event_data(by_id[sid], reason=reason, outcome="blocked"))
            if not stopping:
                for sid, st in state.items():
                    if st == "pending" and all(state[d] in ("done", "skipped") for d in by_id[sid].depends_on):
                        state[sid] = "running"
                        tasks.add(asyncio.create_task(run_one(by_id[sid]), name=f"step:{sid}"))
            if not any(st == "running" for st in state.values()):
                if stopping and not journal_error:
                    for sid, st in state.items():
                        if st == "pending":
                            state[sid] = "aborted"
                            yield emit(ev.STEP_SKIPPED, **step_event_data(by_id[sid], reason="not started: the run was aborted", outcome="aborted"))
                break
            item = await queue.get()
            if isinstance(item, tuple):
                sid, final = item
                state[sid] = final
                tasks = {t for t in tasks if not t.done()}
            else:
                yield item
        while not queue.empty():  # events queued by the last finishing steps
            item = queue.get_nowait()
            if not isinstance(item, tuple):
                yield item
    finally:
        # Never cancel a step mid-change: let running ones finish even if the consumer went away.
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
    if journal_error:
        err = journal_error[0]
        err.run_id = journal.run_id
        err.steps_started = tuple(
            e.data["step"] for e in journal.events if e.type == ev.STEP_STARTED and e.run_id == journal.run_id
        )
        raise err


def _credentials_expired(exc: BaseException) -> bool:
    from rollback_cockpit.aws.errors import EXPIRED

    inner = exc.exc if isinstance(exc, _Explained) else exc
    return not isinstance(inner, StepFailed) and explain(inner).kind == EXPIRED


async def wait_for_credentials(aws: Any, abort: asyncio.Event | None, poll: float) -> bool:
    """Wait (wall time) until STS accepts the credentials again; False if aborted first.

    The clients are rebuilt before each try, so credentials renewed outside
    (``aws sso login``, a refreshed profile) are picked up.
    """
    while True:
        if abort is not None and abort.is_set():
            return False
        try:
            aws.reset()
            sts = await aws.client("sts")
            await sts.get_caller_identity()
            return True
        except Exception as exc:
            if not _credentials_expired(exc) and explain(exc).kind != "credentials":
                return True  # another fault: let the step meet it and say so
        if abort is None:
            await asyncio.sleep(poll)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(abort.wait(), poll)


class _Explained(Exception):
    def __init__(self, exc: BaseException, doing: str):
        super().__init__(str(exc))
        self.exc = exc
        self.doing = doing


def _failure(exc: BaseException, step: Step) -> tuple[str, str, dict[str, Any]]:
    if isinstance(exc, StepFailed):
        return exc.message, exc.hint, exc.evidence
    doing = None
    if isinstance(exc, _Explained):
        doing, exc = exc.doing, exc.exc
    problem = explain(exc, resource=step.resource)
    message = problem.message if not doing else f"{problem.message} (while {doing})"
    return message, problem.hint, {}
