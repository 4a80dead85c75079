"""The step mechanism itself: dependencies, concurrency, abort, partial failure, journal first."""

from __future__ import annotations

import asyncio

import pytest

from rollback_cockpit.actions.steps import Plan, PlanRefused, Step, StepFailed, execute, outcome
from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook.journal import Journal, JournalError


class Recorder(Step):
    """A step that records the order things happen in; it can wait, fail, or be already done."""

    def __init__(self, id, resource, log, *, depends_on=(), done=False, fail=None, gate=None, opens=None):
        self.id = id
        self.resource = resource
        self.depends_on = tuple(depends_on)
        self.log = log
        self.done = done
        self.fail = fail
        self.gate = gate
        self.opens = opens

    def describe(self):
        return f"step {self.id}"

    async def is_done(self, aws):
        return self.done

    async def run(self, aws, progress):
        self.log.append(f"start {self.id}")
        if self.opens is not None:
            self.opens.set()
        if self.gate is not None:
            await self.gate.wait()
        progress(f"{self.id} halfway", pct=50)
        if self.fail:
            raise self.fail
        self.log.append(f"end {self.id}")
        return {"id": self.id}


async def collect(plan, journal, clock, **kw):
    return [e async for e in execute(plan, None, journal, clock, **kw)]


async def test_independent_steps_run_concurrently(journal, fast_clock):
    log = []
    a_started, b_started = asyncio.Event(), asyncio.Event()
    # a cannot finish until b has started and vice versa: only concurrency gets through.
    a = Recorder("a", "r1", log, gate=b_started, opens=a_started)
    b = Recorder("b", "r2", log, gate=a_started, opens=b_started)
    events = await asyncio.wait_for(collect(Plan("app", "env", [a, b]), journal, fast_clock), 5)
    assert outcome(Plan("app", "env", [a, b]), events).result == "success"
    assert sorted(log[:2]) == ["start a", "start b"]


async def test_dependents_run_in_order(journal, fast_clock):
    log = []
    steps = [Recorder("c", "r", log, depends_on=["b"]), Recorder("b", "r", log, depends_on=["a"]), Recorder("a", "r", log)]
    await collect(Plan("app", "env", steps), journal, fast_clock)
    assert log == ["start a", "end a", "start b", "end b", "start c", "end c"]


async def test_every_event_is_journaled_before_it_is_yielded(journal, fast_clock):
    seen = []

    async def consume():
        async for e in execute(Plan("app", "env", [Recorder("a", "r", [])]), None, journal, fast_clock):
            # At the moment the consumer sees an event, the journal file already holds it.
            on_disk = journal.path.read_text().splitlines()
            assert f'"seq":{e.seq},' in on_disk[e.seq - 1]
            seen.append(e.type)

    await consume()
    assert seen == [ev.PLAN_SHOWN, ev.STEP_STARTED, ev.STEP_PROGRESS, ev.STEP_FINISHED]
    progress = journal.events[2].data
    assert progress["message"] == "a halfway" and progress["pct"] == 50


async def test_already_done_steps_are_skipped(journal, fast_clock):
    log = []
    plan = Plan("app", "env", [Recorder("a", "r", log, done=True), Recorder("b", "r", log, depends_on=["a"])])
    events = await collect(plan, journal, fast_clock)
    skipped = [e for e in events if e.type == ev.STEP_SKIPPED]
    assert [(e.data["step"], e.data["reason"]) for e in skipped] == [("a", "already at target")]
    assert log == ["start b", "end b"]
    assert outcome(plan, events).per_resource == {"r": "rolled_back"}


async def test_a_failed_branch_gives_partial(journal, fast_clock):
    log = []
    plan = Plan(
        "app",
        "env",
        [
            Recorder("a1", "ra", log, fail=StepFailed("it broke", "do this")),
            Recorder("a2", "ra", log, depends_on=["a1"]),
            Recorder("b1", "rb", log),
            Recorder("b2", "rb", log, depends_on=["b1"]),
        ],
    )
    events = await collect(plan, journal, fast_clock)
    failed = [e for e in events if e.type == ev.STEP_FAILED]
    assert [(e.data["step"], e.data["error"], e.data["hint"]) for e in failed] == [("a1", "it broke", "do this")]
    blocked = [e for e in events if e.type == ev.STEP_SKIPPED]
    assert [(e.data["step"], e.data["outcome"]) for e in blocked] == [("a2", "blocked")]
    assert "end b2" in log and "start a2" not in log
    result = outcome(plan, events)
    assert result.result == "partial"
    assert result.per_resource == {"ra": "failed", "rb": "rolled_back"}


async def test_an_aws_error_is_one_readable_line(journal, fast_clock):
    from botocore.exceptions import ClientError

    err = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "UpdateService")
    events = await collect(Plan("app", "env", [Recorder("a", "ecs:api", [], fail=err)]), journal, fast_clock)
    failed = next(e for e in events if e.type == ev.STEP_FAILED)
    assert failed.data["error"] == "AWS denied UpdateService on ecs:api"
    assert "permission" in failed.data["hint"]
    assert "\n" not in failed.data["error"]


async def test_abort_lets_running_steps_finish_and_starts_no_new_one(journal, fast_clock):
    log = []
    abort = asyncio.Event()
    release = asyncio.Event()
    plan = Plan("app", "env", [Recorder("a", "r", log, gate=release), Recorder("b", "r", log, depends_on=["a"])])
    events = []
    async for e in execute(plan, None, journal, fast_clock, abort=abort):
        events.append(e)
        if e.type == ev.STEP_STARTED and e.data["step"] == "a":
            abort.set()
            release.set()
    assert log == ["start a", "end a"]
    assert [(e.data["step"], e.data["outcome"]) for e in events if e.type == ev.STEP_SKIPPED] == [("b", "aborted")]
    assert outcome(plan, events).per_resource == {"r": "not_run"}


async def test_a_journal_that_cannot_be_written_changes_nothing(state_dir, fast_clock):
    log = []
    journal = Journal.create(state_dir, fast_clock)
    journal.path.mkdir()  # unwritable even for root: the journal "file" is a folder
    with pytest.raises(JournalError):
        await collect(Plan("app", "env", [Recorder("a", "r", log)]), journal, fast_clock)
    assert log == []


async def test_a_journal_failure_mid_run_stops_new_steps(journal, fast_clock):
    log = []

    def break_after_first_finish(e):
        if e.type == ev.STEP_FINISHED:
            journal._fh = open(journal.path, "rb")  # the disk goes away: the next write fails

    journal.subscribe(break_after_first_finish)
    plan = Plan("app", "env", [Recorder("a", "r", log), Recorder("b", "r", log, depends_on=["a"])])
    with pytest.raises(JournalError):
        await collect(plan, journal, fast_clock)
    assert "start b" not in log


async def test_refused_plans_and_bad_graphs_do_not_run(journal, fast_clock):
    with pytest.raises(PlanRefused):
        await collect(Plan("app", "env", [Recorder("a", "r", [])], refusals=["no"]), journal, fast_clock)
    with pytest.raises(ValueError, match="cycle"):
        cyc = [Recorder("a", "r", [], depends_on=["b"]), Recorder("b", "r", [], depends_on=["a"])]
        await collect(Plan("app", "env", cyc), journal, fast_clock)
    assert journal.events == []
