"""AWS faults in the middle of a rollback, and plans that must stay honest.

Each test runs a real Type A rollback of two ECS services on the moto server
(through ``run app`` or the shared ``RollbackRun``), with the fault made by
moto itself (IAM enforcement) or by the fault proxy on the wire, then reads
AWS and the journal to say what state they were left in.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path

import pytest

from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook import journal as jr
from rollback_cockpit.runbook.clock import Clock
from tests.reliability.conftest import ENV_NAME, settings_via

ROOT = Path(__file__).resolve().parents[2]
UPDATE = {"api-service": "ecs-update:api-service", "websocket-service": "ecs-update:websocket-service"}


def load_env(path):
    from rollback_cockpit.runbook import environment

    return environment.load(path)


async def run_app(argv, *, env, settings, state_dir):
    """``run app ARGV`` on an explicit AWS session (the proxy, a limited user): exit code and output."""
    from rollback_cockpit.tui.cli import build_parser
    from rollback_cockpit.tui.commands import run as run_cmd
    from rollback_cockpit.tui.context import Context

    args = build_parser().parse_args(["run", "app", "--env", "unused.yaml", "--state-dir", str(state_dir), *argv])
    ctx = Context(env, settings, Clock(), state_dir, state_dir / "debug.log", "alice", False)
    out = io.StringIO()
    code = await run_cmd.main(args, ctx, out)
    return code, out.getvalue()


def only_journal(state_dir) -> list:
    found = sorted((state_dir / "runs").glob("*.jsonl"))
    assert len(found) == 1, found
    return jr.read(found[0])


def of(events, type_):
    return [e for e in events if e.type == type_]


def policy_actions() -> list[str]:
    doc = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    return sorted({a for st in doc["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])})


# -- denied permission ---------------------------------------------------------


async def test_denied_update_fails_the_step_naming_the_action(ecs_world, enforce_auth, moto, state_dir):
    # Everything the policy grants except the one change: the plan reads fine, the change is denied.
    key, secret = enforce_auth(*[a for a in policy_actions() if a != "ecs:UpdateService"])
    enforce_auth.enable()
    settings = settings_via(moto)
    settings = type(settings)(**{**settings.__dict__, "access_key_id": key, "secret_access_key": secret})
    code, out = await run_app(["--confirm", ENV_NAME, "--no-validate"], env=load_env(ecs_world.env_file), settings=settings, state_dir=state_dir)
    assert code == 1, out
    for svc in UPDATE:
        assert f"✗ ecs-update:{svc} FAILED: AWS denied UpdateService on ecs:{svc} — ask for this permission" in out, out
    assert "result: failed" in out
    events = only_journal(state_dir)
    failed = {e.data["step"]: e.data for e in of(events, ev.STEP_FAILED)}
    assert set(failed) == set(UPDATE.values())
    assert all("AWS denied UpdateService" in d["error"] and "iam-policy.json" in d["hint"] for d in failed.values())
    blocked = {e.data["step"] for e in of(events, ev.STEP_SKIPPED) if e.data["outcome"] == "blocked"}
    assert blocked == {"ecs-stable:api-service", "ecs-stable:websocket-service"}
    assert events[-1].type == ev.RUN_FINISHED and events[-1].data["result"] == "failed"
    assert events[-1].data["changed"] is False
    assert {ev.LOCK_TAKEN, ev.LOCK_RELEASED} <= {e.type for e in events}
    auth_off()  # to read the state with the test's own keys
    assert ecs_world.live() == ecs_world.newest()
    assert ecs_world.boto("ssm").describe_parameters()["Parameters"] == []  # the lock was given back


def auth_off() -> None:
    from moto import settings

    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")


async def test_one_denied_service_is_a_partial_result_per_resource(ecs_world, fault_proxy, state_dir, tmp_path):
    fault_proxy.fail("UpdateService", "AccessDeniedException", times=1)
    report = tmp_path / "report.md"
    code, out = await run_app(
        ["--confirm", ENV_NAME, "--no-validate", "--report", str(report), "--lang", "en"],
        env=load_env(ecs_world.env_file),
        settings=settings_via(fault_proxy.url),
        state_dir=state_dir,
    )
    assert code == 1, out
    events = only_journal(state_dir)
    finished = events[-1]
    assert finished.type == ev.RUN_FINISHED and finished.data["result"] == "partial"
    per = finished.data["per_resource"]
    assert sorted(per.values()) == ["failed", "rolled_back"], per
    denied = next(r.split(":", 1)[1] for r, o in per.items() if o == "failed")
    done = next(r.split(":", 1)[1] for r, o in per.items() if o == "rolled_back")
    live = ecs_world.live()
    assert live[denied] == ecs_world.newest()[denied] and live[done] == ecs_world.previous()[done]
    assert f"ecs:{denied}: failed" in out and f"ecs:{done}: rolled_back" in out
    text = report.read_text()
    assert "partial success" in text
    assert f"  - ecs:{denied}: failed" in text and f"  - ecs:{done}: rolled_back" in text


# -- expired credentials -------------------------------------------------------


async def rollback_via(url, env, state_dir, *, poll=0.01, abort=None, attempts=1):
    """A whole run through RollbackRun (what the cockpit and run app share), on ``url``."""
    from rollback_cockpit.actions.app import plan_app
    from rollback_cockpit.actions.rollback import RollbackRun
    from rollback_cockpit.aws.session import Aws

    clock = Clock()
    async with Aws(settings_via(url, attempts)) as aws:
        plan = await plan_app(aws, env, clock)
        journal = jr.Journal.create(state_dir, clock)
        run = RollbackRun(aws, env, clock, journal, "alice")
        await run.take_lock()
        run.start(environment=env.name, kind="app")
        async for _ in run.execute(plan, abort=abort, credentials_poll=poll):
            pass
        await run.release_lock()
        run.finish()
        journal.close()
    return run, jr.read(journal.path)


async def test_expired_credentials_pause_the_step_until_they_work(ecs_world, fault_proxy, state_dir):
    fault_proxy.fail("UpdateService", "ExpiredTokenException", times=1)
    fault_proxy.fail("GetCallerIdentity", "ExpiredTokenException", times=3)  # still expired for three polls
    run, events = await rollback_via(fault_proxy.url, load_env(ecs_world.env_file), state_dir)
    paused = [e for e in of(events, ev.STEP_PROGRESS) if e.data.get("paused") is True]
    assert len(paused) == 1, [e.data for e in of(events, ev.STEP_PROGRESS)]
    step = paused[0].data["step"]
    assert "paused: AWS credentials have expired" in paused[0].data["message"]
    assert "aws sso login" in paused[0].data["message"]
    resumed = [e for e in of(events, ev.STEP_PROGRESS) if e.data.get("paused") is False]
    assert len(resumed) == 1 and resumed[0].data["step"] == step and resumed[0].seq > paused[0].seq
    finished = [e for e in of(events, ev.STEP_FINISHED) if e.data["step"] == step]
    assert len(finished) == 1 and finished[0].seq > resumed[0].seq
    assert not of(events, ev.STEP_FAILED)
    assert fault_proxy.calls("GetCallerIdentity") == 4  # three refused polls, then through
    assert events[-1].data["result"] == "success"
    assert ecs_world.live() == ecs_world.previous()


async def test_abort_while_paused_fails_the_step_saying_so(ecs_world, fault_proxy, state_dir):
    fault_proxy.fail("UpdateService", "ExpiredTokenException", times=1)
    fault_proxy.fail("GetCallerIdentity", "ExpiredTokenException", times=float("inf"))
    abort = asyncio.Event()
    env = load_env(ecs_world.env_file)

    from rollback_cockpit.actions.app import plan_app
    from rollback_cockpit.actions.rollback import RollbackRun
    from rollback_cockpit.aws.session import Aws

    clock = Clock()
    async with Aws(settings_via(fault_proxy.url)) as aws:
        plan = await plan_app(aws, env, clock)
        journal = jr.Journal.create(state_dir, clock)
        # The operator gives up waiting (Ctrl-C) once the pause is on screen.
        journal.subscribe(lambda e: e.data.get("paused") is True and abort.set())
        run = RollbackRun(aws, env, clock, journal, "alice")
        run.start(environment=env.name, kind="app")
        async for _ in run.execute(plan, abort=abort, credentials_poll=0.01):
            pass
        run.finish()
        journal.close()
    events = jr.read(journal.path)
    failed = of(events, ev.STEP_FAILED)
    assert len(failed) == 1 and failed[0].data["error"] == "stopped while paused for expired AWS credentials"
    assert "aws sso login" in failed[0].data["hint"]
    assert events[-1].data["result"] in ("partial", "failed")
    # Nothing is left unknown: every started step ended in the journal.
    started = {e.data["step"] for e in of(events, ev.STEP_STARTED)}
    ended = {e.data["step"] for e in events if e.type in (ev.STEP_FINISHED, ev.STEP_FAILED)}
    assert started <= ended


# -- throttling ----------------------------------------------------------------


async def test_throttled_update_is_retried_and_the_run_succeeds(ecs_world, fault_proxy, state_dir):
    fault_proxy.fail("UpdateService", "ThrottlingException", times=2)
    run, events = await rollback_via(fault_proxy.url, load_env(ecs_world.env_file), state_dir, attempts=4)
    assert events[-1].data["result"] == "success"
    assert not of(events, ev.STEP_FAILED)
    assert fault_proxy.calls("UpdateService") == 4  # two throttled, two through
    assert ecs_world.live() == ecs_world.previous()


async def test_throttling_past_the_retries_fails_the_step_in_one_line(ecs_world, fault_proxy, state_dir):
    fault_proxy.fail("UpdateService", "ThrottlingException", times=float("inf"))
    run, events = await rollback_via(fault_proxy.url, load_env(ecs_world.env_file), state_dir, attempts=2)
    failed = {e.data["step"]: e.data for e in of(events, ev.STEP_FAILED)}
    assert set(failed) == set(UPDATE.values())
    for svc, step in UPDATE.items():
        assert failed[step]["error"] == f"AWS kept throttling UpdateService on ecs:{svc} after retries"
        assert failed[step]["hint"].startswith("wait a minute and retry")
    assert fault_proxy.calls("UpdateService") == 4  # two tries each
    assert events[-1].data["result"] == "failed" and events[-1].data["changed"] is False
    assert ecs_world.live() == ecs_world.newest()


# -- plans stay honest ---------------------------------------------------------


async def test_a_plan_that_changed_before_confirmation_is_shown_again_and_refused(ecs_world, moto, state_dir, monkeypatch):
    from tests.reliability.conftest import CLUSTER, SERVICES, register

    ecs = ecs_world.boto("ecs")
    deployed: list[str] = []

    def someone_deploys_while_the_operator_reads(prompt: str) -> str:
        deployed.append(register(ecs, SERVICES["api-service"], "v1.4-hotfix"))
        ecs.update_service(cluster=CLUSTER, service="api-service", taskDefinition=deployed[0])
        return ENV_NAME

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr("builtins.input", someone_deploys_while_the_operator_reads)
    code, out = await run_app(["--no-validate"], env=load_env(ecs_world.env_file), settings=settings_via(moto), state_dir=state_dir)
    assert code == 3, out
    first, _, again = out.partition("REFUSED: AWS changed since the plan above was read")
    assert "lightningtalk-prod-api:3 → lightningtalk-prod-api:2" in first
    assert "lightningtalk-prod-api:4 → lightningtalk-prod-api:3" in again  # the plan now, shown again
    assert "nothing was changed; review the new plan and run again" in again
    assert ecs_world.live() == {"api-service": deployed[0], "websocket-service": ecs_world.newest()["websocket-service"]}
    assert not (state_dir / "runs").exists()
    assert ecs_world.boto("ssm").describe_parameters()["Parameters"] == []


# -- the journal cannot be written ---------------------------------------------


@pytest.fixture
def full_disk(monkeypatch):
    """Every journal is created on /dev/full: each write fails with ENOSPC, as on a full disk."""
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("no /dev/full here")

    def on_full_disk(cls, state_dir=None, clock=None, run_id=None):
        return cls(full, run_id or "20260301T030405Z-full", clock)

    monkeypatch.setattr(jr.Journal, "create", classmethod(on_full_disk))


def test_a_journal_on_a_full_disk_changes_nothing(cli, ecs_world, full_disk):
    got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME)
    assert got.code == 1, got.text
    assert got.err.startswith("error: ") and "No space left on device" in got.err, got.err
    assert got.err.count("\n") == 1 and "Traceback" not in got.text
    assert ecs_world.live() == ecs_world.newest()
    assert ecs_world.boto("ssm").describe_parameters()["Parameters"] == []  # the lock taken first was given back


def test_a_journal_on_a_full_disk_says_so(cli, ecs_world, full_disk):
    got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME)
    assert got.err.startswith("error: cannot write the journal /dev/full: No space left on device — nothing was changed in AWS"), got.err
