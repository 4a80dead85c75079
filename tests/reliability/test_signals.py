"""SIGTERM and SIGHUP (a lost SSH session) during a run: journaled, no new step, exit 1, resumable.

The signal must land while a step is mid-change and its dependent has not
started. To make that deterministic, moto's UpdateService is held at a gate
(the server runs in this process) until the signal has been journaled: the
run is then exactly where an operator's SSH session would drop.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook import journal as jr
from tests.reliability.conftest import ENV_NAME, ecs_backend

UPDATES = {"ecs-update:api-service", "ecs-update:websocket-service"}
STABLES = {"ecs-stable:api-service", "ecs-stable:websocket-service"}


def read_all(state_dir) -> list:
    found = sorted((state_dir / "runs").glob("*.jsonl")) if (state_dir / "runs").exists() else []
    return jr.read(found[0]) if found else []


def wait_for(state_dir, predicate, timeout=20.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = read_all(state_dir)
        if predicate(events):
            return events
        time.sleep(0.02)
    raise AssertionError(f"timed out; journal: {[e.type for e in read_all(state_dir)]}")


@pytest.fixture
def gated_update(ecs_world, monkeypatch):
    """moto's UpdateService waits until the gate opens (at most 20 s)."""
    gate = threading.Event()
    backend = ecs_backend()
    real = backend.update_service

    def held(*args, **kwargs):
        gate.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(backend, "update_service", held)
    yield gate
    gate.set()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_mid_run_stops_new_steps_and_the_run_resumes(cli, ecs_world, gated_update, state_dir, signum):
    problems: list[BaseException] = []

    def operator_side():
        try:
            # Both updates are on the wire, their waits not started: the session drops now.
            wait_for(state_dir, lambda es: UPDATES <= {e.data.get("step") for e in es if e.type == ev.STEP_STARTED})
            os.kill(os.getpid(), signum)
            wait_for(state_dir, lambda es: any(e.type == ev.SIGNAL_RECEIVED for e in es))
        except BaseException as exc:  # reported by the test thread
            problems.append(exc)
        finally:
            gated_update.set()

    # A safety net: should run app not install its handler, the test fails instead of pytest dying.
    missed: list[int] = []
    previous = signal.signal(signum, lambda num, frame: missed.append(num))
    side = threading.Thread(target=operator_side, daemon=True)
    side.start()
    try:
        got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME, "--no-validate")
    finally:
        side.join(30)
        signal.signal(signum, previous)
    assert not missed, "run app did not handle the signal"
    assert not problems, problems
    assert got.code == 1, got.text
    name = signal.Signals(signum).name
    assert f"{name}: no new step will start; running steps finish" in got.out

    events = read_all(state_dir)
    run_id = events[0].run_id
    [sig] = [e for e in events if e.type == ev.SIGNAL_RECEIVED]
    assert sig.data["signal"] == name
    assert all(e.seq < sig.seq for e in events if e.type == ev.STEP_STARTED), "a step started after the signal"
    finished = {e.data["step"] for e in events if e.type == ev.STEP_FINISHED}
    assert finished == UPDATES  # the changes on the wire completed: never cut off mid-change
    aborted = {e.data["step"] for e in events if e.type == ev.STEP_SKIPPED and e.data["outcome"] == "aborted"}
    assert aborted == STABLES
    assert not [e for e in events if e.type == ev.RUN_FINISHED]  # left open on purpose, for --resume
    assert f"continue with: rollback-cockpit run app --env {Path(ecs_world.env_file).resolve()} --resume {run_id}" in got.out
    assert ecs_world.boto("ssm").describe_parameters()["Parameters"] == []  # the lock is not left behind

    again = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME, "--no-validate", "--resume", run_id)
    assert again.code == 0, again.text
    events = read_all(state_dir)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events].count(ev.RUN_STARTED) == 1
    assert [e.type for e in events].count(ev.RUN_FINISHED) == 1 and events[-1].type == ev.RUN_FINISHED
    assert events[-1].data["result"] == "success"
    # The waits ran on resume, or found their service already stable (is_done asks AWS first).
    settled = {e.data["step"] for e in events if e.seq > sig.seq and (e.type == ev.STEP_FINISHED or e.data.get("outcome") == "already_done")}
    assert STABLES <= settled
    assert ecs_world.live() == ecs_world.previous()


def test_a_signal_after_every_step_started_lets_the_run_finish(cli, ecs_world, state_dir, monkeypatch):
    """Nothing was kept from starting, so nothing is left to resume: the run ends normally.

    moto's DescribeServices is held once both updates are made, so the waits
    are launched (reading the service) when the signal lands.
    """
    backend = ecs_backend()
    real_update, real_describe = backend.update_service, backend.describe_services
    updated, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def update(*args, **kwargs):
        out = real_update(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            updated.set()
        return out

    def describe(*args, **kwargs):
        if updated.is_set():
            release.wait(20)
        return real_describe(*args, **kwargs)

    monkeypatch.setattr(backend, "update_service", update)
    monkeypatch.setattr(backend, "describe_services", describe)
    problems: list[BaseException] = []

    def operator_side():
        try:
            wait_for(state_dir, lambda es: UPDATES <= {e.data.get("step") for e in es if e.type == ev.STEP_FINISHED})
            os.kill(os.getpid(), signal.SIGTERM)
            wait_for(state_dir, lambda es: any(e.type == ev.SIGNAL_RECEIVED for e in es))
        except BaseException as exc:  # reported by the test thread
            problems.append(exc)
        finally:
            release.set()

    missed: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda num, frame: missed.append(num))
    side = threading.Thread(target=operator_side, daemon=True)
    side.start()
    try:
        got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME, "--no-validate")
    finally:
        side.join(30)
        signal.signal(signal.SIGTERM, previous)
    assert not problems and not missed, (problems, missed)
    events = read_all(state_dir)
    assert [e.data["signal"] for e in events if e.type == ev.SIGNAL_RECEIVED] == ["SIGTERM"]
    assert got.code == 0, got.text
    assert "stopped between steps" not in got.out
    assert events[-1].type == ev.RUN_FINISHED and events[-1].data["result"] == "success"
    assert not [e for e in events if e.type == ev.STEP_SKIPPED and e.data.get("outcome") == "aborted"]
