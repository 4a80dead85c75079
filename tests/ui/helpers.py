"""Building the cockpit for Pilot tests: against the rehearsal world, or frozen for snapshots."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rollback_cockpit.runbook.clock import Clock

SIZES = [(80, 24), (120, 40)]


@contextlib.contextmanager
def world_context(state_dir: Path, speed: float = 60.0) -> Iterator[Any]:
    """The rehearsal world through the same path as `rollback-cockpit --simulate`."""
    from rollback_cockpit.tui.context import open_context

    args = argparse.Namespace(
        simulate=True, env_file=None, scenario="bad-deploy", speed=speed,
        state_dir=state_dir, region=None, profile=None,
    )
    with open_context(args) as ctx:
        yield ctx


def make_app(ctx: Any, state_dir: Path, **kw: Any) -> Any:
    from rollback_cockpit.tui.app import CockpitApp

    kw.setdefault("sample_on_timer", False)
    kw.setdefault("check_terminal", False)
    return CockpitApp(
        env=ctx.env, aws_settings=ctx.aws_settings, clock=ctx.clock, state_dir=state_dir,
        local_user="alice", **kw,
    )


async def settle(app: Any, pilot: Any) -> None:
    """Every worker done and every message they posted handled."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def events_of(app: Any, type_: str) -> list[Any]:
    return [e for e in app.journal.events if e.type == type_]


class FrozenClock(Clock):
    """A simulated clock that never moves: snapshots do not change with time."""

    speed = 10.0
    simulated = True

    def __init__(self, at: datetime):
        self.at = at

    def time(self) -> float:
        return self.at.timestamp()

    def wall_now(self) -> datetime:
        return self.at - timedelta(minutes=42)


FROZEN_AT = datetime(2025, 6, 1, 1, 23, 45, tzinfo=UTC)


def canned_snapshot(at: datetime = FROZEN_AT) -> Any:
    """30 minutes of a bad deploy: error rate and p95 over, health and memory fine."""
    from rollback_cockpit.checks import metrics as m

    period = 60
    end = at.replace(second=0)
    start = end - timedelta(minutes=30)
    times = [start + timedelta(seconds=period * i) for i in range(30)]

    def series(name: str, before: float, after: float, gap: bool = False) -> Any:
        points = []
        for i, t in enumerate(times):
            v: float | None = before if i < 22 else after
            if gap and i in (10, 11):
                v = None
            points.append((t, v))
        return m.Series(name, tuple(points))

    return m.MetricsSnapshot(
        taken_at=at,
        start=start,
        end=end,
        period_seconds=period,
        series={
            m.ERROR_RATE: series(m.ERROR_RATE, 0.4, 7.9),
            m.P95: series(m.P95, 0.3, 2.6),
            m.HEALTH_FAILURE: series(m.HEALTH_FAILURE, 0.0, 33.3, gap=True),
            m.MEMORY: m.Series(m.MEMORY, tuple((t, None) for t in times)),
        },
    )


def frozen_app(state_dir: Path, **kw: Any) -> Any:
    """The cockpit with no AWS at all: canned metrics, a frozen clock (for snapshots)."""
    from rollback_cockpit.checks.triggers import evaluate
    from rollback_cockpit.runbook import environment
    from rollback_cockpit.runbook.journal import Journal
    from rollback_cockpit.tui.app import CockpitApp, Services
    from rollback_cockpit.tui.context import shipped_environment

    env = environment.load(shipped_environment())

    async def sample(aws: Any, env: Any, clock: Any, *, minutes: float = 30) -> Any:
        return canned_snapshot()

    clock = FrozenClock(FROZEN_AT)
    return CockpitApp(
        env=env,
        aws_settings=None,
        clock=clock,
        journal=Journal.create(state_dir, clock, run_id="20250601T012345Z-snap"),
        state_dir=state_dir,
        local_user="alice",
        simulate=True,
        services=Services(sample=sample, evaluate=evaluate),
        check_terminal=False,
        **kw,
    )
