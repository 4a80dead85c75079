"""The main screen at 80×24 (tabs) and 120×40 (grid): frozen clock, canned metrics.

Update after an intended change with ``pytest tests/snapshots --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

import pytest

from tests.ui.helpers import frozen_app


async def _ready(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare, tmp_path, size):
    assert snap_compare(frozen_app(tmp_path), terminal_size=size, run_before=_ready)


def test_checklists_tab_at_80x24(snap_compare, tmp_path):
    assert snap_compare(frozen_app(tmp_path), terminal_size=(80, 24), press=["2"], run_before=_ready)


@pytest.mark.parametrize("theme", ["light", "ansi"])
def test_themes_at_120x40(snap_compare, tmp_path, theme):
    assert snap_compare(frozen_app(tmp_path, theme=theme), terminal_size=(120, 40), run_before=_ready)
