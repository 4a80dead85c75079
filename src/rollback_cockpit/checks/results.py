"""The typed result every validation check yields.

The cockpit's validation panel, the headless ``validate`` command, the
journal and the post checklist all consume the same stream of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS = "pass"
WARN = "warn"
FAIL = "fail"
COULD_NOT_CHECK = "could_not_check"
STATUSES = (PASS, WARN, FAIL, COULD_NOT_CHECK)

CHECKS = ("endpoints", "integrity", "logs", "performance", "security", "metrics")

# How a status is shown on one line (headless output, report).
LABELS = {PASS: "PASS", WARN: "WARN", FAIL: "FAIL", COULD_NOT_CHECK: "COULD NOT CHECK"}


@dataclass(frozen=True)
class CheckResult:
    check: str
    name: str
    status: str
    summary: str
    details: tuple[str, ...] = ()
    # Plain JSON only: it goes into the journal and the --json file.
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """A warning is allowed; "could not check" is not a pass."""
        return self.status in (PASS, WARN)

    def line(self) -> str:
        return f"{LABELS.get(self.status, self.status.upper()):<15} {self.check:<11} {self.name}: {self.summary}"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "details": list(self.details),
            "evidence": self.evidence,
        }


def summarize(results: list[CheckResult]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


async def merge(streams: list[Any]) -> Any:
    """Run async iterators concurrently and yield their items as they arrive.

    An exception in one stream is re-raised here after the others are
    cancelled; callers that must not fail wrap each stream first (see
    ``checks.validation``).
    """
    import asyncio

    queue: asyncio.Queue = asyncio.Queue()
    done = object()

    async def pump(stream: Any) -> None:
        try:
            async for item in stream:
                await queue.put((item, None))
        except Exception as exc:
            await queue.put((None, exc))
        finally:
            await queue.put((done, None))

    tasks = [asyncio.ensure_future(pump(s)) for s in streams]
    remaining = len(tasks)
    try:
        while remaining:
            item, exc = await queue.get()
            if exc is not None:
                raise exc
            if item is done:
                remaining -= 1
                continue
            yield item
    finally:
        for t in tasks:
            t.cancel()
        # Let each stream unwind (its own finally blocks) before we return.
        await asyncio.gather(*tasks, return_exceptions=True)
