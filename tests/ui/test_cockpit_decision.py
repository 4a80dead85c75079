"""The decision dialog records severity, and P3/P4 rollbacks name the approving team lead."""

from __future__ import annotations

from rollback_cockpit.actions.app import plan_app
from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook import report
from rollback_cockpit.tui.screens.dialogs import DecisionScreen

from .helpers import events_of, frozen_app, settle


async def test_p3_rollback_needs_the_approver(tmp_path):
    app = frozen_app(tmp_path)
    app.services.planners = {"app": plan_app}
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DecisionScreen)
        await pilot.press("enter", *"bad release", "shift+tab", "shift+tab", "backspace", "backspace", *"P3", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DecisionScreen), "a P3 rollback without an approver was accepted"
        assert "team lead's approval" in str(app.screen.query_one("#decision-error").render())
        assert not events_of(app, ev.DECISION_TAKEN)
        await pilot.press("tab", *"sato", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, DecisionScreen)
        [decision] = events_of(app, ev.DECISION_TAKEN)
        assert decision.data | {"by": None} == {
            "kind": "app", "reason": "bad release", "severity": "P3", "approved_by": "sato", "by": None
        }
    md = report.render(app.journal.events, "md", "en")
    assert "- Severity: P3" in md
    assert "app — bad release (approved by sato)" in md
