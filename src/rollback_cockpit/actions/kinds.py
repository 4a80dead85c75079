"""The rollback kinds this version can plan and run.

An environment may configure more (runbook.environment.offered_kinds); the
front ends offer the intersection and say which configured kinds are not
built, so an operator is never handed a menu entry that cannot run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rollback_cockpit.actions.app import plan_app
from rollback_cockpit.runbook.environment import Environment, offered_kinds

PLANNERS: dict[str, Callable[..., Any]] = {"app": plan_app}


def runnable_kinds(env: Environment) -> tuple[list[str], list[str]]:
    """(kinds to offer, kinds the environment configures that this version cannot run)."""
    configured = offered_kinds(env)
    return [k for k in configured if k in PLANNERS], [k for k in configured if k not in PLANNERS]
