"""AWS failures as one readable line for the operator, with a hint.

The full traceback goes to the debug log (see ``rollback_cockpit.debuglog``);
the operator sees only ``AwsProblem.line()``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("rollback_cockpit")

CREDENTIALS = "credentials"
EXPIRED = "expired"
DENIED = "denied"
THROTTLED = "throttled"
UNREACHABLE = "unreachable"
NOT_FOUND = "not_found"
INVALID = "invalid"
OTHER = "other"

_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_BAD_KEYS = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId", "AuthFailure"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "Forbidden", "403"}
_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
    "PriorRequestNotComplete",
}
_NOT_FOUND_SUFFIXES = ("NotFoundException", "NotFound", "NoSuchKey", "NoSuchBucket", "NoSuchEntity")
# ValidationError is not here: AWS uses it for any bad request; a missing
# resource among them says so in words (see _says_missing).
_NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "404", "NoSuchDistribution"}


@dataclass
class AwsProblem(Exception):
    kind: str
    message: str
    hint: str = ""
    action: str | None = None
    resource: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.line())

    def line(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message

    @property
    def retryable(self) -> bool:
        return self.kind in (THROTTLED, UNREACHABLE, EXPIRED)


def _login_hint(profile: str | None) -> str:
    if profile:
        return f"run `aws sso login --profile {profile}` (or refresh the profile's keys), then retry"
    return "set AWS_PROFILE or pass --profile, or run `aws sso login`, then retry"


def explain(
    exc: BaseException,
    *,
    action: str | None = None,
    resource: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> AwsProblem:
    """Turn any exception from an AWS call into an AwsProblem (and log it)."""
    if isinstance(exc, AwsProblem):
        return exc
    log.debug("AWS call failed (action=%s resource=%s)", action, resource, exc_info=exc)
    problem = _classify(exc, action, resource, profile, endpoint_url)
    problem.action = problem.action or action
    problem.resource = problem.resource or resource
    return problem


def _classify(exc: BaseException, action: str | None, resource: str | None, profile: str | None, endpoint_url: str | None) -> AwsProblem:
    from botocore import exceptions as bx

    on = f" on {resource}" if resource else ""
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        msg = str(err.get("Message", "")).strip()
        code, msg = _unwrap_xml(code, msg)
        op = action or getattr(exc, "operation_name", None) or "the call"
        if code in _EXPIRED:
            return AwsProblem(EXPIRED, f"AWS credentials have expired ({op})", _login_hint(profile), op)
        if code in _BAD_KEYS:
            return AwsProblem(CREDENTIALS, f"AWS rejected the credentials ({code} in {op})", _login_hint(profile), op)
        if code in _DENIED:
            return AwsProblem(
                DENIED,
                f"AWS denied {op}{on}",
                "ask for this permission (docs/iam-policy.json lists what the cockpit needs)",
                op,
            )
        if code in _THROTTLED:
            return AwsProblem(THROTTLED, f"AWS kept throttling {op}{on} after retries", "wait a minute and retry; other tools may be using the same API quota", op)
        if code in _NOT_FOUND or code.endswith(_NOT_FOUND_SUFFIXES) or _says_missing(msg):
            what = resource or msg or code
            return AwsProblem(NOT_FOUND, f"not found: {what} ({op}: {msg or code})", "check the name in the environment file and the region", op)
        return AwsProblem(OTHER, f"{op} failed{on}: {code}: {msg}" if msg else f"{op} failed{on}: {code}", "", op)
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return AwsProblem(CREDENTIALS, "no AWS credentials found", _login_hint(profile))
    if isinstance(exc, bx.ProfileNotFound):
        return AwsProblem(CREDENTIALS, f"AWS profile not found: {exc.kwargs.get('profile', profile)}", "check ~/.aws/config or pass another --profile")
    token_errors = tuple(
        getattr(bx, n) for n in ("TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError", "SSOError") if hasattr(bx, n)
    )
    if token_errors and isinstance(exc, token_errors):
        return AwsProblem(EXPIRED, "the AWS SSO session has expired", _login_hint(profile))
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError)):
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or endpoint_url or "the AWS endpoint"
        return AwsProblem(UNREACHABLE, f"cannot reach {url}", "check the network, the region and AWS_ENDPOINT_URL")
    if isinstance(exc, bx.ReadTimeoutError):
        return AwsProblem(UNREACHABLE, f"AWS did not answer in time ({action or 'the call'})", "the network or AWS is slow; retry")
    if isinstance(exc, bx.ParamValidationError):
        return AwsProblem(INVALID, f"invalid request to AWS: {exc}", "this is a bug in the cockpit; the debug log has the details")
    if _is_network_error(exc):
        return AwsProblem(UNREACHABLE, f"cannot reach {endpoint_url or 'the AWS endpoint'}: {exc.strerror or exc}", "check the network, the region and AWS_ENDPOINT_URL")
    if isinstance(exc, OSError):  # a local problem (a full disk, a permission): not the network
        return AwsProblem(OTHER, f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), "the debug log has the traceback")
    if isinstance(exc, bx.BotoCoreError):
        return AwsProblem(OTHER, f"AWS client error: {exc}", "")
    return AwsProblem(OTHER, f"{type(exc).__name__}: {exc}", "the debug log has the traceback")


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ClientError, else None."""
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def _says_missing(message: str) -> bool:
    # Some services say "missing" only in words (ECS: ClientException
    # "Unable to describe task definition.").
    m = message.lower()
    return any(w in m for w in ("not found", "does not exist", "unable to describe", "could not be found"))


def _unwrap_xml(code: str, message: str) -> tuple[str, str]:
    """An XML error body under a JSON protocol (a proxy, an emulator) still has a code.

    botocore then reports the HTTP status as the code and the raw XML as the
    message; the real code and message are inside.
    """
    if "<Code>" not in message:
        return code, message
    import re

    inner = re.search(r"<Code>([^<]+)</Code>", message)
    text = re.search(r"<Message>([^<]*)</Message>", message)
    return (inner.group(1) if inner else code), (text.group(1) if text else "")


def _is_network_error(exc: BaseException) -> bool:
    import socket

    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    try:
        from aiohttp import ClientConnectionError
    except ImportError:  # pragma: no cover - aiohttp comes with aiobotocore
        return False
    return isinstance(exc, ClientConnectionError)
