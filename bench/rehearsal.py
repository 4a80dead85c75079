"""The rehearsal world as its own process, and the cockpit run on it under a pty.

The world (``rollback-cockpit sim serve``) is started once and kept apart from
the cockpit process, so the cockpit's start-up, bytes and memory are its own:
``rollback-cockpit --env <the world's seeded file>`` is exactly how an
operator opens the cockpit on a world that is already running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.tty import PtyProcess

BIN = Path(sys.executable).parent
COCKPIT = str(BIN / "rollback-cockpit")
COLS, ROWS = 120, 40
# What the first complete frame shows: the header (mode banner, environment)
# and the metrics panel.
FIRST_FRAME = ("SIMULATE", "lightningtalk-prod", "1 Metrics", "error rate")
QUIT = b"\x11"  # ctrl+q


@dataclass
class World:
    env_path: Path
    endpoint_url: str
    seconds_to_ready: float
    process: subprocess.Popen


def cockpit_available() -> str:
    """Empty when the cockpit and the rehearsal world are in this build, else why not."""
    try:
        from rollback_cockpit.tui import app  # noqa: F401
        from rollback_cockpit.tui.commands import cockpit, sim  # noqa: F401
    except ImportError as exc:
        return f"the cockpit is not in this build yet ({exc})"
    from rollback_cockpit.tui import cli

    if "sim" not in cli.COMMANDS:
        return "`rollback-cockpit sim serve` is not registered yet"
    return ""


@contextlib.contextmanager
def world(speed: float = 10.0, log_path: Path | None = None) -> Iterator[World]:
    out = Path(tempfile.mkdtemp(prefix="bench-world-"))
    env = clean_env()
    log = open(log_path or out / "world.log", "wb")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [COCKPIT, "sim", "serve", "--state-dir", str(out), "--speed", str(speed)],
        stdout=subprocess.PIPE, stderr=log, env=env, text=True, start_new_session=True,
    )
    try:
        values: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if "=" in line and not line.startswith("#"):
                k, _, v = line.strip().partition("=")
                values[k] = v
            if line.startswith("# rehearsal world ready"):
                break
        if "ROLLBACK_COCKPIT_ENV" not in values:
            raise RuntimeError(f"the rehearsal world did not start (exit {proc.poll()}; log {log.name})")
        yield World(Path(values["ROLLBACK_COCKPIT_ENV"]), values.get("AWS_ENDPOINT_URL", ""),
                    time.perf_counter() - started, proc)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "TMUX", "STY", "TEXTUAL", "NO_COLOR"):
        env.pop(key, None)
    # The cockpit's own defaults (TEXTUAL_FPS=15, no animation) are what is measured.
    for key in [k for k in env if k.startswith("TEXTUAL_")]:
        env.pop(key)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn_cockpit(env_path: Path, state_dir: Path, *extra: str) -> PtyProcess:
    cmd = [COCKPIT, "--env", str(env_path), "--state-dir", str(state_dir), *extra]
    return PtyProcess.spawn(cmd, clean_env(), cols=COLS, rows=ROWS)
