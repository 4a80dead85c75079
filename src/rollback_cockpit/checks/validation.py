"""Post-rollback validation: every check at once, results as they complete.

    async for result in run_validation(aws, env, clock, deep=False):
        ...

``only`` limits the checks (names in ``results.CHECKS``). ``progress`` is
called as ``progress(check, message, fraction_or_None)`` by the long
checks (the deep integrity scan, the settle watch). A check that raises
becomes one "could not check" result carrying the AWS problem's line
(AccessDenied names the action); validation itself never crashes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from rollback_cockpit.aws.errors import explain
from rollback_cockpit.checks.results import CHECKS, COULD_NOT_CHECK, CheckResult, merge

Progress = Callable[[str, str, float | None], None]


def _streams(aws: Any, env: Any, clock: Any, *, deep: bool, progress: Progress | None, since: float | None) -> dict[str, Any]:
    from rollback_cockpit.checks.endpoints import check_endpoints
    from rollback_cockpit.checks.integrity import check_integrity
    from rollback_cockpit.checks.logs import check_logs
    from rollback_cockpit.checks.performance import check_performance
    from rollback_cockpit.checks.security import check_security
    from rollback_cockpit.checks.settled import check_settled

    return {
        "endpoints": lambda: check_endpoints(aws, env, clock),
        "integrity": lambda: check_integrity(aws, env, clock, deep=deep, progress=progress),
        "logs": lambda: check_logs(aws, env, clock, since=since, progress=progress),
        "performance": lambda: check_performance(aws, env, clock),
        "security": lambda: check_security(aws, env, clock),
        "metrics": lambda: check_settled(aws, env, clock, progress=progress),
    }


async def guarded(check: str, make: Callable[[], AsyncIterator[CheckResult]]) -> AsyncIterator[CheckResult]:
    """A check's results; if it raises, one "could not check" result instead."""
    try:
        async for result in make():
            yield result
    except Exception as exc:
        problem = explain(exc)
        yield CheckResult(check, check, COULD_NOT_CHECK, problem.line(), evidence={"error": problem.kind})


async def run_validation(
    aws: Any,
    env: Any,
    clock: Any,
    *,
    only: Iterable[str] | None = None,
    deep: bool = False,
    progress: Progress | None = None,
    since: float | None = None,
) -> AsyncIterator[CheckResult]:
    """``since`` (clock time) is when the rollback finished: errors logged before
    it belong to the bad release, so the log count looks only after it."""
    wanted = list(dict.fromkeys(only)) if only else list(CHECKS)
    unknown = [c for c in wanted if c not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s): {', '.join(unknown)} (known: {', '.join(CHECKS)})")
    makers = _streams(aws, env, clock, deep=deep, progress=progress, since=since)
    async for result in merge([guarded(c, makers[c]) for c in wanted]):
        yield result
