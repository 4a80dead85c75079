"""``running_world``: the rehearsal world as a child process, for the cockpit and for headless commands.

Why a child process (``rollback-cockpit sim serve``) and not a thread with
its own event loop: moto is pure Python and CPU-heavy — seeding is ~5 s of
CPU (EC2's import decodes ~100 JSON files; moto sizes each of the 20k
DynamoDB items on insert), and every ``get_metric_data`` rescans all
datapoints of its window. In the same process all of that holds the GIL
against the cockpit's event loop. Measured on the 2-core machine, worst
wake-up lag of a 10 ms asyncio sleep while the world seeds: 0.65 s with moto
in a thread (Textual would visibly freeze), 0.10 s with the world in a child
(which competes for a core, not for the GIL). A child also works the same
under ``asyncio.run`` and inside an already running Textual loop (nothing is
scheduled on the caller's loop), and stopping it cannot leave a thread or a
port behind in the cockpit's process.

The child prints shell-friendly ``KEY=value`` lines once ready; this module
reads them, and on exit closes the child's stdin (``--exit-with-parent``: it
also stops if this process dies) and sends SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rollback_cockpit.runbook.clock import ScaledClock

START_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0


class WorldError(Exception):
    """The rehearsal world did not start (the message carries the tail of its log)."""


@dataclass(frozen=True)
class WorldInfo:
    endpoint_url: str
    service_url: str
    env_path: Path
    clock: ScaledClock


class WorldProcess:
    """One ``sim serve`` child: launch, wait until ready, stop. Two can start side by side."""

    def __init__(self, env_path: str | Path, *, scenario: str = "bad-deploy", speed: float = 10.0,
                 port: int = 0, state_dir: str | Path | None = None):
        self._tmp: tempfile.TemporaryDirectory | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="rollback-world-")
            self.out_dir = Path(self._tmp.name)
        else:
            self.out_dir = Path(state_dir).expanduser() / "rehearsal"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.out_dir / "world.log"
        self.cmd = [
            sys.executable, "-m", "rollback_cockpit", "sim", "serve",
            "--env", str(env_path), "--scenario", scenario, "--speed", repr(float(speed)),
            "--port", str(port), "--state-dir", str(self.out_dir), "--exit-with-parent",
        ]
        self.proc: subprocess.Popen | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self.info: WorldInfo | None = None

    def launch(self) -> WorldProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("AWS_ENDPOINT_URL", None)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                start_new_session=True,  # Ctrl-C in the cockpit's terminal is the cockpit's to handle
            )
        self._reader = threading.Thread(target=self._read, name="rehearsal-world-stdout", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._lines.put(None)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> WorldInfo:
        from rollback_cockpit.runbook import environment

        deadline = time.monotonic() + timeout
        values: dict[str, str] = {}
        while not {"AWS_ENDPOINT_URL", "ROLLBACK_COCKPIT_ENV", "SERVICE_URL"} <= values.keys():
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise WorldError(f"the rehearsal world did not start within {timeout:.0f} s{self._tail()}") from None
            if line is None:
                self.stop()
                raise WorldError(f"the rehearsal world stopped while starting{self._tail()}")
            key, sep, value = line.partition("=")
            if sep and not line.startswith("#"):
                values[key] = value
        env = environment.load(values["ROLLBACK_COCKPIT_ENV"])
        r = env.rehearsal
        assert r is not None
        self.info = WorldInfo(
            endpoint_url=values["AWS_ENDPOINT_URL"], service_url=values["SERVICE_URL"],
            env_path=Path(values["ROLLBACK_COCKPIT_ENV"]),
            clock=ScaledClock(speed=r.speed, real_epoch=r.real_epoch, sim_epoch=r.sim_epoch),
        )
        return self.info

    def _tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-8:]
        except OSError:
            return ""
        return (":\n  " + "\n  ".join(lines)) if lines else ""

    def stop(self) -> int | None:
        """Stop the child and wait for it; returns its exit status."""
        code = None
        if self.proc is not None:
            with contextlib.suppress(OSError):
                if self.proc.stdin:
                    self.proc.stdin.close()
            if self.proc.poll() is None:
                self.proc.terminate()
            try:
                code = self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait(STOP_TIMEOUT)
            if self.proc.stdout:
                self.proc.stdout.close()
        if self._reader is not None:
            self._reader.join(timeout=STOP_TIMEOUT)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return code


@contextlib.contextmanager
def running_world(env_path: str | Path, scenario: str = "bad-deploy", speed: float = 10.0, port: int = 0,
                  state_dir: str | Path | None = None) -> Iterator[WorldInfo]:
    """Start the world, yield where it is, stop it (nothing left running) on exit."""
    world = WorldProcess(env_path, scenario=scenario, speed=speed, port=port, state_dir=state_dir).launch()
    try:
        yield world.wait_ready()
    finally:
        world.stop()
