"""Secret-looking text quoted from outside (error pages, log lines) is masked."""

from __future__ import annotations

import pytest

from rollback_cockpit.runbook.redact import MASK, redact


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("ERROR db login failed password=hunter2x for user app", "password=", "hunter2x"),
        ('{"error": "boom", "api_key": "sk-live-1234567"}', '"api_key": "', "sk-live-1234567"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "Authorization:", "eyJhbGciOiJIUzI1NiJ9"),
        ("connect postgres://app:s3cr3tpw@db.internal:5432/ltc", "postgres://app:", "s3cr3tpw"),
        ("key AKIAABCDEFGHIJKLMNOP leaked", "key ", "AKIAABCDEFGHIJKLMNOP"),
        ("DB_PASSWORD: PLANTED-SECRET-8f3a", "DB_PASSWORD: ", "PLANTED-SECRET-8f3a"),
    ],
)
def test_secret_values_are_masked(text, kept, gone):
    out = redact(text)
    assert gone not in out and kept in out and MASK in out


def test_ordinary_text_is_left_alone():
    line = "ERROR NullPointer in /api/events/current req=42 after 3000 ms"
    assert redact(line) == line
