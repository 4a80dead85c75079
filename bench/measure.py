"""Measuring from outside: whole-process wall time, medians and ranges, the results model."""

from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    seconds: float
    returncode: int
    stdout: str
    stderr: str


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 300) -> Run:
    """Wall time of one whole process, perf_counter around subprocess.run."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    return Run(seconds, proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Samples:
    """The timings of one contender over the rounds; failed runs are kept apart."""

    name: str
    values: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def low(self) -> float | None:
        return min(self.values) if self.values else None

    @property
    def high(self) -> float | None:
        return max(self.values) if self.values else None


def fmt_s(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f} s"


def fmt_range(s: Samples, digits: int = 3) -> str:
    if not s.values:
        return "—"
    return f"{s.low:.{digits}f}–{s.high:.{digits}f} s"


@dataclass
class Target:
    """One target of the issue and whether it was met, with the why when not."""

    what: str
    wanted: str
    measured: str
    met: bool | None  # None: not measured
    why: str = ""

    def row(self) -> list[str]:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        return [self.what, self.wanted, self.measured, verdict + (f" — {self.why}" if self.why else "")]


@dataclass
class Section:
    key: str
    title: str
    how: list[str] = field(default_factory=list)
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        self.tables.append((headers, rows))

    def not_measured(self, what: str, wanted: str, reason: str) -> None:
        self.targets.append(Target(what, wanted, "—", None, f"not measured: {reason}"))
