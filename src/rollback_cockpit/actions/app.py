"""Type A: the application rollback plan (ECS services, Lambda aliases, static site).

Planning only reads, and reads everything concurrently: the plan of a
three-part application costs about one round trip per dependent read.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rollback_cockpit.actions.ecs import plan_ecs
from rollback_cockpit.actions.lambda_alias import plan_lambda
from rollback_cockpit.actions.static_site import plan_static
from rollback_cockpit.actions.steps import Plan, PlanInputError
from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.runbook.environment import Environment

STATIC_SITE = "static-site"


def selectable(env: Environment) -> list[str]:
    """The names --service accepts: ECS services, Lambda functions, "static-site"."""
    app = env.application
    names: list[str] = []
    if app and app.ecs:
        names += [s.name for s in app.ecs.services]
    if app and app.lambda_:
        names += [f.name for f in app.lambda_.functions]
    if app and app.static_site:
        names.append(STATIC_SITE)
    return names


async def plan_app(
    aws: Any,
    env: Environment,
    clock: Clock,
    *,
    services: list[str] | None = None,
    to: str | None = None,
) -> Plan:
    """The plan of a Type A rollback; ``services`` narrows it to the named parts."""
    app = env.application
    plan = Plan(kind="app", environment=env.name)
    if app is None or not (app.ecs or app.lambda_ or app.static_site):
        plan.refusals.append(f"the environment {env.name} has no application section: nothing to roll back")
        return plan
    if services:
        unknown = [s for s in services if s not in selectable(env)]
        if unknown:
            raise PlanInputError(
                f"unknown --service {', '.join(unknown)} (choose from: {', '.join(selectable(env))})"
            )
    wanted = set(services) if services else None
    parts = []
    ecs_names = [s.name for s in app.ecs.services if wanted is None or s.name in wanted] if app.ecs else []
    if to is not None and not ecs_names:
        raise PlanInputError("--to names a task-definition revision, but no ECS service is selected")
    if ecs_names and app.ecs:
        parts.append(plan_ecs(aws, app.ecs, clock, services=ecs_names, to=to))
    if app.lambda_:
        fns = [f for f in app.lambda_.functions if wanted is None or f.name in wanted]
        if fns:
            parts.append(plan_lambda(aws, app.lambda_, functions=fns))
    if app.static_site and (wanted is None or STATIC_SITE in wanted):
        parts.append(plan_static(aws, app.static_site, clock))
    for part in await asyncio.gather(*parts):
        plan.extend(part)
    if not plan.steps and not plan.refusals:
        plan.refusals.append("nothing selected to roll back")
    return plan
