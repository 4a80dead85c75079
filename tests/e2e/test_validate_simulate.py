"""End to end: ``validate`` fails on the bad-deploy rehearsal and passes after a Type A rollback.

One rehearsal world serves the three commands (validate, run app, validate),
each a real subprocess pointed at the world's seeded environment file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# 60, not faster: the world must publish every simulated minute in time on a loaded 2-core machine,
# or the settle check runs out of data (seen in CI at 200).
SPEED = 60.0


def cockpit(*argv: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "rollback_cockpit", *argv], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.mark.slow
def test_validate_fails_before_a_bad_deploy_rollback_and_passes_after(tmp_path):
    from rollback_cockpit.runbook import environment
    from rollback_cockpit.runbook.clock import ScaledClock
    from rollback_cockpit.simulate.world import running_world
    from rollback_cockpit.tui.context import shipped_environment

    state = tmp_path / "state"
    with running_world(shipped_environment(), scenario="bad-deploy", speed=SPEED, state_dir=state) as world:
        env_path = str(world.env_path)
        before = tmp_path / "before.json"
        proc = cockpit("validate", "--env", env_path, "--state-dir", str(state), "--json", str(before))
        assert proc.returncode == 1, proc.stdout + proc.stderr
        failed = {(r["check"], r["status"]) for r in json.loads(before.read_text())["results"] if r["status"] == "fail"}
        assert ("metrics", "fail") in failed and ("logs", "fail") in failed, failed

        proc = cockpit("run", "app", "--env", env_path, "--yes", "--no-validate", "--state-dir", str(state), "--lang", "en")
        assert proc.returncode == 0, proc.stdout + proc.stderr

        # The runbook's log window is 30 minutes: the bad revision's errors
        # age out of it on the world's clock before validation can pass.
        env = environment.load(env_path)
        r = env.rehearsal
        clock = ScaledClock(speed=r.speed, real_epoch=r.real_epoch, sim_epoch=r.sim_epoch)
        import asyncio

        asyncio.run(clock.sleep(env.validation.window_minutes * 60))

        after = tmp_path / "after.json"
        proc = cockpit("validate", "--env", env_path, "--state-dir", str(state), "--json", str(after))
        doc = json.loads(after.read_text())
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert doc["passed"] is True
        assert {r["check"] for r in doc["results"]} == {"endpoints", "integrity", "logs", "performance", "security", "metrics"}
