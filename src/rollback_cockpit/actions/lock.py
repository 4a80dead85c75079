"""The environment lock, held in AWS itself: one SSM parameter per environment.

``put_parameter(Overwrite=False)`` either creates the parameter or fails with
ParameterAlreadyExists, atomically, so two operators (on two machines, with
two copies of the cockpit) can never both start a rollback of the same
environment. The value says who holds it: ``{operator, run_id, started_at}``.

Only executing a rollback takes the lock; dry runs, plans, validation and
readiness only read it. Journaling (taken / released / broken with the
reason) is the caller's job: this module only talks to AWS.
"""

from __future__ import annotations

import json
from typing import Any

from rollback_cockpit.aws.errors import error_code, explain
from rollback_cockpit.checks.readiness import LockInfo, lock_parameter, read_lock

__all__ = ["LockError", "LockHeld", "LockInfo", "acquire", "break_lock", "lock_parameter", "read_lock", "release"]


class LockError(Exception):
    """The lock could not be taken or given back for a reason other than another holder."""


class LockHeld(LockError):
    """Someone else holds the lock; nothing was changed."""

    def __init__(self, holder: LockInfo):
        self.holder = holder
        super().__init__(holder.describe())


async def acquire(aws: Any, env: Any, operator: str, run_id: str, clock: Any) -> LockInfo:
    """Take the lock for ``run_id`` or raise LockHeld naming the holder.

    Taking a lock this run already holds (a resumed run) succeeds.
    """
    ssm = await aws.client("ssm")
    name = lock_parameter(env)
    mine = LockInfo(operator=operator, run_id=run_id, started_at=clock.now().isoformat(), parameter=name)
    try:
        await ssm.put_parameter(
            Name=name,
            Value=json.dumps(mine.to_json(), ensure_ascii=False),
            Type="String",
            Overwrite=False,
            Description="rollback-cockpit: a rollback of this environment is running",
        )
        return mine
    except Exception as exc:
        if error_code(exc) != "ParameterAlreadyExists":
            raise explain(exc, action="ssm:PutParameter", resource=name) from exc
    holder = await read_lock(aws, env)
    if holder is None:
        # Released between our put and our read: try once more, still atomically.
        return await acquire(aws, env, operator, run_id, clock)
    if holder.run_id == run_id:
        return holder
    raise LockHeld(holder)


async def release(aws: Any, env: Any, run_id: str) -> bool:
    """Give the lock back if this run holds it; False when it was not ours (or gone).

    SSM has no conditional delete: the read-then-delete leaves a window of
    one round trip, in which only a *break* by another operator could slip in.
    """
    holder = await read_lock(aws, env)
    if holder is None or holder.run_id != run_id:
        return False
    await _delete(aws, holder.parameter)
    return True


async def break_lock(aws: Any, env: Any, reason: str) -> LockInfo | None:
    """Remove a stale lock whoever holds it; returns what was broken (None if free).

    The caller journals the reason and the returned holder.
    """
    if not reason or not reason.strip():
        raise ValueError("breaking a lock needs a reason")
    holder = await read_lock(aws, env)
    if holder is None:
        return None
    await _delete(aws, holder.parameter)
    return holder


async def _delete(aws: Any, name: str) -> None:
    ssm = await aws.client("ssm")
    try:
        await ssm.delete_parameter(Name=name)
    except Exception as exc:
        if error_code(exc) == "ParameterNotFound":
            return
        raise explain(exc, action="ssm:DeleteParameter", resource=name) from exc
