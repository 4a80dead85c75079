"""``rollback-cockpit run app`` against the real moto server: guardrails, dry run, journal, re-run."""

from __future__ import annotations

import io

from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook import journal as jr
from rollback_cockpit.tui.cli import build_parser
from rollback_cockpit.tui.commands import run as run_cmd
from rollback_cockpit.tui.context import Context

CLUSTER = "lightningtalk-prod"
SERVICES = ["api-service", "websocket-service"]
FUNCTION = "lightningtalk-api-handler"
BUCKET = "lightningtalk-static"


def state_of(boto, distribution):
    """Everything the rollback could touch, as plain data."""
    ecs, lam, s3, cf = boto("ecs"), boto("lambda"), boto("s3"), boto("cloudfront")
    services = ecs.describe_services(cluster=CLUSTER, services=SERVICES, include=["TAGS"])["services"]
    alias = lam.get_alias(FunctionName=FUNCTION, Name="prod")
    fn_arn = alias["AliasArn"].rsplit(":", 1)[0]
    objects = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    return {
        "services": [(s["serviceName"], s["taskDefinition"], [d["id"] for d in s["deployments"]], s.get("tags")) for s in services],
        "alias": (alias["FunctionVersion"], alias.get("RoutingConfig")),
        "lambda_tags": lam.list_tags(Resource=fn_arn)["Tags"],
        "objects": {o["Key"]: (o["ETag"], o["LastModified"]) for o in objects},
        "marker_meta": s3.head_object(Bucket=BUCKET, Key="RELEASE")["Metadata"],
        "invalidations": cf.list_invalidations(DistributionId=distribution)["InvalidationList"].get("Items"),
        "lock": boto("ssm").describe_parameters()["Parameters"],
    }


async def invoke(argv, *, env, aws_settings, clock, state_dir, simulate=False):
    args = build_parser().parse_args(["run", "app", "--env", "unused.yaml", "--state-dir", str(state_dir), *argv])
    ctx = Context(env, aws_settings, clock, state_dir, state_dir / "debug.log", "tester", simulate)
    out = io.StringIO()
    code = await run_cmd.main(args, ctx, out)
    return code, out.getvalue()


async def test_dry_run_changes_nothing(aws_settings, boto, seeded, make_env, fast_clock, state_dir):
    env = make_env(distribution=seeded["distribution"])
    before = state_of(boto, seeded["distribution"])
    code, out = await invoke(["--dry-run"], env=env, aws_settings=aws_settings, clock=fast_clock, state_dir=state_dir)
    assert code == 0, out
    assert "dry run: nothing was changed" in out
    assert "lightningtalk-prod-api:5 → lightningtalk-prod-api:4" in out
    assert "r3 → r2" in out
    assert state_of(boto, seeded["distribution"]) == before
    assert not (state_dir / "runs").exists() or not list((state_dir / "runs").iterdir())


async def test_guardrails_refuse_without_the_right_confirmation(aws_settings, boto, seeded, make_env, fast_clock, state_dir):
    env = make_env(distribution=seeded["distribution"])
    before = state_of(boto, seeded["distribution"])
    kw = {"env": env, "aws_settings": aws_settings, "clock": fast_clock, "state_dir": state_dir}
    code, out = await invoke([], **kw)
    assert code == 3 and "needs confirmation: pass --confirm lightningtalk-prod" in out
    code, out = await invoke(["--confirm", "lightningtalk-stg"], **kw)
    assert code == 3 and "does not match the environment name 'lightningtalk-prod'" in out
    code, out = await invoke(["--yes"], **kw)
    assert code == 3 and "--yes is only for rehearsals" in out
    code, out = await invoke(["--service", "nope", "--confirm", "lightningtalk-prod"], **kw)
    assert code == 2
    assert state_of(boto, seeded["distribution"]) == before


async def test_refused_plan_exits_3_and_changes_nothing(aws_settings, boto, seeded, make_env, fast_clock, state_dir):
    for arn in seeded["ecs"]["api-service"][:4]:
        boto("ecs").deregister_task_definition(taskDefinition=arn)
    env = make_env(distribution=seeded["distribution"])
    before = state_of(boto, seeded["distribution"])
    code, out = await invoke(["--confirm", "lightningtalk-prod"], env=env, aws_settings=aws_settings, clock=fast_clock, state_dir=state_dir)
    assert code == 3
    assert "REFUSED: api-service: no ACTIVE revision" in out
    assert state_of(boto, seeded["distribution"]) == before


