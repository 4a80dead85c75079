"""Keys, help, palette and themes: on the frozen cockpit (no AWS needed)."""

from __future__ import annotations

from textual.binding import Binding

from rollback_cockpit.runbook import events as ev
from rollback_cockpit.tui.app import CockpitApp, CockpitCommands
from rollback_cockpit.tui.screens.cockpit import CockpitScreen
from rollback_cockpit.tui.screens.dialogs import ConfirmScreen, DecisionScreen, HelpScreen, ReasonScreen
from rollback_cockpit.tui.widgets.checklist import ChecklistPanel

from .helpers import frozen_app


def test_every_binding_has_an_id_and_a_description():
    for owner in (CockpitApp, CockpitScreen, ChecklistPanel, ConfirmScreen, ReasonScreen, DecisionScreen, HelpScreen):
        for b in owner.BINDINGS:
            assert isinstance(b, Binding) and b.id and b.description, (owner.__name__, b)
    ids = [b.id for o in (CockpitApp, CockpitScreen, ChecklistPanel) for b in o.BINDINGS]
    assert len(ids) == len(set(ids))


async def test_help_lists_every_key(tmp_path):
    app = frozen_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = {d for _, d in app.screen.keys}
        for b in CockpitScreen.BINDINGS + CockpitApp.BINDINGS:
            assert b.description in shown
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CockpitScreen)


async def test_the_palette_offers_every_action(tmp_path):
    app = frozen_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        provider = CockpitCommands(app.screen)
        titles = [hit.text async for hit in provider.discover()]
        for b in CockpitScreen.BINDINGS:
            assert b.description in titles
        hits = [hit async for hit in provider.search("Decide")]
        assert hits and hits[0].text == "Decide"
        await hits[0].command()
        await pilot.pause()
        assert isinstance(app.screen, DecisionScreen)


async def test_an_unknown_theme_falls_back_to_dark(tmp_path):
    app = frozen_app(tmp_path, theme="neon")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "cockpit-dark"
        assert any("unknown theme" in n.message for n in app._notifications)


async def test_run_started_is_the_first_event(tmp_path):
    app = frozen_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        first = app.journal.events[0]
        assert first.type == ev.RUN_STARTED
        assert first.data["mode"] == "simulate" and first.data["operator"]["local_user"] == "alice"
