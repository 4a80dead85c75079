"""2. Start-up: `rollback-cockpit --version`, and process start → first complete frame of the cockpit."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from bench import rehearsal
from bench.measure import Samples, Section, Target, fmt_range, fmt_s, timed

PY = sys.executable

# What the processes of the other benchmarks pay before doing anything:
# context for the --version figure and for the Type A gap.
PROBES = [
    ("rollback-cockpit --version", [rehearsal.COCKPIT, "--version"]),
    ("python -c pass (interpreter floor)", [PY, "-c", "pass"]),
    ("python -c 'import boto3' (the floor script's imports)", [PY, "-c", "import boto3; boto3.client"]),
    (
        "python -c 'import aiobotocore.session' (the cockpit's AWS layer)",
        [PY, "-c", "import aiobotocore.session"],
    ),
    (
        "python -c 'import <everything run app imports>'",
        [PY, "-c", "import rollback_cockpit.tui.cli, rollback_cockpit.tui.commands.run, "
         "rollback_cockpit.tui.context, rollback_cockpit.actions.app, rollback_cockpit.actions.steps, "
         "rollback_cockpit.runbook.journal, rollback_cockpit.runbook.report, aiobotocore.session"],
    ),
    ("python -c 'import textual.app' (the UI toolkit)", [PY, "-c", "import textual.app"]),
    ("aws --version (one aws CLI launch)", [str(Path(PY).parent / "aws"), "--version"]),
]


def bench_startup(rounds: int) -> Section:
    sec = Section("startup", "2a. Start-up of a command")
    env = rehearsal.clean_env()
    samples = {label: Samples(label) for label, _ in PROBES}
    for _ in range(1):  # warm-up: .pyc files and page cache
        for _, cmd in PROBES:
            if Path(cmd[0]).exists():
                timed(cmd, env)
    for _ in range(rounds):
        for label, cmd in PROBES:
            if not Path(cmd[0]).exists():
                samples[label].failures.append(f"{cmd[0]} not installed")
                continue
            run = timed(cmd, env)
            (samples[label].values.append(run.seconds) if run.returncode == 0
             else samples[label].failures.append(f"exit {run.returncode}: {run.stderr.strip()[-200:]}"))
    sec.how.append(
        f"Whole-process wall time of each command, {rounds} rounds interleaved (one untimed warm-up round), "
        "`time.perf_counter()` around `subprocess.run`."
    )
    sec.table(["command", "median", "min–max", "runs"],
              [[label, fmt_s(s.median), fmt_range(s), str(len(s.values))] for label, s in samples.items()])
    version = samples["rollback-cockpit --version"]
    if version.median is not None:
        ok = version.median <= 0.3
        floor = samples["python -c pass (interpreter floor)"].median or 0
        sec.targets.append(Target("`rollback-cockpit --version`", "≤ 0.300 s", fmt_s(version.median), ok,
                                  "" if ok else f"{version.median - 0.3:.3f} s over; the interpreter alone takes "
                                  f"{floor:.3f} s here"))
    sec.data["probes"] = {k: s.values for k, s in samples.items()}
    return sec


def bench_frame(rounds: int, simulate_rounds: int) -> Section:
    sec = Section("frame", "2b. Start-up of the cockpit: process start → first complete frame")
    _first_frame(sec, rounds, simulate_rounds)
    return sec


def _first_frame(sec: Section, rounds: int, simulate_rounds: int) -> None:
    missing = rehearsal.cockpit_available()
    if missing:
        sec.not_measured("process start → first complete frame", "≤ 1.000 s", missing)
        return
    state = Path(tempfile.mkdtemp(prefix="bench-frame-"))
    frame = Samples("first frame")
    first_byte = Samples("first byte")
    full = Samples("first frame with --simulate")
    try:
        with rehearsal.world() as w:
            sec.data["world_ready_s"] = w.seconds_to_ready
            for i in range(rounds + 1):  # the first is a warm-up
                p = rehearsal.spawn_cockpit(w.env_path, state)
                try:
                    at = p.wait_for(*rehearsal.FIRST_FRAME, timeout=30)
                    if i == 0:
                        continue
                    if at is None:
                        frame.failures.append(_tail(p))
                    else:
                        frame.values.append(at - p.started)
                        first_byte.values.append(p.snapshot()[0].at - p.started)
                finally:
                    p.stop(rehearsal.QUIT)
        # The one-command rehearsal: the world starts inside the cockpit's process tree.
        for _ in range(simulate_rounds):
            p = rehearsal.PtyProcess.spawn([rehearsal.COCKPIT, "--simulate", "--state-dir", str(state)],
                                           rehearsal.clean_env(), cols=rehearsal.COLS, rows=rehearsal.ROWS)
            try:
                at = p.wait_for(*rehearsal.FIRST_FRAME, timeout=90)
                (full.values.append(at - p.started) if at else full.failures.append(_tail(p)))
            finally:
                p.stop(rehearsal.QUIT)
    except Exception as exc:  # the world itself failed: say so, keep the rest of the bench
        sec.not_measured("process start → first complete frame", "≤ 1.000 s", f"the rehearsal world failed: {exc}")
        return
    finally:
        shutil.rmtree(state, ignore_errors=True)
    sec.how.append(
        f"First frame: `rollback-cockpit --env <the rehearsal world's seeded file>` under a pty at "
        f"{rehearsal.COLS}×{rehearsal.ROWS} (TERM=xterm-256color), the world already running in its own process "
        "(`rollback-cockpit sim serve`, as an operator would have it). Time from spawn to the pty chunk after "
        f"which all of {', '.join(repr(n) for n in rehearsal.FIRST_FRAME)} have been written (header: mode banner "
        f"and environment; the metrics panel). {rounds} runs after one warm-up; ctrl+q between runs. "
        "Also measured: `rollback-cockpit --simulate`, where the same process tree first starts and seeds the world."
    )
    sec.table(["first complete frame", "median", "min–max", "runs", "failures"], [
        ["cockpit on a running world (`--env`)", fmt_s(frame.median), fmt_range(frame), str(len(frame.values)),
         (frame.failures[0][:160] if frame.failures else "")],
        ["… of which: spawn → first byte on the pty (Textual's driver starts)", fmt_s(first_byte.median),
         fmt_range(first_byte), str(len(first_byte.values)), ""],
        ["`--simulate` (world start + seeding included)", fmt_s(full.median), fmt_range(full), str(len(full.values)),
         (full.failures[0][:160] if full.failures else "")],
    ])
    sec.data["first_frame"] = {"values": frame.values, "failures": frame.failures, "first_byte": first_byte.values,
                               "simulate_values": full.values, "simulate_failures": full.failures}
    if frame.median is None:
        sec.not_measured("process start → first complete frame", "≤ 1.000 s",
                         f"no frame seen: {(frame.failures or ['?'])[0][:200]}")
    else:
        ok = frame.median <= 1.0
        fb = first_byte.median or 0.0
        why = ""
        if not ok:
            why = (f"{frame.median - 1.0:.3f} s over: {fb:.3f} s pass before the first byte (interpreter, argument "
                   f"parsing, imports, the environment file), the other {frame.median - fb:.3f} s from Textual's "
                   "start to a complete frame (compose, mount, first paint, and whatever the mount starts on the "
                   "UI's event loop before that paint)")
        sec.targets.append(Target("process start → first complete frame", "≤ 1.000 s", fmt_s(frame.median), ok, why))


def _tail(p: rehearsal.PtyProcess) -> str:
    text = " ".join(p.text().split())
    return f"exit {p.proc.poll()}; last output: {text[-300:]}"
