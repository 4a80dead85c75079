"""Running a terminal program under a pseudo-terminal and recording every byte it writes.

The pty stands in for the SSH channel: what the program writes to it is what
would cross the wire. A reader thread timestamps each chunk as it arrives.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

# CSI / OSC / other escape sequences, removed to search the visible text.
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_][^\x1b]*\x1b\\|\x1b[@-Z\\-_=>]")


def visible(data: bytes) -> str:
    return _ESCAPES.sub(b"", data).decode("utf-8", "replace")


@dataclass
class Chunk:
    at: float  # perf_counter when read
    data: bytes


@dataclass
class PtyProcess:
    proc: subprocess.Popen
    master: int
    started: float
    chunks: list[Chunk] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _reader: threading.Thread | None = None

    @classmethod
    def spawn(cls, cmd: list[str], env: dict[str, str], cols: int = 120, rows: int = 40, cwd: Path | None = None) -> PtyProcess:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(env)
        env.update({"TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)})
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True, close_fds=True
        )
        os.close(slave)
        self = cls(proc, master, started)
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed its side
                return
            if not data:
                return
            with self._lock:
                self.chunks.append(Chunk(time.perf_counter(), data))

    def send(self, keys: str | bytes) -> None:
        os.write(self.master, keys.encode() if isinstance(keys, str) else keys)

    def snapshot(self) -> list[Chunk]:
        with self._lock:
            return list(self.chunks)

    def text(self) -> str:
        return visible(b"".join(c.data for c in self.snapshot()))

    def bytes_between(self, t0: float, t1: float) -> int:
        return sum(len(c.data) for c in self.snapshot() if t0 <= c.at < t1)

    def wait_for(self, *needles: str, timeout: float = 30.0, since: float | None = None) -> float | None:
        """perf_counter of the chunk after which every needle has appeared (searched after ``since``), or None."""
        deadline = time.monotonic() + timeout
        since = self.started if since is None else since
        seen = 0
        buf = b""
        while True:
            chunks = self.snapshot()
            for c in chunks[seen:]:
                seen += 1
                if c.at < since:
                    continue
                buf += c.data
                text = visible(buf)
                if all(n in text for n in needles):
                    return c.at
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return None
            time.sleep(0.005)

    def peak_rss_kb(self) -> int | None:
        """VmHWM of the process (kB), read while it is alive."""
        return vm_hwm(self.proc.pid)

    def stop(self, keys: str | bytes | None = None, timeout: float = 10.0) -> None:
        if self.proc.poll() is None and keys:
            try:
                self.send(keys)
                self.proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        if self._reader:
            self._reader.join(2)
        try:
            os.close(self.master)
        except OSError:
            pass


def vm_hwm(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        for k in kids:
            out.append(int(k))
            todo.append(int(k))
    return out
