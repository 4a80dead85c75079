"""ECS part of the Type A rollback, against the real moto server."""

from __future__ import annotations

import pytest

from rollback_cockpit.actions.app import plan_app
from rollback_cockpit.actions.steps import PlanInputError, execute, outcome
from rollback_cockpit.runbook import events as ev

CLUSTER = "lightningtalk-prod"
BOTH = ["api-service", "websocket-service"]


async def run_all(plan, aws, journal, clock):
    return [e async for e in execute(plan, aws, journal, clock)]


def live_td(boto, name):
    return boto("ecs").describe_services(cluster=CLUSTER, services=[name])["services"][0]["taskDefinition"]


async def test_target_skips_a_deregistered_previous_revision(aws, boto, seed_ecs, ecs_model, make_env, fast_clock):
    boto("ecs").deregister_task_definition(taskDefinition=seed_ecs["api-service"][3])  # revision 4
    plan = await plan_app(aws, make_env(), fast_clock, services=["api-service"])
    assert not plan.refusals
    update = plan.steps[0]
    assert update.target_arn == seed_ecs["api-service"][2]  # revision 3, not the N-1 that is gone
    assert any("revision 4 is not ACTIVE" in w for w in plan.warnings)


async def test_refused_when_no_older_active_revision(aws, boto, seed_ecs, ecs_model, make_env, fast_clock):
    for arn in seed_ecs["api-service"][:4]:
        boto("ecs").deregister_task_definition(taskDefinition=arn)
    plan = await plan_app(aws, make_env(), fast_clock, services=["api-service"])
    assert not plan.steps
    assert len(plan.refusals) == 1
    assert "no ACTIVE revision of lightningtalk-prod-api older than the live revision 5" in plan.refusals[0]


async def test_to_is_honoured_and_checked(aws, boto, seed_ecs, ecs_model, make_env, fast_clock):
    env = make_env()
    plan = await plan_app(aws, env, fast_clock, services=["api-service"], to="2")
    assert plan.steps[0].target_arn == seed_ecs["api-service"][1]
    assert plan.diff[0].target == "lightningtalk-prod-api:2"

    boto("ecs").deregister_task_definition(taskDefinition=seed_ecs["api-service"][0])
    plan = await plan_app(aws, env, fast_clock, services=["api-service"], to="1")
    assert not plan.steps and "revision 1 of lightningtalk-prod-api is INACTIVE" in plan.refusals[0]

    plan = await plan_app(aws, env, fast_clock, services=["api-service"], to="99")
    assert not plan.steps and "revision 99 of lightningtalk-prod-api does not exist" in plan.refusals[0]

    with pytest.raises(PlanInputError, match="ambiguous"):
        await plan_app(aws, env, fast_clock, services=BOTH, to="2")

    # FAMILY:REV with both services: only that family is pinned, the other rolls back as usual.
    plan = await plan_app(aws, env, fast_clock, services=BOTH, to="lightningtalk-prod-api:2")
    targets = {s.service: s.target_arn for s in plan.steps if s.id.startswith("ecs-update")}
    assert targets == {"api-service": seed_ecs["api-service"][1], "websocket-service": seed_ecs["websocket-service"][3]}


async def test_diff_names_changed_variables_never_values(aws, seed_ecs, ecs_model, make_env, fast_clock):
    plan = await plan_app(aws, make_env(), fast_clock, services=["api-service"])
    rows = {(r.field): (r.current, r.target) for r in plan.diff}
    assert rows["task definition"] == ("lightningtalk-prod-api:5", "lightningtalk-prod-api:4")
    assert rows["cpu"] == ("512", "256")
    assert rows["api image"] == ("lightningtalk-prod-api:v1.5", "lightningtalk-prod-api:v1.4")
    text = repr(plan.to_json())
    assert "secret-value" not in text and "postgres://" not in text


