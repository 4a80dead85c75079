"""The run journal survives a crash: every completed event is intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook import journal as jr
from rollback_cockpit.runbook.clock import ScaledClock


def test_append_is_durable_and_readable(state_dir):
    j = jr.Journal.create(state_dir)
    seen = []
    j.subscribe(seen.append)
    j.append(ev.RUN_STARTED, environment="prod", operator={"local_user": "me"})
    j.append(ev.NOTE, text="日本語も")
    j.close()
    events = jr.read(j.path)
    assert [e.type for e in events] == [ev.RUN_STARTED, ev.NOTE]
    assert [e.seq for e in events] == [1, 2]
    assert events[1].data["text"] == "日本語も"
    assert seen == events  # listeners hear of an event only after it is on disk
    assert j.path.parent == state_dir / "runs" and j.path.name == f"{j.run_id}.jsonl"


def test_simulated_clock_time_is_recorded_beside_wall_time(state_dir):
    clock = ScaledClock(speed=60, real_epoch=time.time(), sim_epoch=1_000_000_000)
    j = jr.Journal.create(state_dir, clock)
    e = j.append(ev.NOTE, text="x")
    assert e.sim_at.startswith("2001-09-09")
    assert e.at[:4] == time.strftime("%Y", time.gmtime())


def test_torn_last_line_is_ignored_and_reopen_continues(state_dir):
    j = jr.Journal.create(state_dir)
    for i in range(3):
        j.append(ev.NOTE, text=str(i))
    j.close()
    with open(j.path, "ab") as fh:
        fh.write(b'{"seq": 4, "type": "no')  # a crash mid-write
    assert [e.data["text"] for e in jr.read(j.path)] == ["0", "1", "2"]
    again = jr.Journal.reopen(j.path)
    again.append(ev.NOTE, text="3")
    again.close()
    assert [e.seq for e in jr.read(j.path)] == [1, 2, 3, 4]


def test_corruption_in_the_middle_is_an_error(state_dir):
    j = jr.Journal.create(state_dir)
    j.append(ev.NOTE, text="a")
    j.close()
    with open(j.path, "ab") as fh:
        fh.write(b"garbage\n")
        fh.write(b'{"seq": 3, "type": "note", "at": "2026-01-01T00:00:00+00:00", "run_id": "r", "data": {}}\n')
    with pytest.raises(jr.JournalError, match="line 2 is corrupted"):
        jr.read(j.path)


def test_unwritable_journal_raises(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    j = jr.Journal(folder / "runs-missing" / "x.jsonl", "x")
    with pytest.raises(jr.JournalError, match="cannot write the journal"):
        j.append(ev.NOTE, text="x")


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from rollback_cockpit.runbook import journal
    j = journal.Journal.create(Path(sys.argv[1]), run_id="killed")
    i = 0
    while True:
        j.append("note", text="x" * 2000, i=i)
        i += 1
        if i == 50:
            print("ready", flush=True)
""")


def test_writer_killed_with_sigkill_leaves_a_loadable_journal(state_dir):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(state_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    events = jr.read(state_dir / "runs" / "killed.jsonl")
    assert len(events) >= 50
    assert [e.data["i"] for e in events] == list(range(len(events)))
    assert all(e.data["text"] == "x" * 2000 for e in events)


def test_find_run_by_id_path_and_last(state_dir):
    a = jr.Journal.create(state_dir, run_id="20260101T000000Z-aaaa")
    a.append(ev.NOTE, text="a")
    b = jr.Journal.create(state_dir, run_id="20260102T000000Z-bbbb")
    b.append(ev.NOTE, text="b")
    assert jr.find_run("20260101T000000Z-aaaa", state_dir) == a.path
    assert jr.find_run(str(b.path), state_dir) == b.path
    assert jr.find_run("last", state_dir) == b.path
    with pytest.raises(FileNotFoundError, match="no run 'nope'"):
        jr.find_run("nope", state_dir)
