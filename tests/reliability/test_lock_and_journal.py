"""Two operators at once, the lock commands, a corrupted journal, a terminal smaller than 80×24."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pytest

from rollback_cockpit.actions import lock
from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook import journal as jr
from rollback_cockpit.runbook.clock import Clock
from tests.reliability.conftest import ENV_NAME, settings_via

LOCK = f"/rollback-cockpit/{ENV_NAME}/lock"


def load_env(path):
    from rollback_cockpit.runbook import environment

    return environment.load(path)


def journals(state_dir) -> list:
    folder = state_dir / "runs"
    return sorted(folder.glob("*.jsonl")) if folder.exists() else []


async def _two_runs_race(url, env, state_dir):
    from rollback_cockpit.actions.rollback import RollbackRun
    from rollback_cockpit.aws.session import Aws

    clock = Clock()
    async with Aws(settings_via(url)) as aws_a, Aws(settings_via(url)) as aws_b:
        a = RollbackRun(aws_a, env, clock, jr.Journal.create(state_dir, clock, run_id="20260301T030000Z-aaaa"), "alice")
        b = RollbackRun(aws_b, env, clock, jr.Journal.create(state_dir, clock, run_id="20260301T030000Z-bbbb"), "bob")
        got = await asyncio.gather(a.take_lock(), b.take_lock(), return_exceptions=True)
        return a, b, got


def test_two_operators_at_once_then_a_stale_lock_broken(cli, ecs_world, moto, state_dir, tmp_path):
    env = load_env(ecs_world.env_file)
    # Two cockpits take the lock at the same instant: SSM's Overwrite=False lets exactly one through.
    a, b, got = asyncio.run(_two_runs_race(moto, env, state_dir))
    winners = [r for r, g in zip((a, b), got, strict=True) if not isinstance(g, BaseException)]
    losers = [g for g in got if isinstance(g, BaseException)]
    assert len(winners) == 1 and len(losers) == 1, got
    assert isinstance(losers[0], lock.LockHeld)
    holder = winners[0]
    assert str(losers[0]) == f"locked by {holder.operator} since {holder.lock_info.started_at} (run {holder.journal.run_id})"
    assert journals(state_dir) == []  # a refused attempt leaves no journal (neither had started)

    # A third operator, on the command line: refused naming the holder, nothing changed.
    second = tmp_path / "second"
    got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME, state=second)
    assert got.code == 3, got.text
    assert f"REFUSED: another rollback of {ENV_NAME} is running: locked by {holder.operator} since" in got.out
    assert f"(run {holder.journal.run_id})" in got.out
    assert "rollback-cockpit lock break --reason TEXT" in got.out
    assert ecs_world.live() == ecs_world.newest()
    assert journals(second) == []

    shown = cli("lock", "show", "--env", ecs_world.env_file)
    assert shown.code == 0
    assert shown.out == f"{ENV_NAME}: locked by {holder.operator} since {holder.lock_info.started_at} (run {holder.journal.run_id}) (SSM parameter {LOCK})\n"

    # The holder's machine died: the lock is broken with a reason, and that is journaled.
    broke = cli("lock", "break", "--env", ecs_world.env_file, "--reason", "alice's laptop died at 03:10", "--confirm", ENV_NAME)
    assert broke.code == 0, broke.text
    assert f"broke the lock of {ENV_NAME}: locked by {holder.operator}" in broke.out
    # The exact command, with the environment file: it can be pasted as it is.
    assert f"rollback-cockpit run app --env {Path(ecs_world.env_file).resolve()} --resume {holder.journal.run_id}" in broke.out
    [path] = journals(state_dir)
    events = jr.read(path)
    assert [e.type for e in events] == [ev.RUN_STARTED, ev.LOCK_BROKEN, ev.RUN_FINISHED]
    assert events[0].data["kind"] == "lock-break" and events[0].data["reason"] == "alice's laptop died at 03:10"
    assert events[1].data["holder"] == {"operator": holder.operator, "run_id": holder.journal.run_id, "started_at": holder.lock_info.started_at}
    assert events[1].data["reason"] == "alice's laptop died at 03:10"
    assert events[2].data["result"] == "none"
    assert cli("report", str(path)).code == 0  # the break renders as a report like any run

    assert cli("lock", "show", "--env", ecs_world.env_file).out == f"{ENV_NAME}: free (SSM parameter {LOCK})\n"
    # Now the third operator gets through.
    got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME, "--no-validate", state=second)
    assert got.code == 0, got.text
    assert ecs_world.live() == ecs_world.previous()


def hold_lock(url, env, operator="carol", run_id="20260301T030000Z-cccc"):
    async def take():
        from rollback_cockpit.aws.session import Aws

        async with Aws(settings_via(url)) as aws:
            return await lock.acquire(aws, env, operator, run_id, Clock())

    return asyncio.run(take())


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["--reason", "   ", "--confirm", ENV_NAME], 2, "error: breaking a lock needs a reason"),
        (["--reason", "stale", "--confirm", "lightningtalk-stg"], 3, "REFUSED: --confirm 'lightningtalk-stg' does not match the environment name 'lightningtalk-prod'"),
        (["--reason", "stale", "--yes"], 3, "REFUSED: --yes is only for rehearsals; on a real environment confirm with --confirm lightningtalk-prod"),
        (["--reason", "stale"], 3, "REFUSED: breaking a lock needs confirmation: pass --confirm lightningtalk-prod"),
    ],
    ids=["blank-reason", "wrong-name", "yes-on-aws", "no-confirmation"],
)
def test_lock_break_refuses_without_reason_and_name(cli, ecs_world, moto, state_dir, argv, code, says):
    held = hold_lock(moto, load_env(ecs_world.env_file))
    got = cli("lock", "break", "--env", ecs_world.env_file, *argv)
    assert got.code == code, got.text
    assert says in got.text
    assert journals(state_dir) == []
    assert cli("lock", "show", "--env", ecs_world.env_file).out.startswith(f"{ENV_NAME}: {held.describe()}")


def test_lock_break_without_reason_is_a_usage_error(cli, ecs_world):
    with pytest.raises(SystemExit) as info:
        cli("lock", "break", "--env", ecs_world.env_file, "--confirm", ENV_NAME)
    assert info.value.code == 2


def test_lock_break_asks_for_the_name_at_a_terminal(cli, ecs_world, moto, state_dir, monkeypatch):
    hold_lock(moto, load_env(ecs_world.env_file))
    asked = []

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or ENV_NAME)
    got = cli("lock", "break", "--env", ecs_world.env_file, "--reason", "stale since yesterday")
    assert got.code == 0, got.text
    assert asked == [f"type the environment name ({ENV_NAME}) to break the lock held by carol: "]
    assert len(journals(state_dir)) == 1
    assert cli("lock", "show", "--env", ecs_world.env_file).out.startswith(f"{ENV_NAME}: free")


def test_lock_break_on_a_free_lock_changes_and_journals_nothing(cli, ecs_world, state_dir):
    got = cli("lock", "break", "--env", ecs_world.env_file, "--reason", "just in case", "--confirm", ENV_NAME)
    assert got.code == 0
    assert got.out == f"{ENV_NAME}: the lock is free; nothing to break\n"
    assert journals(state_dir) == []


def test_lock_break_refuses_when_the_lock_changed_during_the_prompt(cli, ecs_world, moto, state_dir, monkeypatch):
    env = load_env(ecs_world.env_file)
    hold_lock(moto, env)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    def meanwhile(prompt):
        # carol's run ended and dave started one while the operator typed.
        import boto3

        ssm = boto3.client("ssm", region_name="ap-northeast-1", endpoint_url=moto)
        ssm.delete_parameter(Name=LOCK)
        value = '{"operator": "dave", "run_id": "20260301T031500Z-dddd", "started_at": "2026-03-01T03:15:00+00:00"}'
        ssm.put_parameter(Name=LOCK, Value=value, Type="String")
        return ENV_NAME

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr("builtins.input", meanwhile)
    got = cli("lock", "break", "--env", ecs_world.env_file, "--reason", "stale")
    assert got.code == 3, got.text
    assert "REFUSED: the lock changed while it was being confirmed: locked by dave" in got.out
    assert journals(state_dir) == []
    assert "locked by dave" in cli("lock", "show", "--env", ecs_world.env_file).out


def test_in_a_rehearsal_yes_is_enough_to_break(cli, ecs_world, moto, state_dir, tmp_path):
    import time

    rehearsal = tmp_path / "rehearsal.yaml"
    now = time.time()
    rehearsal.write_text(
        ecs_world.env_file.read_text()
        + f"rehearsal:\n  speed: 10\n  real_epoch: {now}\n  sim_epoch: {now}\n"
        + f"  service_url: http://127.0.0.1:9\n  endpoint_url: {moto}\n  scenario: bad-deploy\n",
        encoding="utf-8",
    )
    hold_lock(moto, load_env(ecs_world.env_file))
    got = cli("lock", "break", "--env", rehearsal, "--reason", "rehearsing a stale lock", "--yes")
    assert got.code == 0, got.text
    [path] = journals(state_dir)
    assert jr.read(path)[0].data["mode"] == "simulate"
    assert cli("lock", "show", "--env", rehearsal).out.startswith(f"{ENV_NAME}: free")


def test_resume_last_after_a_lock_break_finds_the_interrupted_rollback(cli, ecs_world, moto, state_dir):
    interrupted = unfinished_run(cli, ecs_world, state_dir)  # died before run_finished, its lock left behind
    hold_lock(moto, load_env(ecs_world.env_file), operator="alice", run_id=interrupted.stem)
    assert cli("lock", "break", "--env", ecs_world.env_file, "--reason", "died", "--confirm", ENV_NAME).code == 0
    got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME, "--no-validate", "--resume", "last")
    assert got.code == 0, got.text
    assert f"resuming run {interrupted.stem}" in got.out


# -- a corrupted journal ---------------------------------------------------------


def unfinished_run(cli, ecs_world, state_dir):
    """A real run's journal, cut where a crash would leave it (no run_finished)."""
    got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME, "--no-validate")
    assert got.code == 0, got.text
    [path] = journals(state_dir)
    lines = path.read_bytes().splitlines(keepends=True)
    assert b'"run_finished"' in lines[-1]
    path.write_bytes(b"".join(lines[:-1]))
    return path


