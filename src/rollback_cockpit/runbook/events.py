"""The typed events of a run journal.

An event is one JSON object on one line. ``type`` says what happened;
``data`` carries the details as plain JSON. The names below are the whole
vocabulary: the report, resume and the timeline read only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RUN_STARTED = "run_started"  # environment, operator, mode, reason, severity
DETECTED = "detected"  # trigger or "operator", at
DECISION_TAKEN = "decision_taken"  # kind or "none", reason
CHECKLIST_TICKED = "checklist_ticked"  # phase, item, by, evidence, auto
CHECKLIST_OVERRIDDEN = "checklist_overridden"  # open items, reason
PLAN_SHOWN = "plan_shown"  # kind, steps [{id, describe}], diff
STEP_STARTED = "step_started"  # step, describe
STEP_PROGRESS = "step_progress"  # step, message
STEP_FINISHED = "step_finished"  # step, evidence, duration_s
STEP_SKIPPED = "step_skipped"  # step, reason (already done)
STEP_FAILED = "step_failed"  # step, error, hint, duration_s
VALIDATION_RESULT = "validation_result"  # check, name, status, summary
NOTE = "note"  # text
SIGNAL_RECEIVED = "signal_received"  # signal
LOCK_TAKEN = "lock_taken"
LOCK_RELEASED = "lock_released"
LOCK_BROKEN = "lock_broken"
RUN_FINISHED = "run_finished"  # result success|partial|failed|aborted, service_state, data_impact

ALL = frozenset(v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str))


@dataclass(frozen=True)
class Event:
    seq: int
    type: str
    at: str  # ISO 8601, UTC, wall time
    run_id: str
    data: dict[str, Any] = field(default_factory=dict)
    # Clock time (ISO 8601, UTC) when the run is on a simulated clock.
    sim_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"seq": self.seq, "type": self.type, "at": self.at, "run_id": self.run_id}
        if self.sim_at:
            out["sim_at"] = self.sim_at
        out["data"] = self.data
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Event:
        return cls(
            seq=int(obj["seq"]),
            type=str(obj["type"]),
            at=str(obj["at"]),
            run_id=str(obj.get("run_id", "")),
            data=dict(obj.get("data") or {}),
            sim_at=obj.get("sim_at"),
        )
