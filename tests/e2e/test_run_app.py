"""End to end: ``rollback-cockpit run app --simulate --yes`` on the bad-deploy rehearsal, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook import journal as jr


def test_run_app_on_bad_deploy_rolls_back_and_validates(tmp_path):
    state = tmp_path / "state"
    report = tmp_path / "report.md"
    report_json = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rollback_cockpit",
            "run",
            "app",
            "--simulate",
            "--yes",
            "--speed",  # 60: the world keeps publishing each simulated minute even on a loaded 2-core CI machine
            "60",
            "--state-dir",
            str(state),
            "--report",
            str(report),
            "--json",
            str(report_json),
            "--lang",
            "en",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "[REHEARSAL]" in proc.stdout
    assert "result: success" in proc.stdout

    events = jr.read(jr.find_run("last", state))
    assert events[0].type == ev.RUN_STARTED and events[-1].type == ev.RUN_FINISHED
    assert events[0].data["mode"] == "simulate"
    assert events[-1].data["result"] == "success"
    assert set(events[-1].data["per_resource"].values()) == {"rolled_back"}

    # Validation ran on the recovered world and nothing failed.
    results = [e.data for e in events if e.type == ev.VALIDATION_RESULT]
    assert results, "no validation results were journaled"
    assert not [r for r in results if r["status"] == "fail"], results
    assert any(e.type == ev.CHECKLIST_TICKED and e.data["phase"] == "post" and e.data["auto"] for e in events)

    # The report lists every step of the plan.
    steps = next(e for e in events if e.type == ev.PLAN_SHOWN).data["steps"]
    text = report.read_text(encoding="utf-8")
    assert len(steps) == 7
    for step in steps:
        assert step["describe"] in text, step["id"]
    assert report_json.read_text(encoding="utf-8").lstrip().startswith("{")

    # Both services were really updated, not found already at target.
    started = {e.data["step"] for e in events if e.type == ev.STEP_FINISHED}
    assert {"ecs-update:api-service", "ecs-update:websocket-service"} <= started
