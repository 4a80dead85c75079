"""The runbook's pre / during / post checklists and how items tick.

Items with an ``auto`` rule tick themselves from evidence (validation
results, readiness results, the run's own events); the rest are ticked by
the operator. Ticks are journal events, so the state of a checklist is a
pure function of the journal (:func:`state_from_events`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from rollback_cockpit.runbook import events as ev

PHASES = ("pre", "during", "post")


@dataclass(frozen=True)
class Item:
    phase: str
    id: str
    ja: str
    en: str
    auto: str | None = None

    def label(self, lang: str = "ja") -> str:
        return self.ja if lang == "ja" else self.en


@cache
def items() -> tuple[Item, ...]:
    import yaml

    text = (resources.files("rollback_cockpit.runbook") / "data" / "checklists.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return tuple(Item(phase=phase, **entry) for phase in PHASES for entry in data[phase])


def item(phase: str, item_id: str) -> Item:
    for it in items():
        if it.phase == phase and it.id == item_id:
            return it
    raise KeyError(f"{phase}.{item_id}")


@dataclass(frozen=True)
class Tick:
    by: str
    at: str
    evidence: str = ""
    auto: bool = False


def state_from_events(events: Iterable[ev.Event]) -> dict[tuple[str, str], Tick]:
    """Which items are ticked, by whom and when, from the journal."""
    ticked: dict[tuple[str, str], Tick] = {}
    for e in events:
        if e.type == ev.CHECKLIST_TICKED:
            d = e.data
            ticked[(d["phase"], d["item"])] = Tick(d.get("by", ""), e.at, d.get("evidence", ""), bool(d.get("auto")))
    return ticked


def open_items(phase: str, events: Iterable[ev.Event]) -> list[Item]:
    done = state_from_events(events)
    return [it for it in items() if it.phase == phase and (phase, it.id) not in done]


# Validation check name -> the post items it can tick. "error_rate" needs
# both the log count and the settled metrics to pass.
_POST_RULES: dict[str, tuple[str, ...]] = {
    "service_health": ("endpoints",),
    "data_integrity": ("integrity",),
    "performance": ("performance",),
    "error_rate": ("logs", "metrics"),
}


def post_ticks_from_validation(results: Iterable[Any]) -> list[tuple[str, str]]:
    """(item id, evidence) for each post item the results prove.

    ``results`` are validation results with ``check``, ``status`` and
    ``summary`` attributes. An item ticks only when every result of every
    check it needs passed (a warning counts; "could not check" does not).
    """
    by_check: dict[str, list[Any]] = {}
    for r in results:
        by_check.setdefault(r.check, []).append(r)
    ticks = []
    for item_id, needed in _POST_RULES.items():
        if all(by_check.get(c) for c in needed) and all(
            r.status in ("pass", "warn") for c in needed for r in by_check[c]
        ):
            evidence = "; ".join(r.summary for c in needed for r in by_check[c])
            ticks.append((item_id, evidence))
    return ticks
