"""A Type A rollback launched through the cockpit, to the end, in its own rehearsal world."""

from __future__ import annotations

import json

import pytest

from rollback_cockpit.runbook import checklists
from rollback_cockpit.runbook import events as ev
from rollback_cockpit.tui.screens.dialogs import ConfirmScreen
from rollback_cockpit.tui.widgets.validation import ValidationPanel

from .helpers import events_of, make_app, settle, world_context


@pytest.fixture
def world(tmp_path):
    with world_context(tmp_path / "world", speed=60.0) as ctx:
        yield ctx


@pytest.mark.slow  # ~30 s: a world of its own, the rollback, then full validation
async def test_type_a_rollback_validation_post_ticks_and_report(world, state_dir):
    app = make_app(world, state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("3", "enter")
        await settle(app, pilot)
        assert app.screen.plan is not None and app.screen.plan.steps
        await pilot.press("x", *"rehearsal drill", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)  # SIMULATE: a simple yes/no
        await pilot.press("y")
        await pilot.pause()
        assert app.screen.rollback_running

        # Quitting mid-rollback asks first, and the answer is journaled.
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("n")
        await pilot.pause()
        assert [e.data["quit_answer"] for e in events_of(app, ev.NOTE) if "quit_answer" in e.data] == ["stay"]

        # The rollback, then validation, run in workers: wait for them, not for time.
        await settle(app, pilot)
        await settle(app, pilot)
        screen = app.screen
        assert not screen.rollback_running
        types = [e.type for e in app.journal.events]
        assert types.index(ev.LOCK_TAKEN) < types.index(ev.STEP_STARTED) < types.index(ev.LOCK_RELEASED)
        finished = events_of(app, ev.RUN_FINISHED)
        assert [e.data["result"] for e in finished] == ["success"], finished
        assert events_of(app, ev.CHECKLIST_OVERRIDDEN)[0].data["reason"] == "rehearsal drill"

        # Validation results streamed into the panel, from the journal.
        results = events_of(app, ev.VALIDATION_RESULT)
        assert results and {r.data["check"] for r in results} >= {"endpoints", "logs"}
        assert len(screen.query_one(ValidationPanel).results) == len(results)
        # Post items the evidence proves ticked themselves.
        ticked = checklists.state_from_events(app.journal.events)
        assert ("post", "service_health") in ticked and ticked[("post", "service_health")].auto
        assert ("during", "start_recorded") in ticked and ("during", "steps_confirmed") in ticked

        # One key writes both reports and says where.
        await pilot.press("e")
        await pilot.pause()
        md = state_dir / "reports" / f"{app.journal.run_id}.md"
        js = state_dir / "reports" / f"{app.journal.run_id}.json"
        assert md.exists() and js.exists()
        assert json.loads(js.read_text(encoding="utf-8"))
        assert "lightningtalk-prod" in md.read_text(encoding="utf-8")
        assert any(str(md) in n.message for n in app._notifications)
