"""5. Terminal bandwidth over SSH: bytes/second written to a 120×40 pty, idle and while a rollback streams; peak RSS."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench import rehearsal
from bench.measure import Section, Target

ENTER, DOWN, HOME = b"\r", b"\x1b[B", b"\x1b[H"


def _kb(n: float) -> str:
    return f"{n / 1024:.2f} KB/s"


def bench_terminal(idle_seconds: float) -> Section:
    sec = Section("terminal", "5. Terminal bandwidth (pty at 120×40) and peak memory")
    missing = rehearsal.cockpit_available()
    if missing:
        sec.not_measured("bytes/s idle", "≤ 2 KB/s", missing)
        sec.not_measured("bytes/s while a rollback and validation stream", "≤ 20 KB/s", missing)
        sec.not_measured("peak RSS", "≤ 200 MB", missing)
        return sec
    state = Path(tempfile.mkdtemp(prefix="bench-term-"))
    rows, rss = [], {}
    idle = stream = None
    stream_why = ""
    try:
        with rehearsal.world() as w:
            # Idle: the cockpit as it sits on screen, metrics refreshing on their timer.
            p = rehearsal.spawn_cockpit(w.env_path, state / "idle")
            try:
                first = p.wait_for(*rehearsal.FIRST_FRAME, timeout=60)
                if first is None:
                    raise RuntimeError(f"no first frame: {' '.join(p.text().split())[-300:]}")
                time.sleep(2.0)  # the first burst: first sample, identity, readiness
                t0 = time.perf_counter()
                time.sleep(idle_seconds)
                t1 = time.perf_counter()
                n = p.bytes_between(t0, t1)
                idle = n / (t1 - t0)
                startup_bytes = p.bytes_between(p.started, t0)
                rss["idle"] = p.peak_rss_kb()
                rows.append(["idle (metrics refreshing)", f"{t1 - t0:.1f} s", f"{n:,}", _kb(idle),
                             f"first frame + first samples before the window: {startup_bytes:,} B"])
            finally:
                p.stop(rehearsal.QUIT)
            # Streaming: plan, execute and validate a Type A rollback, driven with keys.
            p = rehearsal.spawn_cockpit(w.env_path, state / "stream")
            try:
                if p.wait_for(*rehearsal.FIRST_FRAME, timeout=60) is None:
                    raise RuntimeError("no first frame")
                time.sleep(1.0)
                stream, detail, stream_why = _drive_rollback(p)
                rss["streaming"] = p.peak_rss_kb()
                if detail:
                    rows.append(detail)
            finally:
                p.stop(rehearsal.QUIT)
    except Exception as exc:
        stream_why = stream_why or f"the run failed: {exc}"
        sec.notes.append(f"terminal bench stopped early: {exc}")
    finally:
        shutil.rmtree(state, ignore_errors=True)

    sec.how += [
        f"The cockpit (`rollback-cockpit --env <the rehearsal world's seeded file>`, its own defaults: "
        f"TEXTUAL_FPS=15, no animation) under a pty at {rehearsal.COLS}×{rehearsal.ROWS}, TERM=xterm-256color, "
        "every byte it writes read and timestamped by a thread (the pty stands in for the SSH channel). The "
        "rehearsal world (scenario bad-deploy, 10× clock) runs in its own process.",
        f"Idle: after the first frame and 2 s more, bytes over {idle_seconds:g} s with nothing pressed (the "
        "clock line ticks every second, metrics refresh every CloudWatch period of world time = 6 s; the "
        "15-second 'not inside tmux or screen' notice, shown because the pty is not inside tmux, goes away "
        "within the window).",
        "Streaming: keys through the pty — `r` (actions panel), `enter` on Type A (plan), `x` (execute), a "
        "reason for the open pre-checklist items + `enter`, `y` (confirm the rehearsal run); the rollback runs "
        "and validation starts by itself. Window: from `y` until 'validation done' is on screen.",
        "Peak RSS: VmHWM from /proc/<pid>/status of the cockpit process just before quitting (the world is "
        "another process and is not counted).",
    ]
    sec.table(["phase", "window", "bytes", "rate", "notes"], rows)
    sec.data.update(idle_bps=idle, stream_bps=stream, rss_kb=rss)
    if idle is None:
        sec.not_measured("bytes/s idle", "≤ 2 KB/s", stream_why or "no frame")
    else:
        sec.targets.append(Target("bytes/s idle", "≤ 2.00 KB/s", _kb(idle), idle <= 2048,
                                  "" if idle <= 2048 else f"{(idle - 2048) / 1024:.2f} KB/s over"))
    if stream is None:
        sec.not_measured("bytes/s while a rollback and validation stream", "≤ 20 KB/s", stream_why)
    else:
        sec.targets.append(Target("bytes/s while a rollback and validation stream", "≤ 20.00 KB/s", _kb(stream),
                                  stream <= 20480, "" if stream <= 20480 else f"{(stream - 20480) / 1024:.2f} KB/s over"))
    peak = max((v for v in rss.values() if v), default=None)
    if peak is None:
        sec.not_measured("peak RSS of the cockpit", "≤ 200 MB", stream_why or "process gone before reading")
    else:
        mb = peak / 1024
        sec.targets.append(Target("peak RSS of the cockpit", "≤ 200 MB",
                                  ", ".join(f"{k} {v / 1024:.0f} MB" for k, v in rss.items() if v), mb <= 200,
                                  "" if mb <= 200 else f"{mb - 200:.0f} MB over"))
    return sec


def _drive_rollback(p: rehearsal.PtyProcess) -> tuple[float | None, list[str] | None, str]:
    """(bytes/s, table row, why not) for one rollback + validation driven through the pty."""
    p.send(b"r")
    time.sleep(0.5)
    mark = time.perf_counter()
    p.send(ENTER)
    if p.wait_for("plan ready", timeout=30, since=mark) is None:
        # The highlight may not be on the first kind yet.
        p.send(HOME)
        time.sleep(0.3)
        mark = time.perf_counter()
        p.send(ENTER)
        if p.wait_for("plan ready", timeout=30, since=mark) is None:
            return None, None, f"the plan never became ready: {_tail(p)}"
    time.sleep(0.5)
    mark = time.perf_counter()
    p.send(b"x")
    time.sleep(1.0)
    if p.wait_for("reason", timeout=5, since=mark) is not None:
        p.send(b"benchmark run")
        p.send(ENTER)
        time.sleep(0.5)
    start = time.perf_counter()
    p.send(b"y")
    done = p.wait_for("validation done", timeout=180, since=start)
    if done is None:
        return None, None, f"'validation done' never appeared: {_tail(p)}"
    end = max(done, start + 0.001)
    n = p.bytes_between(start, end + 0.001)
    rate = n / (end - start)
    row = ["rollback + validation streaming", f"{end - start:.1f} s", f"{n:,}", _kb(rate),
           "from `y` (confirm) to 'validation done' on screen"]
    return rate, row, ""


def _tail(p: rehearsal.PtyProcess) -> str:
    return " ".join(p.text().split())[-300:]
