"""The disk fills up in the middle of a run: no change is made that the journal cannot record.

``run app`` runs in a subprocess whose files may not grow past a byte limit
(RLIMIT_FSIZE, with SIGXFSZ ignored: a write past it fails with EFBIG, as a
full disk fails with ENOSPC). The limit is placed from a reference run's
journal, so the journal fills up exactly (a) before the first change, or
(b) after the changes were journaled as started but before they are
journaled as finished.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import urllib.request

import pytest

from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook import journal as jr
from tests.reliability.conftest import ENV_NAME, EcsWorld, seed_ecs


def run_app(env_file, state, moto, limit=None) -> subprocess.CompletedProcess:
    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return subprocess.run(
        [sys.executable, "-m", "rollback_cockpit", "run", "app", "--env", str(env_file), "--confirm", ENV_NAME,
         "--no-validate", "--state-dir", str(state)],
        capture_output=True, text=True, env=env, timeout=60, preexec_fn=limited if limit else None,
    )


def line_ends(path) -> list[tuple[int, str, str]]:
    """(byte offset after the line, event type, step) for each event of a journal."""
    out, offset = [], 0
    for raw, event in zip(path.read_bytes().splitlines(keepends=True), jr.read(path), strict=True):
        offset += len(raw)
        out.append((offset, event.type, event.data.get("step", "")))
    return out


_REFERENCE: list = []


@pytest.fixture
def reference(ecs_world, moto, tmp_path, boto):
    """Byte offsets of a complete run's journal (measured once); the world as seeded."""
    if _REFERENCE:
        return _REFERENCE[0], ecs_world
    state = tmp_path / "reference"
    done = run_app(ecs_world.env_file, state, moto)
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = (state / "runs").glob("*.jsonl")
    ends = line_ends(path)
    _REFERENCE.append(ends)
    urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset", method="POST"), timeout=10).read()
    return ends, EcsWorld(boto, ecs_world.env_file, seed_ecs(boto))


def started_updates(events) -> set[str]:
    return {e.data["step"].split(":", 1)[1] for e in events if e.type == ev.STEP_STARTED and e.data["step"].startswith("ecs-update:")}


def test_disk_full_before_the_first_change_changes_nothing(reference, moto, state_dir):
    ends, world = reference
    plan_end = next(off for off, type_, _ in ends if type_ == ev.PLAN_SHOWN)
    got = run_app(world.env_file, state_dir, moto, limit=plan_end + 50)  # room for the plan, not for a step
    assert got.returncode == 1, got.stdout + got.stderr
    assert [line for line in got.stderr.splitlines() if line.startswith("error: ") and "File too large" in line], got.stderr
    [path] = (state_dir / "runs").glob("*.jsonl")
    events = jr.read(path)
    assert events[-1].type == ev.PLAN_SHOWN and not started_updates(events)
    assert world.live() == world.newest()
    assert world.boto("ssm").describe_parameters()["Parameters"] == []  # the lock was still given back


def test_disk_full_mid_change_leaves_every_change_journaled_as_started(reference, moto, state_dir):
    ends, world = reference
    last_start = max(off for off, type_, step in ends if type_ == ev.STEP_STARTED and step.startswith("ecs-update:"))
    got = run_app(world.env_file, state_dir, moto, limit=last_start + 50)  # no room for a step_finished
    assert got.returncode == 1, got.stdout + got.stderr
    [path] = (state_dir / "runs").glob("*.jsonl")
    events = jr.read(path)
    assert not [e for e in events if e.type in (ev.STEP_FINISHED, ev.RUN_FINISHED)]
    assert started_updates(events) == {"api-service", "websocket-service"}
    changed = {svc for svc, arn in world.live().items() if arn != world.newest()[svc]}
    # What did change was journaled as started before it was made: the journal says where to look,
    # and --resume asks AWS whether those steps got there.
    assert changed <= started_updates(events)
    assert not [e for e in events if e.type == ev.STEP_STARTED and e.data["step"].startswith("ecs-stable:")]


def test_disk_full_is_one_clear_line(reference, moto, state_dir):
    ends, world = reference
    plan_end = next(off for off, type_, _ in ends if type_ == ev.PLAN_SHOWN)
    got = run_app(world.env_file, state_dir, moto, limit=plan_end + 50)
    assert got.stderr.splitlines()[-1].startswith("error: cannot write the journal")
    assert "Traceback" not in got.stderr and "Logging error" not in got.stderr
    assert "could not release the lock" not in got.stdout


def test_disk_full_mid_change_does_not_claim_nothing_changed(reference, moto, state_dir):
    ends, world = reference
    last_start = max(off for off, type_, step in ends if type_ == ev.STEP_STARTED and step.startswith("ecs-update:"))
    got = run_app(world.env_file, state_dir, moto, limit=last_start + 50)
    assert world.live() != world.newest()  # the updates went through
    assert "nothing was changed in AWS" not in got.stderr
