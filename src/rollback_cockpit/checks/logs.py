"""Log error count: lines matching the error pattern over the last window.

The window ends at the injected clock's "now", so in a rehearsal it is the
world's last 30 minutes, not the wall clock's. Every page is counted; only
a tally of distinct messages is kept, never the events themselves.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from rollback_cockpit.aws.errors import NOT_FOUND, explain
from rollback_cockpit.checks.results import COULD_NOT_CHECK, FAIL, PASS, WARN, CheckResult
from rollback_cockpit.runbook.clock import format_duration
from rollback_cockpit.runbook.redact import redact

CHECK = "logs"
TOP = 5
# Cap on distinct raw messages kept; beyond it only the count grows, so a
# flood of unique lines cannot exhaust memory.
MAX_DISTINCT = 50_000

# What varies between two occurrences of "the same" error: times, ids, numbers.
_VARIABLE = re.compile(
    r"\d{4}-\d\d-\d\d[T ][\d:.,]+Z?|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|0x[0-9a-f]+|\d+",
    re.IGNORECASE,
)


def normalize(message: str) -> str:
    """The shape of a log message: variable parts folded, secret-looking values masked."""
    return _VARIABLE.sub("#", redact(message.strip()))[:300]


def top_messages(raw: Counter[str], n: int = TOP) -> list[tuple[str, int]]:
    grouped: Counter[str] = Counter()
    for message, count in raw.items():
        grouped[normalize(message)] += count
    return grouped.most_common(n)


class _Tally:
    def __init__(self) -> None:
        self.total = 0
        self.raw: Counter[str] = Counter()

    def add(self, events: Any) -> None:
        self.total += len(events)
        if len(self.raw) < MAX_DISTINCT:
            self.raw.update([e.get("message", "") for e in events])


# Set only while count_matching runs, so the shared logs client behaves
# normally for everyone else.
_COUNTING: contextvars.ContextVar[_Tally | None] = contextvars.ContextVar("_COUNTING", default=None)
_EVENT = "before-parse.cloudwatch-logs.FilterLogEvents"


def _count_before_parse(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    """Count a page straight from its JSON and hand botocore an empty page.

    botocore's shape-driven parser builds and walks every event (about five
    times slower than the JSON decode); a count needs none of that.
    """
    tally = _COUNTING.get()
    if tally is None or response_dict.get("status_code", 500) >= 300:
        return
    body = response_dict.get("body")
    if not isinstance(body, (bytes, bytearray)):
        return
    doc = json.loads(body)
    tally.add(doc.get("events") or ())
    slim = {"events": []}
    if doc.get("nextToken"):
        slim["nextToken"] = doc["nextToken"]
    response_dict["body"] = json.dumps(slim).encode()
    customized_response_dict["cockpitCounted"] = True


def _install(client: Any) -> None:
    if not getattr(client, "_cockpit_counting", False):
        client.meta.events.register(_EVENT, _count_before_parse, unique_id="rollback-cockpit-count")
        client._cockpit_counting = True


# The window is read as this many time slices at once: CloudWatch Logs pages
# are latency-bound (each page is one round trip), so slices read side by
# side finish several times sooner than one long paging chain.
SLICES = 4


async def count_matching(
    aws: Any, group: str, pattern: str, start_ms: int, end_ms: int, *, slices: int = SLICES
) -> tuple[int, Counter[str], int]:
    """(matching events, distinct raw messages, pages read) over [start_ms, end_ms]."""
    logs = await aws.client("logs")
    _install(logs)
    tally = _Tally()
    span = max(1, end_ms - start_ms)
    n = max(1, min(slices, span))
    edges = [start_ms + span * i // n for i in range(n)] + [end_ms]

    async def read(lo: int, hi: int) -> int:
        # endTime is inclusive: each slice ends one millisecond before the next begins.
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": lo, "endTime": hi}
        if pattern:
            kwargs["filterPattern"] = pattern
        pages = 0
        while True:
            page = await logs.filter_log_events(**kwargs)
            pages += 1
            if not page.get("cockpitCounted"):
                tally.add(page.get("events") or ())
            token = page.get("nextToken")
            if not token or token == kwargs.get("nextToken"):
                return pages
            kwargs["nextToken"] = token

    token_var = _COUNTING.set(tally)  # the slices' tasks inherit it
    try:
        bounds = [(edges[i], edges[i + 1] - (1 if i < n - 1 else 0)) for i in range(n)]
        pages = await asyncio.gather(*(read(lo, hi) for lo, hi in bounds))
    finally:
        _COUNTING.reset(token_var)
    return tally.total, tally.raw, sum(pages)


async def check_logs(
    aws: Any, env: Any, clock: Any, *, since: float | None = None, progress: Any = None
) -> AsyncIterator[CheckResult]:
    """ERROR lines over the window; after a rollback (``since``), only those logged after it.

    Right after a rollback the window still holds the bad release's errors,
    which would fail every rollback. So with ``since`` the check first lets
    ``settle_minutes`` pass after the rollback (the same watch as the metrics
    check) and then counts what the rolled-back service logged.
    """
    v = env.validation
    if v is None or not v.log_group:
        yield CheckResult(CHECK, "error lines", WARN, "no log group configured (validation.log_group)")
        return
    window_s = v.window_minutes * 60
    if since is not None:
        watch_s = min(window_s, v.settle_minutes * 60)
        while (left := since + watch_s - clock.time()) > 0:
            if progress is not None:
                progress(CHECK, f"watching the logs since the rollback: {format_duration(watch_s - left)} of {format_duration(watch_s)}", None)
            await clock.sleep(min(left, 60.0))
    end = clock.time()
    start = end - window_s if since is None else max(end - window_s, since)
    name = f"{v.log_group}"
    try:
        total, raw, pages = await count_matching(aws, v.log_group, v.error_pattern, int(start * 1000), int(end * 1000))
    except Exception as exc:
        problem = explain(exc, resource=v.log_group)
        if problem.kind == NOT_FOUND:
            yield CheckResult(CHECK, name, FAIL, f"log group not found: {v.log_group}")
        else:
            yield CheckResult(CHECK, name, COULD_NOT_CHECK, problem.line())
        return
    top = top_messages(raw)
    evidence = {
        "log_group": v.log_group,
        "pattern": v.error_pattern,
        "window_minutes": v.window_minutes,
        "since": since,
        "from": start,
        "to": end,
        "matching_lines": total,
        "max_error_lines": v.max_error_lines,
        "pages": pages,
        "top": [{"message": m, "count": c} for m, c in top],
    }
    details = tuple(f"{c}× {m}" for m, c in top)
    span = f"in the last {v.window_minutes:g} min" if since is None else f"in the {format_duration(end - start)} since the rollback"
    summary = f"{total:,} line(s) matching {v.error_pattern!r} {span} (limit {v.max_error_lines:,})"
    status = PASS if total <= v.max_error_lines else FAIL
    yield CheckResult(CHECK, name, status, summary, details, evidence)
