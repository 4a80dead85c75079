"""Data integrity: per DynamoDB table, its state, its item count, its items.

For each configured table three results stream out:

- ``<table>: table`` — the table and every configured GSI are ACTIVE;
- ``<table>: item count`` — counted items against the expectation: the
  declared ``expected_items``, else the count in the last VERIFIED backup's
  manifest (format in docs/validation.md), within ``tolerance_percent``;
- ``<table>: items`` — a sample of ``sample_size`` items (or, with
  ``deep=True``, every item, by a parallel scan) checked against the rules.

Counting uses a parallel ``Scan`` with ``Select=COUNT`` because
``DescribeTable.ItemCount`` is refreshed only every few hours, and right
after a restore it is the one number that matters.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

from rollback_cockpit.aws.errors import NOT_FOUND, explain
from rollback_cockpit.checks.backups import Manifest, last_verified_manifest
from rollback_cockpit.checks.results import COULD_NOT_CHECK, FAIL, PASS, WARN, CheckResult, merge

CHECK = "integrity"
DEFAULT_SEGMENTS = 4
EXAMPLES = 5
Progress = Callable[[str, str, float | None], None]


# --------------------------------------------------------------------------
# The last VERIFIED backup's manifest.


# --------------------------------------------------------------------------
# Rules.


class RuleTally:
    """Counts rule violations without keeping the items."""

    def __init__(self, rules: list[Any], key_names: list[str]):
        self.rules = [(r.attribute, r.type, r.required) for r in rules]
        self.key_names = key_names
        self.checked = 0
        self.bad_items = 0
        self.problems: Counter[str] = Counter()
        self.examples: list[str] = []

    def feed(self, items: list[dict[str, Any]]) -> None:
        rules = self.rules
        for item in items:
            bad = False
            for attr, tp, required in rules:
                value = item.get(attr)
                if value is None:
                    if required:
                        self.problems[f"{attr} missing"] += 1
                        bad = True
                elif tp and tp not in value:
                    got = next(iter(value), "?")
                    self.problems[f"{attr} is {got}, not {tp}"] += 1
                    bad = True
            if bad:
                self.bad_items += 1
                if len(self.examples) < EXAMPLES:
                    self.examples.append(self._key_of(item))
        self.checked += len(items)

    def _key_of(self, item: dict[str, Any]) -> str:
        parts = []
        for name in self.key_names:
            value = item.get(name) or {}
            parts.append(f"{name}={next(iter(value.values()), '?')}" if value else f"{name}=?")
        return ", ".join(parts)


def rules_result(table: str, tally: RuleTally, *, deep: bool) -> CheckResult:
    what = "items" if deep else "sampled items"
    evidence = {
        "checked": tally.checked,
        "bad_items": tally.bad_items,
        "problems": dict(tally.problems),
        "deep": deep,
    }
    name = f"{table}: items"
    if tally.checked == 0:
        return CheckResult(CHECK, name, WARN, "the table is empty: no items to check", evidence=evidence)
    if tally.bad_items:
        pct = 100.0 * tally.bad_items / tally.checked
        top = ", ".join(f"{p} ({n})" for p, n in tally.problems.most_common(3))
        summary = f"{tally.bad_items} of {tally.checked} {what} ({pct:.1f} %) break the rules: {top}"
        details = tuple(f"e.g. {k}" for k in tally.examples)
        return CheckResult(CHECK, name, FAIL, summary, details, evidence)
    return CheckResult(CHECK, name, PASS, f"{tally.checked} {what} follow the {len(tally.rules)} rule(s)", evidence=evidence)


# --------------------------------------------------------------------------
# Scans.


async def parallel_scan(
    ddb: Any,
    table: str,
    *,
    segments: int,
    count_only: bool,
    on_page: Callable[[int, list[dict[str, Any]]], None],
    projection: list[str] | None = None,
) -> int:
    """Scan every segment concurrently; return the number of items seen."""

    async def segment(n: int) -> int:
        kwargs: dict[str, Any] = {"TableName": table, "Segment": n, "TotalSegments": segments}
        if count_only:
            kwargs["Select"] = "COUNT"
        elif projection:
            names = {f"#a{i}": a for i, a in enumerate(projection)}
            kwargs["ProjectionExpression"] = ", ".join(names)
            kwargs["ExpressionAttributeNames"] = names
        seen = 0
        while True:
            page = await ddb.scan(**kwargs)
            count = page.get("Count", 0)
            seen += count
            on_page(count, page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return seen
            kwargs["ExclusiveStartKey"] = last

    totals = await asyncio.gather(*(segment(n) for n in range(segments)))
    return sum(totals)


async def sample(ddb: Any, table: str, size: int, projection: list[str] | None) -> list[dict[str, Any]]:
    """The first ``size`` items of a scan: scan order follows the key hash,
    so they are spread over the table rather than its "first" rows."""
    kwargs: dict[str, Any] = {"TableName": table, "Limit": min(size, 1000)}
    if projection:
        names = {f"#a{i}": a for i, a in enumerate(projection)}
        kwargs["ProjectionExpression"] = ", ".join(names)
        kwargs["ExpressionAttributeNames"] = names
    items: list[dict[str, Any]] = []
    while len(items) < size:
        page = await ddb.scan(**kwargs)
        items.extend(page.get("Items", []))
        last = page.get("LastEvaluatedKey")
        if not last:
            break
        kwargs["ExclusiveStartKey"] = last
        kwargs["Limit"] = min(size - len(items), 1000)
    return items[:size]


# --------------------------------------------------------------------------
# One table.


def table_state_result(name: str, desc: dict[str, Any], want_gsis: list[str]) -> CheckResult:
    status = desc.get("TableStatus")
    have = {g["IndexName"]: g.get("IndexStatus") for g in desc.get("GlobalSecondaryIndexes", ())}
    evidence = {"table_status": status, "gsis": have}
    problems = []
    if status != "ACTIVE":
        problems.append(f"table is {status}")
    missing = [g for g in want_gsis if g not in have]
    if missing:
        problems.append(f"GSI missing: {', '.join(missing)}")
    not_active = [f"{g} is {have[g]}" for g in want_gsis if g in have and have[g] != "ACTIVE"]
    if not_active:
        problems.append(f"GSI not ACTIVE: {', '.join(not_active)}")
    extra = sorted(set(have) - set(want_gsis))
    details = (f"GSIs not in the environment file: {', '.join(extra)}",) if extra else ()
    if problems:
        return CheckResult(CHECK, f"{name}: table", FAIL, "; ".join(problems), details, evidence)
    gsis = f" with {len(want_gsis)} GSI(s) ACTIVE" if want_gsis else ""
    return CheckResult(CHECK, f"{name}: table", PASS, f"ACTIVE{gsis}", details, evidence)


def count_result(table: Any, counted: int, expected: int | None, source: str, why_none: str | None) -> CheckResult:
    name = f"{table.name}: item count"
    evidence: dict[str, Any] = {"counted": counted, "expected": expected, "source": source or None}
    if expected is None:
        reason = why_none or "no expectation"
        status = COULD_NOT_CHECK if why_none and why_none.startswith("!") else WARN
        return CheckResult(CHECK, name, status, f"{counted:,} items; {reason.lstrip('!')}", evidence=evidence)
    allowed = expected * table.tolerance_percent / 100.0
    diff = counted - expected
    pct = (100.0 * diff / expected) if expected else (0.0 if diff == 0 else 100.0)
    evidence.update({"difference": diff, "tolerance_percent": table.tolerance_percent})
    summary = f"{counted:,} items, expected {expected:,} ({source}): {pct:+.2f} %"
    status = PASS if abs(diff) <= allowed else FAIL
    if status == FAIL:
        summary += f", outside ±{table.tolerance_percent:g} %"
    return CheckResult(CHECK, name, status, summary, evidence=evidence)


async def check_table(
    aws: Any,
    table: Any,
    manifest: asyncio.Future,
    *,
    deep: bool,
    progress: Progress | None,
    segments: int,
) -> AsyncIterator[CheckResult]:
    ddb = await aws.client("dynamodb")
    try:
        desc = (await ddb.describe_table(TableName=table.name))["Table"]
    except Exception as exc:
        problem = explain(exc, resource=table.name)
        status = FAIL if problem.kind == NOT_FOUND else COULD_NOT_CHECK
        summary = f"table not found: {table.name}" if problem.kind == NOT_FOUND else problem.line()
        yield CheckResult(CHECK, f"{table.name}: table", status, summary, evidence={"error": problem.kind})
        return
    yield table_state_result(table.name, desc, table.gsis)

    key_names = [k["AttributeName"] for k in desc.get("KeySchema", ())]
    projection = list(dict.fromkeys(key_names + [r.attribute for r in table.rules])) if table.rules else None
    tally = RuleTally(table.rules, key_names)
    estimate = desc.get("ItemCount") or 0
    scanned = 0
    last_shown = -1

    def on_page(count: int, items: list[dict[str, Any]]) -> None:
        nonlocal scanned, last_shown
        scanned += count
        if items:
            tally.feed(items)
        if progress is not None and scanned != last_shown:
            last_shown = scanned
            fraction = min(1.0, scanned / estimate) if estimate else None
            progress(CHECK, f"{table.name}: {scanned:,} items scanned", fraction)

    try:
        counted = await parallel_scan(
            ddb, table.name, segments=segments, count_only=not (deep and table.rules), on_page=on_page, projection=projection
        )
    except Exception as exc:
        yield CheckResult(CHECK, f"{table.name}: item count", COULD_NOT_CHECK, explain(exc, resource=table.name).line())
        counted = None

    if counted is not None:
        expected, source, why_none = table.expected_items, "declared", None
        if expected is None:
            try:
                found = await asyncio.shield(manifest)
            except Exception as exc:
                found, why_none = None, "!the backup manifest could not be read: " + explain(exc).line()
            if found is None and why_none is None:
                why_none = "no expectation: declare expected_items or keep a VERIFIED backup manifest"
            elif found is not None:
                expected = found.items_for(table.name)
                source = f"backup {found.url}"
                if expected is None:
                    why_none = f"the last VERIFIED backup ({found.url}) has no count for this table"
        yield count_result(table, counted, expected, source if expected is not None else "", why_none)

    if not table.rules:
        return
    if not deep:
        try:
            tally.feed(await sample(ddb, table.name, table.sample_size, projection))
        except Exception as exc:
            yield CheckResult(CHECK, f"{table.name}: items", COULD_NOT_CHECK, explain(exc, resource=table.name).line())
            return
    elif counted is None:
        return
    yield rules_result(table.name, tally, deep=deep)


async def _manifest_or_none(aws: Any, env: Any) -> Manifest | None:
    if env.emergency is None or not env.emergency.backups:
        return None
    return await last_verified_manifest(aws, env.emergency.backups)


async def check_integrity(
    aws: Any,
    env: Any,
    clock: Any,
    *,
    deep: bool = False,
    progress: Progress | None = None,
    segments: int = DEFAULT_SEGMENTS,
) -> AsyncIterator[CheckResult]:
    tables = env.database.tables if env.database else []
    if not tables:
        yield CheckResult(CHECK, "tables", WARN, "no tables configured (database.tables)")
        return
    needs_manifest = any(t.expected_items is None for t in tables)
    manifest: asyncio.Future = asyncio.ensure_future(
        _manifest_or_none(aws, env) if needs_manifest else asyncio.sleep(0, result=None)
    )
    try:
        async for result in merge(
            [check_table(aws, t, manifest, deep=deep, progress=progress, segments=segments) for t in tables]
        ):
            yield result
    finally:
        if not manifest.done():
            manifest.cancel()
        elif not manifest.cancelled():
            manifest.exception()  # retrieved: no "never retrieved" warning
