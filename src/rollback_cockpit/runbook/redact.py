"""Masking secret-looking text before it is shown, journaled or reported.

Error pages and log lines are shown to the operator because they explain a
failure, but they may carry a password, a token or a connection string.
Whatever the cockpit quotes from outside goes through :func:`redact` first.
"""

from __future__ import annotations

import re

MASK = "****"

_PATTERNS = [
    # Authorization: Bearer abc / Basic abc (before key=value, which would take only "Bearer")
    re.compile(r"(?i)(\b(?:bearer|basic)\s+)([A-Za-z0-9._~+/=-]{6,})"),
    # key=value / "key": "value" for names that hold secrets
    re.compile(
        r"(?i)(\b[\w.-]*(?:pass(?:word|wd)?|secret|token|api[_-]?key|access[_-]?key|auth(?:orization)?|credential|"
        r"private[_-]?key|session[_-]?id|cookie)[\w.-]*[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&}\]]+)"
    ),
    # user:password@ in URLs and connection strings
    re.compile(r"(://[^/\s:@]+:)([^@\s/]+)(?=@)"),
    # AWS access key ids
    re.compile(r"()\b((?:AKIA|ASIA)[A-Z0-9]{16})\b"),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text
