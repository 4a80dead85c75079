"""Log error count against a real moto server."""

from __future__ import annotations

import time

from rollback_cockpit.checks.logs import check_logs, normalize
from rollback_cockpit.checks.results import FAIL, PASS
from rollback_cockpit.runbook import environment
from rollback_cockpit.runbook.clock import ScaledClock

GROUP = "/aws/ecs/lightningtalk-prod"

ENV = """
name: t
region: ap-northeast-1
validation:
  base_url: http://127.0.0.1:1
  log_group: /aws/ecs/lightningtalk-prod
  window_minutes: 30
  error_pattern: ERROR
  max_error_lines: 10
"""


def sim_clock(sim_now: float) -> ScaledClock:
    # A rehearsal clock whose "now" is far from the wall clock: the window
    # must follow it, not time.time().
    return ScaledClock(speed=1.0, real_epoch=time.time(), sim_epoch=sim_now)


def seed(boto, sim_now: float, *, errors: int, infos: int = 5, old_errors: int = 0) -> None:
    logs = boto("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="api/1")
    events = []
    base = int((sim_now - 600) * 1000)
    for i in range(errors):
        kind = "db timeout after 3000 ms" if i % 3 else "NullPointer in /api/events/current"
        events.append({"timestamp": base + i, "message": f"2025-01-01T00:00:{i % 60:02d}Z ERROR {kind} req={i}"})
    for i in range(infos):
        events.append({"timestamp": base + errors + i, "message": f"INFO served request {i}"})
    for i in range(old_errors):  # before the window: must not count
        events.append({"timestamp": int((sim_now - 3 * 3600) * 1000) + i, "message": "ERROR stale"})
    events.sort(key=lambda e: e["timestamp"])
    for i in range(0, len(events), 5000):
        logs.put_log_events(logGroupName=GROUP, logStreamName="api/1", logEvents=events[i : i + 5000])


async def results(aws, clock):
    env = environment.loads(ENV)
    return [r async for r in check_logs(aws, env, clock)]


async def test_quiet_logs_pass(aws, boto):
    now = time.time() - 86400  # a day ago: only the injected clock knows
    seed(boto, now, errors=3, old_errors=50)
    [r] = await results(aws, sim_clock(now))
    assert r.status == PASS, r
    assert r.evidence["matching_lines"] == 3


async def test_error_burst_fails_and_shows_top_messages(aws, boto):
    now = time.time() - 86400
    seed(boto, now, errors=40)
    [r] = await results(aws, sim_clock(now))
    assert r.status == FAIL
    assert r.evidence["matching_lines"] == 40
    top = r.evidence["top"]
    assert top[0] == {"message": "# ERROR db timeout after # ms req=#", "count": 26}
    assert top[1]["count"] == 14
    assert "40 line(s)" in r.summary


async def test_every_page_is_counted(aws, boto):
    now = time.time() - 86400
    seed(boto, now, errors=25_000, infos=0)
    t0 = time.perf_counter()
    [r] = await results(aws, sim_clock(now))
    elapsed = time.perf_counter() - t0
    assert r.evidence["matching_lines"] == 25_000
    assert r.evidence["pages"] >= 3
    print(f"counted 25k events in {elapsed:.2f}s ({25_000 / elapsed:,.0f}/s)")


async def test_missing_log_group_fails(aws, boto):
    [r] = await results(aws, sim_clock(time.time()))
    assert r.status == FAIL
    assert "not found" in r.summary


def test_normalize_groups_variable_parts():
    assert normalize("2025-01-01T10:00:00.123Z ERROR id 42") == normalize("2025-02-03T11:22:33.456Z ERROR id 7")


def test_counting_a_page_is_fast():
    """The client-side cost of counting: well over 100k events/s."""
    import json

    from rollback_cockpit.checks import logs as logs_mod

    events = [
        {"logStreamName": "api/1", "timestamp": i, "message": f"ERROR boom {i}", "ingestionTime": i, "eventId": str(i)}
        for i in range(10_000)
    ]
    body = json.dumps({"events": events, "nextToken": "t"}).encode()
    tally = logs_mod._Tally()
    token = logs_mod._COUNTING.set(tally)
    try:
        t0 = time.perf_counter()
        for _ in range(10):
            resp = {"status_code": 200, "body": body}
            logs_mod._count_before_parse(resp, {})
        rate = 100_000 / (time.perf_counter() - t0)
    finally:
        logs_mod._COUNTING.reset(token)
    assert tally.total == 100_000
    assert json.loads(resp["body"]) == {"events": [], "nextToken": "t"}
    assert rate > 100_000, f"{rate:,.0f} events/s"


def put(boto, messages_at: list[tuple[float, str]]) -> None:
    logs = boto("logs")
    events = sorted(({"timestamp": int(t * 1000), "message": m} for t, m in messages_at), key=lambda e: e["timestamp"])
    logs.put_log_events(logGroupName=GROUP, logStreamName="api/1", logEvents=events)


async def test_after_a_rollback_only_errors_since_it_count(aws, boto):
    """The bad release's errors stay in the 30-minute window; they must not fail the rollback."""
    sim_start = time.time() - 86400
    clock = ScaledClock(speed=600.0, real_epoch=time.time(), sim_epoch=sim_start)
    seed(boto, sim_start, errors=0, infos=0)
    since = clock.time()
    put(boto, [(since - 300 + i, f"ERROR bad release {i}") for i in range(40)])  # before the rollback
    put(boto, [(since + 60, "ERROR one straggler"), (since + 90, "INFO fine")])  # after it
    env = environment.loads(ENV + "  settle_minutes: 2\n")
    seen = []
    [r] = [x async for x in check_logs(aws, env, clock, since=since, progress=lambda *a: seen.append(a))]
    assert r.status == PASS, r
    assert r.evidence["matching_lines"] == 1
    assert "since the rollback" in r.summary
    assert clock.time() - since >= 120  # it watched the settle window before counting
    assert seen and seen[0][0] == "logs"


async def test_errors_after_the_rollback_still_fail(aws, boto):
    sim_start = time.time() - 86400
    clock = ScaledClock(speed=600.0, real_epoch=time.time(), sim_epoch=sim_start)
    seed(boto, sim_start, errors=0, infos=0)
    since = clock.time()
    put(boto, [(since + 10 + i, f"ERROR still broken {i}") for i in range(20)])
    env = environment.loads(ENV + "  settle_minutes: 1\n")
    [r] = [x async for x in check_logs(aws, env, clock, since=since)]
    assert r.status == FAIL, r
    assert r.evidence["matching_lines"] == 20


async def test_slices_count_every_event_once(aws, boto):
    """Events on the slice boundaries are counted exactly once."""
    from rollback_cockpit.checks.logs import count_matching

    now = time.time() - 86400
    seed(boto, now, errors=0, infos=0)
    start = int(now * 1000) - 1000
    put(boto, [((start + i) / 1000, f"ERROR at {i}") for i in range(0, 1001, 1)])  # every millisecond, ends included
    for slices in (1, 3, 4, 7):
        total, raw, pages = await count_matching(aws, GROUP, "ERROR", start, start + 1000, slices=slices)
        assert total == 1001, (slices, total)
        assert sum(raw.values()) == 1001 and pages >= slices
