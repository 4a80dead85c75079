"""Async AWS clients (aiobotocore) built from the standard credential chain.

The only differences between real AWS and the rehearsal world are the
endpoint URL and the credentials handed in here by the composition root.
Clients are created once per service and reused for the life of the
``Aws`` object, because building a client loads its service model.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from dataclasses import dataclass
from typing import Any

# Total attempts per call: botocore standard mode uses 3; one more for throttling at 3 a.m.,
# while an unreachable endpoint still answers in seconds, not half a minute.
DEFAULT_MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class AwsSettings:
    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    # Explicit keys: only the rehearsal world's dummy ones are ever passed.
    access_key_id: str | None = None
    secret_access_key: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    @classmethod
    def resolve(cls, region: str, profile: str | None = None, endpoint_url: str | None = None, **kw: Any) -> AwsSettings:
        """Command-line values win over the environment file's."""
        return cls(
            region=region,
            profile=profile,
            endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None,
            **kw,
        )


class Aws:
    """Owns the aiobotocore session and one client per service.

    Use as ``async with Aws(settings) as aws: ecs = await aws.client("ecs")``.
    """

    def __init__(self, settings: AwsSettings):
        self.settings = settings
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[str, Any] = {}
        self._creating: dict[str, asyncio.Future[Any]] = {}
        self._session = None
        self._session_lock = asyncio.Lock()

    async def __aenter__(self) -> Aws:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._clients.clear()
        await self._stack.__aexit__(*exc)

    def reset(self) -> None:
        """Build new clients (and credentials) on next use, e.g. after ``aws sso login``.

        The old clients stay open until the ``Aws`` object closes: a call
        still running on one of them is not cut off.
        """
        self._clients = {}
        self._creating = {}
        self._session = None

    def _config(self) -> Any:
        from botocore.config import Config

        return Config(
            region_name=self.settings.region,
            retries={"total_max_attempts": self.settings.max_attempts, "mode": "adaptive"},
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            max_pool_connections=50,
        )

    async def client(self, service: str) -> Any:
        """The one client of ``service``; callers asking at the same moment share its creation.

        Without that, the cockpit's first refresh, identity and readiness
        checks (started together) would each build a session and their own
        copies of the same clients: seconds of CPU and ~100 MB for nothing.
        """
        client = self._clients.get(service)
        if client is not None:
            return client
        pending = self._creating.get(service)
        if pending is None:
            pending = asyncio.ensure_future(self._create(service))
            self._creating[service] = pending
        try:
            return await asyncio.shield(pending)
        finally:
            if pending.done() and self._creating.get(service) is pending:
                del self._creating[service]

    async def _session_once(self) -> Any:
        async with self._session_lock:
            if self._session is None:
                # aiobotocore (with aiohttp and botocore) takes ~0.4 s to import:
                # on a thread, the event loop — and the cockpit's screen — stays live.
                await asyncio.to_thread(importlib.import_module, "aiobotocore.session")
                from aiobotocore.session import AioSession

                self._session = AioSession(profile=self.settings.profile)
            return self._session

    async def _create(self, service: str) -> Any:
        session = await self._session_once()
        kwargs: dict[str, Any] = {"config": self._config()}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        if self.settings.access_key_id:
            kwargs["aws_access_key_id"] = self.settings.access_key_id
            kwargs["aws_secret_access_key"] = self.settings.secret_access_key
        try:
            client = await self._stack.enter_async_context(
                session.create_client(service, region_name=self.settings.region, **kwargs)
            )
        except Exception as exc:  # e.g. an unknown profile: one readable line
            from rollback_cockpit.aws.errors import explain

            raise explain(exc, profile=self.settings.profile, endpoint_url=self.settings.endpoint_url) from exc
        self._clients[service] = client
        return client

    async def account_and_caller(self) -> tuple[str, str]:
        """(account id, caller ARN) from STS: the operator's AWS identity."""
        sts = await self.client("sts")
        who = await sts.get_caller_identity()
        return who["Account"], who["Arn"]


def request_id(response: dict[str, Any]) -> str | None:
    """The AWS request id of a response, for the journal's evidence."""
    return (response or {}).get("ResponseMetadata", {}).get("RequestId")