def corrupt_line(path, number: int) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[number - 1] = lines[number - 1][: len(lines[number - 1]) // 2] + b"\x00garbage\n"
    path.write_bytes(b"".join(lines))


def test_a_corrupted_journal_is_a_clear_error_for_report_and_resume(cli, ecs_world, state_dir):
    path = unfinished_run(cli, ecs_world, state_dir)
    corrupt_line(path, 3)
    before = path.read_bytes()
    after_run = ecs_world.live()

    got = cli("report", path.stem)
    assert got.code == 2
    assert got.err == f"error: {path}: line 3 is corrupted\n"
    got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME, "--resume", path.stem)
    assert got.code == 2
    assert got.err == f"error: {path}: line 3 is corrupted\n"
    assert path.read_bytes() == before  # the evidence is left as it was
    assert ecs_world.live() == after_run
    assert ecs_world.boto("ssm").describe_parameters()["Parameters"] == []


def test_a_torn_last_line_is_dropped_and_the_run_resumes(cli, ecs_world, state_dir):
    path = unfinished_run(cli, ecs_world, state_dir)
    with open(path, "ab") as fh:
        fh.write(b'{"seq": 99, "type": "step_sta')  # the write a kill -9 cut
    got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME, "--resume", path.stem, "--no-validate")
    assert got.code == 0, got.text
    events = jr.read(path)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events].count(ev.RUN_STARTED) == 1
    assert events[-1].type == ev.RUN_FINISHED and events[-1].data["result"] == "success"
    assert ecs_world.live() == ecs_world.previous()


