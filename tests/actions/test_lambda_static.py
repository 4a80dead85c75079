"""Lambda alias and static-site parts of the Type A rollback, against the real moto server."""

from __future__ import annotations

from rollback_cockpit.actions.app import plan_app
from rollback_cockpit.actions.steps import execute, outcome
from rollback_cockpit.runbook import events as ev

FUNCTION = "lightningtalk-api-handler"
BUCKET = "lightningtalk-static"


async def run_all(plan, aws, journal, clock):
    return [e async for e in execute(plan, aws, journal, clock)]


async def test_lambda_alias_goes_to_the_previous_published_version(aws, boto, seed_lambda, make_env, fast_clock, journal):
    lam = boto("lambda")
    # Versions 1..3 published, the alias on 3 with a canary split to 2: the split goes too.
    lam.update_alias(FunctionName=FUNCTION, Name="prod", RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}})
    plan = await plan_app(aws, make_env(), fast_clock, services=[FUNCTION])
    assert not plan.refusals
    assert [(r.field, r.current, r.target) for r in plan.diff] == [("routing weights", "version 2: 25%", "none"), ("version", "3", "2")]
    events = await run_all(plan, aws, journal, fast_clock)
    assert outcome(plan, events).result == "success"
    alias = lam.get_alias(FunctionName=FUNCTION, Name="prod")
    assert alias["FunctionVersion"] == "2"
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    done = next(e for e in events if e.type == ev.STEP_FINISHED)
    assert done.data["evidence"]["before"] == "3" and done.data["evidence"]["request_id"]

    # Again: already at target, nothing changes (not one version further back).
    again = await plan_app(aws, make_env(), fast_clock, services=[FUNCTION])
    events = await run_all(again, aws, journal, fast_clock)
    assert [e.data["reason"] for e in events if e.type == ev.STEP_SKIPPED] == ["already at target"]
    assert lam.get_alias(FunctionName=FUNCTION, Name="prod")["FunctionVersion"] == "2"


async def test_lambda_refused_without_an_older_version(aws, boto, seed_lambda, make_env, fast_clock):
    boto("lambda").update_alias(FunctionName=FUNCTION, Name="prod", FunctionVersion="1")
    plan = await plan_app(aws, make_env(), fast_clock, services=[FUNCTION])
    assert plan.refusals == [f"{FUNCTION}:prod: no published version older than 1 exists"]


def site(boto):
    s3 = boto("s3")
    objs = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in objs}


async def test_static_site_previous_release_and_invalidation(aws, boto, seed_static, make_env, fast_clock, journal):
    env = make_env(distribution=seed_static)
    plan = await plan_app(aws, env, fast_clock, services=["static-site"])
    assert not plan.refusals
    assert plan.diff[0].current == "r3" and plan.diff[0].target == "r2"
    events = await run_all(plan, aws, journal, fast_clock)
    assert outcome(plan, events).result == "success", [e.data for e in events if e.type == ev.STEP_FAILED]

    files = site(boto)
    assert files["index.html"] == b"r2 index.html"
    assert files["assets/app.js"] == b"r2 assets/app.js"
    assert files["RELEASE"].strip() == b"r2"
    assert files["releases/r3/index.html"] == b"r3 index.html"  # releases themselves untouched

    inv_step = next(e for e in events if e.type == ev.STEP_FINISHED and e.data["step"].startswith("cloudfront"))
    inv_id = inv_step.data["evidence"]["invalidation_id"]
    inv = boto("cloudfront").get_invalidation(DistributionId=seed_static, Id=inv_id)["Invalidation"]
    assert inv["InvalidationBatch"]["Paths"]["Items"] == ["/*"]
    assert inv_step.data["evidence"]["status"].lower() == "completed"

    # Again: the marker remembers where it came from, so it is not rolled back to r1.
    again = await plan_app(aws, env, fast_clock, services=["static-site"])
    assert again.diff[0].target == "r2"
    events = await run_all(again, aws, journal, fast_clock)
    assert {e.data["reason"] for e in events if e.type == ev.STEP_SKIPPED} == {"already at target"}
    assert len(boto("cloudfront").list_invalidations(DistributionId=seed_static)["InvalidationList"]["Items"]) == 1
    assert site(boto) == files


async def test_static_site_refused_when_live_release_is_the_oldest(aws, boto, seed_static, make_env, fast_clock):
    boto("s3").put_object(Bucket=BUCKET, Key="RELEASE", Body=b"r1")
    plan = await plan_app(aws, make_env(distribution=seed_static), fast_clock, services=["static-site"])
    assert plan.refusals and "no release older than the live 'r1'" in plan.refusals[0]
