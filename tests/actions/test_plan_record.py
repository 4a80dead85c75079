"""A plan recorded in the journal comes back exactly: resume acts on what was confirmed."""

from __future__ import annotations

import dataclasses

from rollback_cockpit.actions.ecs import UpdateService, WaitStable
from rollback_cockpit.actions.lambda_alias import AliasStep
from rollback_cockpit.actions.static_site import Invalidate, RestoreRelease
from rollback_cockpit.actions.steps import Plan, plan_from_json, same_plan
from rollback_cockpit.runbook import environment
from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.tui.context import shipped_environment


def a_plan(env) -> Plan:
    clock = Clock()
    site = env.application.static_site
    update = UpdateService("c", "api-service", "arn:td/api:5", "arn:td/api:3")
    wait = WaitStable("c", "api-service", "arn:td/api:5", "arn:td/api:3", clock, 600.0, 5.0)
    wait.depends_on = (update.id,)
    restore = RestoreRelease(site, "r3", "r2")
    invalidate = Invalidate(site, clock)
    invalidate.depends_on = (restore.id,)
    alias = AliasStep("fn", "prod", "3", "2", "arn:aws:lambda:ap-northeast-1:1:function:fn")
    return Plan("app", env.name, [update, wait, restore, invalidate, alias])


def test_every_step_type_round_trips_even_after_the_environment_file_changed():
    env = environment.load(shipped_environment())
    plan = a_plan(env)
    recorded = plan.to_json()
    # Someone edits the environment file between the crash and the resume.
    edited_site = dataclasses.replace(env.application.static_site, bucket="another-bucket", distribution_id="EOTHER")
    edited = dataclasses.replace(env, application=dataclasses.replace(env.application, static_site=edited_site))
    rebuilt = plan_from_json(recorded, edited, Clock())
    assert same_plan(plan, rebuilt)
    assert [type(s) for s in rebuilt.steps] == [type(s) for s in plan.steps]
    assert rebuilt.steps[2].cfg.bucket == env.application.static_site.bucket  # what was confirmed
    assert rebuilt.steps[3].cfg.distribution_id == env.application.static_site.distribution_id
    assert rebuilt.steps[1].depends_on == (plan.steps[0].id,)
    assert [s.describe() for s in rebuilt.steps] == [s.describe() for s in plan.steps]


def test_a_different_target_is_a_different_plan():
    env = environment.load(shipped_environment())
    a, b = a_plan(env), a_plan(env)
    b.steps[0].target_arn = "arn:td/api:2"
    assert not same_plan(a, b)
