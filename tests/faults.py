"""A small fault-injecting HTTP proxy in front of the moto server.

AWS faults that moto cannot produce on demand (throttling, credentials that
expire mid-run, a denied action, a dropped connection) are injected here,
on the wire, so the code under test meets them exactly as it would meet
AWS: as HTTP responses its botocore client parses.

    with FaultProxy(moto_url) as proxy:
        proxy.fail("UpdateService", "ThrottlingException", times=3)
        ... point the client at proxy.url ...
        assert proxy.calls("UpdateService") == 4
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass

_STATUS = {
    "ThrottlingException": 400,
    "Throttling": 400,
    "TooManyRequestsException": 429,
    "ExpiredTokenException": 400,
    "ExpiredToken": 400,
    "AccessDeniedException": 400,
    "AccessDenied": 403,
    "UnrecognizedClientException": 400,
}


@dataclass
class Fault:
    operation: str  # matched against the operation name
    code: str  # AWS error code, or "DROP" to close the connection
    times: float  # how many matching requests fail (float("inf") = all)
    message: str = "injected by the test proxy"


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.faults: list[Fault] = []
        self.log: list[str] = []  # operation names, in order, faulted or not
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.url = ""

    # -- programming the faults ------------------------------------------
    def fail(self, operation: str, code: str, times: float = 1, message: str = "injected by the test proxy") -> None:
        with self._lock:
            self.faults.append(Fault(operation, code, times, message))

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def calls(self, operation: str) -> int:
        with self._lock:
            return sum(1 for op in self.log if op == operation)

    # -- running ----------------------------------------------------------
    def __enter__(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        import aiohttp
        from aiohttp import web

        self._stop = asyncio.Event()
        session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)

        async def handle(request):
            return await self._handle(request, session)

        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()
        await session.close()

    async def _handle(self, request, session):
        from aiohttp import web

        body = await request.read()
        op = _operation(request, body)
        fault = None
        with self._lock:
            self.log.append(op)
            for f in self.faults:
                if f.operation == op and f.times > 0:
                    f.times -= 1
                    fault = f
                    break
        if fault is not None:
            if fault.code == "DROP":
                request.transport.close()
                raise ConnectionResetError("dropped by the test proxy")
            return _error_response(request, fault)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as upstream:
            payload = await upstream.read()
            out_headers = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")
            }
            return web.Response(status=upstream.status, body=payload, headers=out_headers)


def _operation(request, body: bytes) -> str:
    target = request.headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    m = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body)
    if m:
        return m.group(1).decode()
    m = re.search(r"[?&]Action=([A-Za-z0-9]+)", request.path_qs)
    if m:
        return m.group(1)
    # REST APIs (Lambda, S3, CloudFront, Route53): METHOD plus the path.
    return f"{request.method} {request.path}"


def _error_response(request, fault: Fault):
    from aiohttp import web

    status = _STATUS.get(fault.code, 400)
    if request.headers.get("X-Amz-Target") or request.path.startswith("/2015-03-31/"):
        return web.Response(
            status=status,
            body=json.dumps({"__type": fault.code, "message": fault.message}),
            headers={"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": fault.code},
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Type>Sender</Type>'
        f"<Code>{fault.code}</Code><Message>{fault.message}</Message></Error>"
        "<RequestId>fault-proxy</RequestId></ErrorResponse>"
    )
    return web.Response(status=status, body=xml, headers={"Content-Type": "text/xml"})
