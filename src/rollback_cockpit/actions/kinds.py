"""The rollback kinds this version can plan and run.

An environment may configure more (runbook.environment.offered_kinds); the
cockpit offers the intersection and names the configured kinds that are not
built, so an operator is never handed a menu entry that cannot run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rollback_cockpit.actions.app import plan_app

PLANNERS: dict[str, Callable[..., Any]] = {"app": plan_app}