async def test_run_then_run_again(aws_settings, boto, seeded, make_env, fast_clock, state_dir):
    env = make_env(distribution=seeded["distribution"])
    kw = {"env": env, "aws_settings": aws_settings, "clock": fast_clock, "state_dir": state_dir}
    report = state_dir / "out" / "report.md"
    code, out = await invoke(
        ["--confirm", "lightningtalk-prod", "--no-validate", "--reason", "p95 over 2 s", "--severity", "P1", "--report", str(report), "--lang", "en"],
        **kw,
    )
    assert code == 0, out
    assert "result: success" in out
    assert "✓ ecs-update:api-service done" in out
    first = jr.read(jr.find_run("last", state_dir))
    assert first[0].type == ev.RUN_STARTED and first[-1].type == ev.RUN_FINISHED
    started = first[0].data
    assert started["operator"] == {"local_user": "tester", "aws_identity": started["operator"]["aws_identity"]}
    assert started["operator"]["aws_identity"].startswith("arn:aws:")
    assert (started["kind"], started["severity"], started["reason"], started["mode"]) == ("app", "P1", "p95 over 2 s", "aws")
    assert first[-1].data["result"] == "success"
    assert first[-1].data["per_resource"] == {
        "ecs:api-service": "rolled_back",
        "ecs:websocket-service": "rolled_back",
        f"lambda:{FUNCTION}:prod": "rolled_back",
        f"s3:{BUCKET}": "rolled_back",
    }
    assert {ev.LOCK_TAKEN, ev.LOCK_RELEASED} <= {e.type for e in first}
    text = report.read_text()
    # The report lists every step of the plan, as the operator saw it described.
    shown = next(e for e in first if e.type == ev.PLAN_SHOWN).data["steps"]
    assert len(shown) == 7
    for step in shown:
        assert step["describe"] in text, step
    assert boto("ssm").describe_parameters()["Parameters"] == []  # the lock was given back

    after_first = state_of(boto, seeded["distribution"])
    code, out = await invoke(["--confirm", "lightningtalk-prod", "--no-validate"], **kw)
    assert code == 0, out
    assert "already at target: nothing was changed" in out
    assert state_of(boto, seeded["distribution"]) == after_first


async def test_a_held_lock_refuses(aws_settings, boto, seeded, make_env, fast_clock, state_dir):
    boto("ssm").put_parameter(
        Name="/rollback-cockpit/lightningtalk-prod/lock",
        Value='{"operator": "someone else", "run_id": "x", "started_at": "2026-01-01T00:00:00+00:00"}',
        Type="String",
    )
    env = make_env(distribution=seeded["distribution"])
    before = state_of(boto, seeded["distribution"])
    code, out = await invoke(["--confirm", "lightningtalk-prod", "--no-validate"], env=env, aws_settings=aws_settings, clock=fast_clock, state_dir=state_dir)
    assert code == 3 and "someone else" in out
    assert state_of(boto, seeded["distribution"]) == before


async def test_p3_needs_the_team_leads_approval(aws_settings, boto, seeded, make_env, fast_clock, state_dir):
    env = make_env(distribution=seeded["distribution"])
    before = state_of(boto, seeded["distribution"])
    kw = {"env": env, "aws_settings": aws_settings, "clock": fast_clock, "state_dir": state_dir}
    code, out = await invoke(["--severity", "P3", "--confirm", "lightningtalk-prod", "--no-validate"], **kw)
    assert code == 3 and "a P3 rollback needs the team lead's approval: pass --approved-by NAME" in out
    assert state_of(boto, seeded["distribution"]) == before
    argv = ["--severity", "P3", "--approved-by", "sato", "--confirm", "lightningtalk-prod", "--no-validate", "--lang", "en"]
    code, out = await invoke(argv, **kw)
    assert code == 0, out
    report = (state_dir / "reports").glob("*.md").__next__().read_text()
    assert "- Severity: P3" in report and "(approved by sato)" in report