def test_a_resumed_run_reports_what_it_changed_before_the_crash(cli, ecs_world, state_dir):
    path = unfinished_run(cli, ecs_world, state_dir)
    got = cli("run", "app", "--env", ecs_world.env_file, "--confirm", ENV_NAME, "--resume", path.stem, "--no-validate")
    assert got.code == 0, got.text
    finished = jr.read(path)[-1].data
    assert finished["changed"] is True
    assert finished["per_resource"] == {"ecs:api-service": "rolled_back", "ecs:websocket-service": "rolled_back"}
    assert "nothing was changed" not in got.out


# -- a terminal smaller than 80×24 --------------------------------------------------


@pytest.mark.parametrize(("size", "shown"), [((60, 20), "lightningtalk-prod"), ((40, 12), "SIMULATE")])
async def test_a_small_terminal_does_not_crash_the_cockpit(tmp_path, size, shown):
    from tests.ui.helpers import frozen_app

    app = frozen_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in ("2", "3", "4", "5", "1"):  # every tab, at this size
            await pilot.press(key)
            await pilot.pause()
        assert app.is_running
        assert shown in screen_text(app)
    assert app.return_code in (None, 0)


def screen_text(app) -> str:
    import html
    import re

    svg = app.export_screenshot()
    return html.unescape("".join(re.findall(r"<text[^>]*>(.*?)</text>", svg))).replace("\xa0", " ")


async def test_a_small_terminal_is_told_it_is_too_small(tmp_path):
    from tests.ui.helpers import frozen_app

    app = frozen_app(tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        assert "too small" in screen_text(app).lower()