async def test_both_services_roll_back_concurrently_with_full_arns(aws, boto, seed_ecs, ecs_model, ecs_settles, make_env, fast_clock, journal):
    for name in BOTH:
        ecs_model.make_stable(name)
    plan = await plan_app(aws, make_env(), fast_clock, services=BOTH)
    events = await run_all(plan, aws, journal, fast_clock)

    assert outcome(plan, events).result == "success"
    for name in BOTH:
        target = seed_ecs[name][3]
        assert target.startswith("arn:aws:ecs:ap-northeast-1:123456789012:task-definition/")
        # moto stores the string as given: a full ARN here proves a full ARN was passed.
        assert live_td(boto, name) == target
        assert ecs_model.service(name).task_definition == target
    # Both updates were in flight together: each started before the other finished.
    order = [(e.type, e.data["step"]) for e in events if e.type in (ev.STEP_STARTED, ev.STEP_FINISHED)]
    starts = {s: i for i, (t, s) in enumerate(order) if t == ev.STEP_STARTED}
    ends = {s: i for i, (t, s) in enumerate(order) if t == ev.STEP_FINISHED}
    a, b = "ecs-update:api-service", "ecs-update:websocket-service"
    assert starts[a] < ends[b] and starts[b] < ends[a]
    # The journal holds exactly what was yielded, in order.
    assert [e.seq for e in journal.events] == [e.seq for e in events]
    finished = next(e for e in events if e.type == ev.STEP_FINISHED and e.data["step"] == a)
    assert finished.data["evidence"]["before"] == seed_ecs["api-service"][4]
    assert finished.data["evidence"]["request_id"]


async def test_circuit_breaker_rollback_is_a_failure(aws, boto, seed_ecs, ecs_model, make_env, fast_clock, journal):
    old = seed_ecs["api-service"][4]

    def ecs_rolls_back(event):
        # What the deployment circuit breaker does when the new tasks keep failing.
        if event.type == ev.STEP_FINISHED and event.data["step"] == "ecs-update:api-service":
            svc = ecs_model.service("api-service")
            svc.task_definition = old
            svc.deployments[0]["rolloutState"] = "FAILED"
            svc.deployments[0]["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."

    journal.subscribe(ecs_rolls_back)
    plan = await plan_app(aws, make_env(), fast_clock, services=["api-service"])
    events = await run_all(plan, aws, journal, fast_clock)

    failed = [e for e in events if e.type == ev.STEP_FAILED]
    assert [e.data["step"] for e in failed] == ["ecs-stable:api-service"]
    assert "ECS rolled the deployment back on its own (circuit breaker)" in failed[0].data["error"]
    assert "lightningtalk-prod-api:5" in failed[0].data["error"]
    assert outcome(plan, events).per_resource == {"ecs:api-service": "failed"}
    assert outcome(plan, events).result == "failed"


async def test_a_stuck_deployment_times_out_fast(aws, seed_ecs, ecs_model, make_env, fast_clock, journal):
    # Bare moto: runningCount stays 0, so the service never becomes stable.
    plan = await plan_app(aws, make_env(timeout=30), fast_clock, services=["api-service"])
    events = await run_all(plan, aws, journal, fast_clock)
    failed = [e for e in events if e.type == ev.STEP_FAILED]
    assert len(failed) == 1 and "did not become stable within 30 s" in failed[0].data["error"]
    assert "0/2 running" in failed[0].data["error"]
    assert any(e.type == ev.STEP_PROGRESS and "0/2 running" in e.data["message"] for e in events)


async def test_running_again_reports_already_at_target(aws, boto, seed_ecs, ecs_model, ecs_settles, make_env, fast_clock, journal):
    for name in BOTH:
        ecs_model.make_stable(name)
    env = make_env()
    first = await plan_app(aws, env, fast_clock, services=BOTH)
    await run_all(first, aws, journal, fast_clock)
    after_first = {n: live_td(boto, n) for n in BOTH}

    second = await plan_app(aws, env, fast_clock, services=BOTH)
    assert {s.target_arn for s in second.steps} == set(after_first.values())
    events = await run_all(second, aws, journal, fast_clock)
    assert {e.type for e in events} == {ev.PLAN_SHOWN, ev.STEP_SKIPPED}
    assert all(e.data["reason"] == "already at target" for e in events if e.type == ev.STEP_SKIPPED)
    result = outcome(second, events)
    assert result.result == "success" and not result.changed
    assert {n: live_td(boto, n) for n in BOTH} == after_first
