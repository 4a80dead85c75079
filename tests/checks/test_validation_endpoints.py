"""Endpoints and the performance probe against a local aiohttp service."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from rollback_cockpit.checks.endpoints import check_endpoints
from rollback_cockpit.checks.performance import check_performance, percentile
from rollback_cockpit.checks.results import COULD_NOT_CHECK, FAIL, PASS, WARN
from rollback_cockpit.runbook import environment
from rollback_cockpit.runbook.clock import Clock


class Service:
    """A tiny stand-in for the API: each path's status, delay and body are set per test."""

    def __init__(self) -> None:
        self.routes: dict[str, dict] = {
            "/health": {"status": 200, "body": {"status": "ok"}},
            "/api/events": {"status": 200, "body": []},
            "/api/events/current": {"status": 200, "body": {"id": "e1"}},
            "/api/participants": {"status": 200, "body": []},
        }
        self.hits: dict[str, int] = {}
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404)
        if route.get("delay"):
            await asyncio.sleep(route["delay"])
        status = route["status"]
        if callable(status):
            status = status(self.hits[path])
        return web.Response(status=status, text=json.dumps(route.get("body", {})), content_type="application/json")


@pytest.fixture
async def service():
    svc = Service()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", svc.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    svc.url = f"http://127.0.0.1:{port}"
    yield svc
    await runner.cleanup()


def make_env(base_url: str, *, requests: int = 60, concurrency: int = 6, p95: float = 2.0) -> environment.Environment:
    return environment.loads(
        f"""
name: t
region: ap-northeast-1
validation:
  base_url: {base_url}
  endpoints:
    - {{path: /health, expect_keys: [status]}}
    - {{path: /api/events}}
    - {{path: /api/events/current}}
    - {{path: /api/participants}}
  load_probe: {{requests: {requests}, concurrency: {concurrency}, duration_seconds: 10}}
triggers:
  p95_seconds: {{threshold: {p95}, sustain_minutes: 10}}
  error_rate_percent: {{threshold: 5, sustain_minutes: 5}}
"""
    )


async def collect(gen):
    return {r.name: r async for r in gen}


async def test_all_endpoints_pass(service):
    got = await collect(check_endpoints(None, make_env(service.url), Clock()))
    assert set(got) == {"/health", "/api/events", "/api/events/current", "/api/participants"}
    assert all(r.status == PASS for r in got.values()), got
    assert got["/health"].evidence["status"] == 200


async def test_endpoint_500_fails_after_retries(service):
    service.routes["/api/events/current"]["status"] = 500
    got = await collect(check_endpoints(None, make_env(service.url), Clock()))
    r = got["/api/events/current"]
    assert r.status == FAIL
    assert "HTTP 500" in r.summary
    assert service.hits["/api/events/current"] == 3  # the retry budget, then a verdict
    assert got["/health"].status == PASS


async def test_a_transient_500_recovers_with_a_warning(service):
    service.routes["/api/events"]["status"] = lambda n: 503 if n == 1 else 200
    got = await collect(check_endpoints(None, make_env(service.url), Clock()))
    assert got["/api/events"].status == WARN


async def test_missing_expected_key_fails(service):
    service.routes["/health"]["body"] = {"state": "ok"}
    got = await collect(check_endpoints(None, make_env(service.url), Clock()))
    assert got["/health"].status == FAIL
    assert "status" in got["/health"].summary


async def test_unreachable_service_could_not_check():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = await collect(check_endpoints(None, make_env(f"http://127.0.0.1:{port}"), Clock()))
    assert {r.status for r in got.values()} == {COULD_NOT_CHECK}
    assert "cannot connect" in got["/health"].summary


async def test_fast_burst_passes(service):
    [r] = [r async for r in check_performance(None, make_env(service.url), Clock())]
    assert r.status == PASS, r
    assert r.evidence["sent"] == 60
    assert r.evidence["errors"] == 0


async def test_slow_responses_fail_the_probe(service):
    for route in service.routes.values():
        route["delay"] = 0.12
    env = make_env(service.url, requests=24, concurrency=8, p95=0.1)
    [r] = [r async for r in check_performance(None, env, Clock())]
    assert r.status == FAIL
    assert "p95 ≥ 0.1 s" in r.summary
    assert r.evidence["p95_s"] >= 0.12


async def test_server_errors_fail_the_probe(service):
    service.routes["/api/participants"]["status"] = 500
    [r] = [r async for r in check_performance(None, make_env(service.url), Clock())]
    assert r.status == FAIL
    assert r.evidence["error_percent"] == 25.0


async def test_probe_with_no_service_could_not_check():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    [r] = [r async for r in check_performance(None, make_env(f"http://127.0.0.1:{port}", requests=8), Clock())]
    assert r.status == COULD_NOT_CHECK


def test_percentile_nearest_rank():
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([3.0], 95) == 3.0
