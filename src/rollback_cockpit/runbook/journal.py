"""The run journal: the single source of truth of a run.

Every event is appended to ``<state-dir>/runs/<run-id>.jsonl``, flushed and
fsync'ed *before* anyone is told about it, so what the operator saw is on
disk even if the process dies the next instant. The reader tolerates a torn
last line (a crash mid-write) and nothing else is lost.
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.runbook.events import Event


class JournalError(Exception):
    """The journal cannot be written; nothing may change in AWS then.

    ``steps_started`` names the steps that had started changing AWS before
    the journal failed (set by the step mechanism): the operator is then told
    to check them and resume, not that nothing changed.
    """

    steps_started: tuple[str, ...] = ()
    run_id: str = ""


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "rollback-cockpit"


def runs_dir(state_dir: Path | None = None) -> Path:
    return (state_dir or default_state_dir()) / "runs"


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + _secrets.token_hex(2)


def find_run(run_id_or_path: str, state_dir: Path | None = None) -> Path:
    """A journal path from a run id, a path, or "last"."""
    p = Path(run_id_or_path)
    if p.suffix == ".jsonl" or p.exists():
        if not p.exists():
            raise FileNotFoundError(f"no journal at {p}")
        return p
    folder = runs_dir(state_dir)
    if run_id_or_path == "last":
        found = sorted(folder.glob("*.jsonl"))
        if not found:
            raise FileNotFoundError(f"no runs yet in {folder}")
        return found[-1]
    candidate = folder / f"{run_id_or_path}.jsonl"
    if not candidate.exists():
        raise FileNotFoundError(f"no run {run_id_or_path!r} in {folder}")
    return candidate


def read(path: Path) -> list[Event]:
    """All complete events of a journal; a torn last line is ignored."""
    events: list[Event] = []
    with open(path, "rb") as fh:
        lines = fh.read().split(b"\n")
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            events.append(Event.from_json(json.loads(raw)))
        except (ValueError, KeyError, TypeError):
            if i >= len(lines) - 2:
                break  # the torn tail of a crash: every earlier event is intact
            raise JournalError(f"{path}: line {i + 1} is corrupted") from None
    return events


Listener = Callable[[Event], None]


class Journal:
    def __init__(self, path: Path, run_id: str, clock: Clock | None = None, events: Iterable[Event] = ()):
        self.path = path
        self.run_id = run_id
        self.clock = clock or Clock()
        self.events: list[Event] = list(events)
        self._listeners: list[Listener] = []
        self._fh = None

    @classmethod
    def create(cls, state_dir: Path | None = None, clock: Clock | None = None, run_id: str | None = None) -> Journal:
        folder = runs_dir(state_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"cannot create the journal folder {folder}: {exc.strerror}") from exc
        run_id = run_id or new_run_id()
        return cls(folder / f"{run_id}.jsonl", run_id, clock)

    @classmethod
    def reopen(cls, path: Path, clock: Clock | None = None) -> Journal:
        """Continue an existing journal (resume), after its last complete event."""
        events = read(path)
        run_id = events[0].run_id if events else path.stem
        journal = cls(path, run_id, clock, events)
        # Drop a torn tail so the next event starts on its own line.
        with open(path, "rb+") as fh:
            data = fh.read()
            keep = data.rfind(b"\n") + 1
            if keep != len(data):
                fh.truncate(keep)
        return journal

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def append(self, type: str, **data: Any) -> Event:
        """Write one event durably, then tell the listeners."""
        now = datetime.now(UTC)
        sim_at = self.clock.now().isoformat() if self.clock.simulated else None
        event = Event(
            seq=len(self.events) + 1,
            type=type,
            at=now.isoformat(),
            run_id=self.run_id,
            data=_jsonable(data),
            sim_at=sim_at,
        )
        line = json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            if self._fh is None:
                self._fh = open(self.path, "a", encoding="utf-8")
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            # Drop the handle with its unwritten buffer: a later close() must not
            # try the same write again and hide this error behind a plain OSError.
            self._discard()
            raise JournalError(f"cannot write the journal {self.path}: {exc.strerror or exc}") from exc
        self.events.append(event)
        for listener in list(self._listeners):
            listener(event)
        return event

    def close(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass  # the failed write was already reported by append()
            self._fh = None

    def _discard(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass


def _jsonable(value: Any) -> Any:
    """Plain JSON only: datetimes become ISO strings, sets become lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
