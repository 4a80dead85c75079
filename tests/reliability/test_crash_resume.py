"""kill -9 in the middle of a rollback, then ``--resume``: one continuous journal, every service at target.

End to end on the rehearsal world: the world is started once (``running_world``,
a child process) and both the killed run and the resume use its seeded
environment file, so both see the same AWS (``--simulate`` would start a new
world for each).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import boto3

from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook import journal as jr
from tests.reliability.conftest import ENV_NAME

SERVICES = ("api-service", "websocket-service")


def command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "rollback_cockpit", *argv]


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def journal_events(state) -> list:
    found = sorted((state / "runs").glob("*.jsonl")) if (state / "runs").exists() else []
    return jr.read(found[0]) if found else []


def test_kill_9_mid_rollback_then_resume(tmp_path):
    from rollback_cockpit.simulate.world import running_world
    from rollback_cockpit.tui.context import shipped_environment

    state = tmp_path / "state"
    with running_world(shipped_environment(), scenario="bad-deploy", speed=20.0, state_dir=tmp_path / "world") as world:
        env_file = str(world.env_path)
        proc = subprocess.Popen(
            command("run", "app", "--env", env_file, "--yes", "--no-validate", "--state-dir", str(state)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=child_env(),
            start_new_session=True,
        )
        try:
            # Watch the journal as an operator's screen would: kill once the first service's update is done.
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                events = journal_events(state)
                if any(e.type == ev.STEP_FINISHED and e.data["step"].startswith("ecs-update:") for e in events):
                    break
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.02)
            else:
                raise AssertionError(f"no ECS update finished; journal: {[e.type for e in journal_events(state)]}")
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            proc.stdout.close()

        killed = journal_events(state)
        run_id = killed[0].run_id
        assert not [e for e in killed if e.type == ev.RUN_FINISHED]
        plan = next(e for e in killed if e.type == ev.PLAN_SHOWN).data
        targets = {s["params"]["service"]: s["params"]["target_arn"] for s in plan["steps"] if s["type"] == "ecs-update"}
        ended = {e.data["step"] for e in killed if e.type in (ev.STEP_FINISHED, ev.STEP_FAILED, ev.STEP_SKIPPED)}
        cut_short = {e.data["step"] for e in killed if e.type == ev.STEP_STARTED} - ended
        assert cut_short, "the kill should land while a step (a stability wait) is running"

        resumed = subprocess.run(
            command("run", "app", "--env", env_file, "--yes", "--no-validate", "--state-dir", str(state), "--resume", run_id),
            capture_output=True,
            text=True,
            timeout=120,
            env=child_env(),
        )
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert f"resuming run {run_id}:" in resumed.stdout
        for step in cut_short:
            assert f"{step} was running when it stopped: AWS is asked whether it got there" in resumed.stdout

        ecs = boto3.client(
            "ecs", region_name="ap-northeast-1", endpoint_url=world.endpoint_url,
            aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal",
        )
        live = {s["serviceName"]: s for s in ecs.describe_services(cluster="lightningtalk-prod", services=list(SERVICES))["services"]}
        for svc in SERVICES:
            assert live[svc]["taskDefinition"] == targets[svc], svc
            assert live[svc]["runningCount"] == live[svc]["desiredCount"]

    events = jr.read(jr.find_run(run_id, state))
    assert [e.seq for e in events] == list(range(1, len(events) + 1)), "one continuous journal"
    assert {e.run_id for e in events} == {run_id}
    types = [e.type for e in events]
    assert types.count(ev.RUN_STARTED) == 1 and types[0] == ev.RUN_STARTED
    assert types.count(ev.RUN_FINISHED) == 1 and types[-1] == ev.RUN_FINISHED
    assert events[-1].data["result"] == "success"
    assert any(e.type == ev.NOTE and e.data.get("resumed") for e in events)
    assert events[0].data["environment"] == ENV_NAME
