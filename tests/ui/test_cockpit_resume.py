"""`rollback-cockpit --resume`: a run interrupted mid-way is continued from its journal."""

from __future__ import annotations

import asyncio

import pytest

from rollback_cockpit.actions.app import plan_app
from rollback_cockpit.actions.rollback import RollbackRun
from rollback_cockpit.aws.session import Aws
from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook import journal as jr
from rollback_cockpit.tui.screens.dialogs import ConfirmScreen

from .helpers import events_of, make_app, settle, world_context


@pytest.fixture
def world(tmp_path):
    with world_context(tmp_path / "world", speed=60.0) as ctx:
        yield ctx


async def interrupted_run(ctx, state_dir) -> jr.Journal:
    """A headless run that stops after the first ECS update, as if the SSH session dropped."""
    async with Aws(ctx.aws_settings) as aws:
        plan = await plan_app(aws, ctx.env, ctx.clock)
        journal = jr.Journal.create(state_dir, ctx.clock)
        run = RollbackRun(aws, ctx.env, ctx.clock, journal, "bob")
        await run.take_lock()
        run.start(environment=ctx.env.name, region=ctx.env.region, operator={"local_user": "bob"}, mode="simulate", kind="app")
        abort = asyncio.Event()
        async for e in run.execute(plan, abort=abort):
            if e.type == ev.STEP_FINISHED and e.data["step"].startswith("ecs-update:"):
                abort.set()
        journal.close()  # no run_finished, and the lock is still held: a crash
    return journal


@pytest.mark.slow  # a world of its own, then the rest of the rollback and validation
async def test_resumed_cockpit_continues_the_plan_to_the_end(world, state_dir):
    first = await interrupted_run(world, state_dir)
    before = jr.read(first.path)
    done_before = {e.data["step"] for e in before if e.type == ev.STEP_FINISHED}
    assert done_before and len(done_before) < 7

    app = make_app(world, state_dir, journal=jr.Journal.reopen(first.path, world.clock), resumed=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert screen.resumed and screen.plan is not None and len(screen.plan.steps) == 7
        await pilot.press("x", *"resuming after a dropped session", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        await settle(app, pilot)
        assert [e.data["result"] for e in events_of(app, ev.RUN_FINISHED)] == ["success"]

    events = jr.read(first.path)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # one continuous journal
    assert [e.type for e in events].count(ev.RUN_STARTED) == 1
    resumed_at = next(i for i, e in enumerate(events) if e.type == ev.NOTE and e.data.get("resumed"))
    after = events[resumed_at:]
    # What finished before the interruption is found at target, not done twice.
    skipped = {e.data["step"] for e in after if e.type == ev.STEP_SKIPPED}
    assert done_before <= skipped
    assert not done_before & {e.data["step"] for e in after if e.type == ev.STEP_STARTED}
    assert events[-1].type == ev.RUN_FINISHED
    assert ev.LOCK_RELEASED in [e.type for e in after]
