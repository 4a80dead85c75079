"""actions.lock against a real moto server: acquire, refuse a second holder, release, break."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from rollback_cockpit.actions import lock
from rollback_cockpit.runbook import environment
from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.tui.context import shipped_environment

AT = datetime(2026, 3, 1, 3, 4, 5, tzinfo=UTC)


class FixedClock(Clock):
    def time(self) -> float:
        return AT.timestamp()


@pytest.fixture
def env():
    return environment.load(shipped_environment())


async def test_acquire_writes_who_holds_it(aws, boto, env):
    held = await lock.acquire(aws, env, "alice", "run-1", FixedClock())
    assert held.parameter == "/rollback-cockpit/lightningtalk-prod/lock"
    value = json.loads(boto("ssm").get_parameter(Name=held.parameter)["Parameter"]["Value"])
    assert value == {"operator": "alice", "run_id": "run-1", "started_at": AT.isoformat()}
    assert await lock.read_lock(aws, env) == held


async def test_second_operator_is_refused_and_nothing_changes(aws, boto, env):
    await lock.acquire(aws, env, "alice", "run-1", FixedClock())
    with pytest.raises(lock.LockHeld) as info:
        await lock.acquire(aws, env, "bob", "run-2", FixedClock())
    assert str(info.value) == f"locked by alice since {AT.isoformat()} (run run-1)"
    assert info.value.holder.operator == "alice"
    value = json.loads(boto("ssm").get_parameter(Name=lock.lock_parameter(env))["Parameter"]["Value"])
    assert value["run_id"] == "run-1"


async def test_the_same_run_may_take_it_again_on_resume(aws, env):
    first = await lock.acquire(aws, env, "alice", "run-1", FixedClock())
    again = await lock.acquire(aws, env, "alice", "run-1", FixedClock())
    assert again.run_id == first.run_id == "run-1"


async def test_release_only_when_ours(aws, env):
    await lock.acquire(aws, env, "alice", "run-1", FixedClock())
    assert await lock.release(aws, env, "run-2") is False
    assert (await lock.read_lock(aws, env)).run_id == "run-1"
    assert await lock.release(aws, env, "run-1") is True
    assert await lock.read_lock(aws, env) is None
    assert await lock.release(aws, env, "run-1") is False
    # Free again: the next operator gets it.
    assert (await lock.acquire(aws, env, "bob", "run-2", FixedClock())).operator == "bob"


async def test_break_needs_a_reason_and_returns_the_holder(aws, env):
    await lock.acquire(aws, env, "alice", "run-1", FixedClock())
    with pytest.raises(ValueError):
        await lock.break_lock(aws, env, "  ")
    broken = await lock.break_lock(aws, env, "alice's laptop died at 03:10")
    assert broken is not None and broken.run_id == "run-1"
    assert await lock.read_lock(aws, env) is None
    assert await lock.break_lock(aws, env, "again") is None


async def test_a_hand_written_lock_still_counts(aws, boto, env):
    boto("ssm").put_parameter(Name=lock.lock_parameter(env), Value="carol, do not touch", Type="String")
    with pytest.raises(lock.LockHeld) as info:
        await lock.acquire(aws, env, "bob", "run-2", FixedClock())
    assert "locked by carol, do not touch" in str(info.value)
