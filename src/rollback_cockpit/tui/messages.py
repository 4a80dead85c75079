"""What background work tells the screen: past-tense dataclass messages.

Workers never touch widgets; they post one of these and a handler applies it.
Messages that can arrive faster than the screen needs them define
``can_replace`` so a queued older one is dropped instead of rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class MetricsSampled(Message):
    """One batched sample and the triggers evaluated on it."""

    snapshot: Any
    triggers: list[Any] = field(default_factory=list)

    def can_replace(self, message: Message) -> bool:
        # Only the newest sample matters; an older queued one is stale.
        return isinstance(message, MetricsSampled)


@dataclass
class MetricsFailed(Message):
    error: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, MetricsFailed)


@dataclass
class JournalAppended(Message):
    """An event reached the journal (it is on disk already)."""

    event: Any


@dataclass
class PlanPrepared(Message):
    kind: str
    plan: Any
    lines: list[str]
    diff: list[str]


@dataclass
class PlanFailed(Message):
    kind: str
    error: str


@dataclass
class RollbackFinished(Message):
    result: str
    error: str = ""


@dataclass
class ValidationReceived(Message):
    result: Any


@dataclass
class ValidationFinished(Message):
    results: list[Any]
    error: str = ""


@dataclass
class IdentityResolved(Message):
    account: str
    arn: str


@dataclass
class ReportExported(Message):
    paths: list[str]
