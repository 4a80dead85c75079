"""Endpoints: each configured path answers with the expected status (and keys).

Latencies are wall-clock seconds (``time.perf_counter``), the one duration
not taken from the injected clock: a response time is physical, the
rehearsal world's service answers in wall-clock seconds, and a scaled
latency would multiply this process's own event-loop delays by the speed.
Waits between retries do follow the injected clock.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rollback_cockpit.checks.results import COULD_NOT_CHECK, FAIL, PASS, WARN, CheckResult
from rollback_cockpit.runbook.redact import redact

CHECK = "endpoints"
ATTEMPTS = 3
BACKOFF_SECONDS = 0.25
TIMEOUT_SECONDS = 10.0


@dataclass
class Fetched:
    url: str
    status: int | None = None
    latency_s: float = 0.0
    body: bytes = b""
    # Transport problem (no HTTP answer): a readable reason.
    error: str | None = None
    # The certificate did not verify: a finding, not an inability to check.
    tls_error: bool = False
    tls_version: str | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def endpoint_url(base_url: str, path: str) -> str:
    if "://" in path:
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def is_https(url: str) -> bool:
    return urlsplit(url).scheme.lower() == "https"


def new_session(timeout: float = TIMEOUT_SECONDS, limit: int = 100) -> Any:
    import aiohttp

    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout),
        connector=aiohttp.TCPConnector(limit=limit),
        # Validation must see the service itself, not a proxy's answer.
        trust_env=False,
    )


def describe_transport_error(exc: BaseException) -> tuple[str, bool]:
    """(reason, is_tls_verification_failure)."""
    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate did not verify: {exc.certificate_error}", True
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS handshake failed: {exc}", True
    if isinstance(exc, TimeoutError):
        return "no answer in time", False
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc.os_error}", False
    if isinstance(exc, aiohttp.ClientError):
        return f"{type(exc).__name__}: {exc}", False
    return f"{type(exc).__name__}: {exc}", False


async def fetch_once(session: Any, url: str, clock: Any, *, read_body: bool = True) -> Fetched:
    import aiohttp

    started = time.perf_counter()
    try:
        async with session.get(url, allow_redirects=False) as resp:
            tls_version = None
            conn = resp.connection
            if conn is not None and conn.transport is not None:
                ssl_object = conn.transport.get_extra_info("ssl_object")
                if ssl_object is not None:
                    tls_version = ssl_object.version()
            body = await resp.read() if read_body else b""
            if not read_body:
                await resp.release()
            return Fetched(url, resp.status, time.perf_counter() - started, body, tls_version=tls_version)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        reason, tls = describe_transport_error(exc)
        return Fetched(url, None, time.perf_counter() - started, error=reason, tls_error=tls)


async def fetch(session: Any, url: str, clock: Any, *, attempts: int = ATTEMPTS) -> Fetched:
    """GET with a small retry budget: transport errors and 5xx are retried."""
    result = Fetched(url)
    for attempt in range(1, attempts + 1):
        result = await fetch_once(session, url, clock)
        result.attempts = attempt
        if result.tls_error:
            return result  # a bad certificate does not get better by asking again
        if result.error is None and (result.status or 0) < 500:
            return result
        if attempt < attempts:
            await clock.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    return result


def judge(endpoint: Any, got: Fetched) -> CheckResult:
    """One endpoint's result from what it answered."""
    ms = round(got.latency_s * 1000)
    evidence: dict[str, Any] = {"url": got.url, "status": got.status, "latency_ms": ms, "attempts": got.attempts}
    if got.tls_version:
        evidence["tls"] = got.tls_version
    name = endpoint.path
    tries = f" after {got.attempts} attempts" if got.attempts > 1 else ""
    if got.error is not None:
        if got.tls_error:
            return CheckResult(CHECK, name, FAIL, got.error, (f"url: {got.url}",), evidence)
        return CheckResult(CHECK, name, COULD_NOT_CHECK, f"unreachable{tries}: {got.error}", (f"url: {got.url}",), evidence)
    tls_note = f", {got.tls_version}" if got.tls_version else ""
    if got.status != endpoint.expect_status:
        summary = f"HTTP {got.status} (expected {endpoint.expect_status}) in {ms} ms{tries}"
        # The error page explains the failure; secrets in it are masked first.
        snippet = redact(got.body[:200].decode("utf-8", "replace").strip())
        details = (f"url: {got.url}",) + ((f"body: {snippet}",) if snippet else ())
        return CheckResult(CHECK, name, FAIL, summary, details, evidence)
    if endpoint.expect_keys:
        try:
            doc = json.loads(got.body)
        except ValueError:
            return CheckResult(CHECK, name, FAIL, f"HTTP {got.status} but the body is not JSON", (f"url: {got.url}",), evidence)
        if not isinstance(doc, dict):
            msg = f"HTTP {got.status} but the body is a JSON {type(doc).__name__}, not an object with keys"
            return CheckResult(CHECK, name, FAIL, msg, (f"url: {got.url}",), evidence)
        missing = [k for k in endpoint.expect_keys if k not in doc]
        if missing:
            msg = f"HTTP {got.status} but missing key(s): {', '.join(missing)}"
            return CheckResult(CHECK, name, FAIL, msg, (f"url: {got.url}",), evidence)
    status = WARN if got.attempts > 1 else PASS
    flaky = f" (answered on attempt {got.attempts})" if got.attempts > 1 else ""
    return CheckResult(CHECK, name, status, f"HTTP {got.status} in {ms} ms{tls_note}{flaky}", (f"url: {got.url}",), evidence)


async def check_endpoints(aws: Any, env: Any, clock: Any) -> AsyncIterator[CheckResult]:
    validation = env.validation
    if validation is None or not validation.endpoints:
        yield CheckResult(CHECK, "endpoints", WARN, "no endpoints configured (validation.endpoints)")
        return
    async with new_session() as session:

        async def one(endpoint: Any) -> CheckResult:
            return judge(endpoint, await fetch(session, endpoint_url(validation.base_url, endpoint.path), clock))

        tasks = [asyncio.ensure_future(one(e)) for e in validation.endpoints]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:
            for t in tasks:
                t.cancel()
