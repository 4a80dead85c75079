"""The cockpit against the rehearsal world (read-only tests share one world)."""

from __future__ import annotations

import pytest

from rollback_cockpit.runbook import events as ev
from rollback_cockpit.tui.widgets.checklist import ChecklistPanel
from rollback_cockpit.tui.widgets.header import ClockLine
from rollback_cockpit.tui.widgets.metrics import MetricRow

from .helpers import SIZES, events_of, make_app, settle, world_context


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    state = tmp_path_factory.mktemp("world-state")
    with world_context(state, speed=60.0) as ctx:
        yield ctx


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_metrics_appear_and_a_breach_starts_the_decision_clock(world, state_dir, size):
    app = make_app(world, state_dir)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        row = app.screen.query_one("#metric-error-rate-percent", MetricRow)
        text = str(row.query_one(".metric-text").render())
        # The bad deploy is live: the error rate is over 5 % and its window has filled.
        assert "error rate" in text and "> 5 %" in text and "BREACHED" in text, text
        assert " of 5:00" in text  # the sustain-window progress
        assert row._view is not None and len(row._view.series) >= 10
        detected = events_of(app, ev.DETECTED)
        assert len(detected) == 1 and detected[0].data["trigger"] in ("error_rate_percent", "p95_seconds")
        clock_line = str(app.screen.query_one(ClockLine).render())
        assert "decide within" in clock_line or "OVERDUE" in clock_line, clock_line
        assert "sim " in clock_line
        # The operator's AWS identity joined the local user once STS answered.
        assert "arn:aws:sts::" in str(app.screen.query_one("#identity").visual)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_ticking_a_checklist_item_journals_who_and_when(world, state_dir, size):
    app = make_app(world, state_dir)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        panel = app.screen.query_one(ChecklistPanel)
        assert panel.has_focus
        panel.highlighted = panel.get_option_index("pre.impact")
        await pilot.press("space")
        await pilot.pause()
        ticks = [e for e in events_of(app, ev.CHECKLIST_TICKED) if e.data["item"] == "impact"]
        assert len(ticks) == 1
        assert ticks[0].data == {"phase": "pre", "item": "impact", "by": "alice (arn:aws:sts::123456789012:user/moto)",
                                 "evidence": "", "auto": False}
        prompt = str(panel.get_option("pre.impact").prompt)
        assert prompt.startswith("[x] 影響範囲の特定") and "alice" in prompt
        # Ticking it again does not write a second event.
        await pilot.press("space")
        await pilot.pause()
        assert len([e for e in events_of(app, ev.CHECKLIST_TICKED) if e.data["item"] == "impact"]) == 1


async def test_mark_detected_and_decide_no_rollback_are_journaled(world, state_dir):
    app = make_app(world, state_dir, services=None)
    app.services.sample = None  # no breach: the operator detects by hand
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await pilot.pause()
        assert [e.data["trigger"] for e in events_of(app, ev.DETECTED)] == ["operator"]
        assert "decide within 15:00" in str(app.screen.query_one(ClockLine).render()) or "decide within 14:" in str(
            app.screen.query_one(ClockLine).render()
        )
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("end", "enter")  # "no rollback"
        await pilot.press(*"false alarm")
        await pilot.press("enter")
        await pilot.pause()
        decisions = events_of(app, ev.DECISION_TAKEN)
        assert [(d.data["kind"], d.data["reason"]) for d in decisions] == [("none", "false alarm")]
        assert "decided: no rollback" in str(app.screen.query_one(ClockLine).render())


async def test_production_needs_the_typed_environment_name(world, state_dir):
    app = make_app(world, state_dir, simulate=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "PRODUCTION" in str(app.screen.query_one("#mode-banner").render())
        await pilot.press("3", "enter")
        await settle(app, pilot)
        assert app.screen.plan is not None
        await pilot.press("x")  # open pre items: an override with a reason comes first
        await pilot.pause()
        await pilot.press(*"drill", "enter")
        await pilot.pause()
        assert [e.data["reason"] for e in events_of(app, ev.CHECKLIST_OVERRIDDEN)] == ["drill"]
        # "y" does not confirm on production, a wrong name neither.
        await pilot.press("y")
        await pilot.press(*"lightningtalk", "enter")
        await pilot.pause()
        assert "that is not lightningtalk-prod" in str(app.screen.query_one(".dialog-error").render())
        assert app.screen.query_one("#typed") and not events_of(app, ev.STEP_STARTED)
        await pilot.press("escape")
        await pilot.pause()
        assert not events_of(app, ev.LOCK_TAKEN) and not events_of(app, ev.PLAN_SHOWN)


async def test_a_held_lock_is_shown_and_the_app_goes_on(world, state_dir):
    from rollback_cockpit.actions import lock
    from rollback_cockpit.aws.session import Aws

    app = make_app(world, state_dir)
    async with Aws(world.aws_settings) as aws:
        await lock.acquire(aws, world.env, "bob", "other-run", world.clock)
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                await settle(app, pilot)
                await pilot.press("3", "enter")
                await settle(app, pilot)
                await pilot.press("x", *"drill", "enter")
                await pilot.pause()
                await pilot.press("y")
                await settle(app, pilot)
                status = str(app.screen.query_one("#action-status").render())
                # A refusal, not a failure: nothing was changed.
                assert "not executed: another rollback is running: locked by bob" in status, status
                assert not [e for e in events_of(app, ev.NOTE) if "rollback stopped" in e.data.get("text", "")]
                assert app.is_running and not app.screen.rollback_running
                assert not events_of(app, ev.STEP_STARTED)
        finally:
            await lock.release(aws, world.env, "other-run")
