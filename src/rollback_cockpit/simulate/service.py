"""The local service answering the validation endpoints.

How it answers follows what is deployed now: the engine's badness (read from
the world's own state on every tick) picks the symptoms, so on the bad
revision about one request in seven is a 500 and responses are slow, and
after a rollback everything is 200 and fast. Latencies are real wall-clock
seconds: a load probe measures them as it would on AWS.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

MAX_DELAY = 4.0
LATENCY_SPREAD = 20  # coprime with the stride 7 below, so every sample comes round

EVENTS = [
    {"id": f"evt-{i:06d}", "title": f"Lightning talk night #{i}", "status": "open" if i == 0 else "closed",
     "date": f"2024-06-{28 - i:02d}"}
    for i in range(10)
]
PARTICIPANTS = [{"id": f"par-{i:06d}", "eventId": "evt-000000", "name": f"participant-{i:06d}"} for i in range(25)]


class Service:
    def __init__(self, engine: Any, *, host: str = "127.0.0.1", port: int = 0):
        self.engine = engine
        self.host = host
        self.port = port
        # Deterministic on purpose: one 500 every 1/error_rate requests (a running debt), and the
        # latencies cycle through the spread, so a handful of requests already shows the mix.
        self._debt = 0.0
        self._turn = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_get("/api/events", self.events)
        app.router.add_get("/api/events/current", self.current)
        app.router.add_get("/api/participants", self.participants)
        app.router.add_get("/{colour}/health", self.colour_health)
        app.router.add_get("/_world", self.world)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- behaviour ------------------------------------------------------------

    async def _answer(self, body: dict[str, Any]) -> web.Response:
        s = self.engine.scenario.symptoms(self.engine.badness)
        samples = s.latency_samples(LATENCY_SPREAD)
        self._turn += 1
        delay = samples[(self._turn * 7) % LATENCY_SPREAD]
        failing = False
        if self.engine.badness > 0.01:
            self._debt += s.error_rate
            if self._debt >= 1.0:
                self._debt -= 1.0
                failing = True
        await asyncio.sleep(min(MAX_DELAY, delay))
        if failing:
            return web.json_response({"error": "internal server error"}, status=500)
        return web.json_response(body)

    async def health(self, request: web.Request) -> web.Response:
        status = "ok" if self.engine.badness < 0.01 else "degraded"
        return await self._answer({"status": status, "version": self._version()})

    async def events(self, request: web.Request) -> web.Response:
        return await self._answer({"events": EVENTS, "count": len(EVENTS)})

    async def current(self, request: web.Request) -> web.Response:
        return await self._answer({"event": EVENTS[0]})

    async def participants(self, request: web.Request) -> web.Response:
        return await self._answer({"participants": PARTICIPANTS, "count": len(PARTICIPANTS)})

    async def colour_health(self, request: web.Request) -> web.Response:
        colour = request.match_info["colour"]
        seeded = self.engine.seeded
        if colour not in seeded.colours:
            raise web.HTTPNotFound()
        if colour == seeded.bad_colour and "traffic" in self.engine.scenario.culprits:
            return web.json_response({"status": "unhealthy", "colour": colour}, status=503)
        return web.json_response({"status": "ok", "colour": colour})

    async def world(self, request: web.Request) -> web.Response:
        """For people and tests: what the world believes now (no secrets in here)."""
        e = self.engine
        return web.json_response({
            "scenario": e.scenario.name, "badness": round(e.badness, 3), "sim_time": e.clock.time(),
            "published_minutes": e.published_minutes,
        })

    def _version(self) -> str:
        from rollback_cockpit.simulate.seed import BAD_RELEASE, GOOD_RELEASE

        return BAD_RELEASE if self.engine.badness >= 0.5 else GOOD_RELEASE
