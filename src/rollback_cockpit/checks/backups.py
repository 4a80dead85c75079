"""Backups under the environment's verified-backup location, and which one is verified.

Layout (the same on AWS and in the rehearsal world)::

    s3://<bucket>/<prefix><backup-id>/manifest.json   what the backup holds
    s3://<bucket>/<prefix><backup-id>/<table>.jsonl   the items, one per line
    s3://<bucket>/<prefix><backup-id>/VERIFIED        written by the restore drill that verified it

A backup counts as verified when its folder holds the ``VERIFIED`` marker,
or its id (a folder or a single object, as in the runbook's flat listing)
says VERIFIED (and not UNVERIFIED). Backup ids sort by time, so the newest
verified backup is the greatest verified id. The runbook's script took the
newest object with VERIFIED anywhere in its listing line; reading the marker
per backup keeps an unverified newer backup from being restored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rollback_cockpit.aws.errors import explain

MARKER = "VERIFIED"
MANIFEST = "manifest.json"


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key or prefix) of an s3:// URL."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// location: {url}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    return bucket, prefix


def says_verified(name: str) -> bool:
    upper = name.upper()
    return MARKER in upper and "UNVERIFIED" not in upper


@dataclass(frozen=True)
class Backup:
    id: str
    url: str  # s3://bucket/prefix/<id>/ (a folder) or s3://bucket/prefix/<id> (one object)
    verified: bool
    has_manifest: bool


async def list_backups(aws: Any, location: str) -> list[Backup]:
    """Every backup under ``location``, oldest first (one paginated listing)."""
    bucket, prefix = parse_s3_url(location)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    found: dict[str, dict[str, bool]] = {}
    try:
        s3 = await aws.client("s3")
        async for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", ()):
                backup_id, sep, name = obj["Key"][len(prefix) :].partition("/")
                # A loose object is a backup of its own (the runbook's flat
                # layout: s3 ls | grep VERIFIED), verified by its name.
                entry = found.setdefault(backup_id, {"verified": says_verified(backup_id), "manifest": False})
                entry["verified"] |= sep == "/" and name == MARKER
                entry["manifest"] |= sep == "/" and name == MANIFEST
    except Exception as exc:
        raise explain(exc, resource=location) from exc
    return [Backup(bid, f"s3://{bucket}/{prefix}{bid}/", v["verified"], v["manifest"]) for bid, v in sorted(found.items())]


def newest_verified(backups: list[Backup]) -> Backup | None:
    verified = [b for b in backups if b.verified]
    return verified[-1] if verified else None


class Manifest:
    def __init__(self, url: str, doc: dict[str, Any]):
        self.url = url
        self.doc = doc

    def items_for(self, table: str) -> int | None:
        """The item count the backup holds for ``table`` ({"items": N} or a bare N)."""
        entry = (self.doc.get("tables") or {}).get(table)
        if isinstance(entry, dict):
            entry = entry.get("items")
        if isinstance(entry, int) and not isinstance(entry, bool):
            return entry
        return None


async def read_manifest(aws: Any, backup: Backup) -> Manifest:
    bucket, key = parse_s3_url(backup.url + MANIFEST)
    url = f"s3://{bucket}/{key}"
    try:
        s3 = await aws.client("s3")
        resp = await s3.get_object(Bucket=bucket, Key=key)
        async with resp["Body"] as body:
            raw = await body.read()
    except Exception as exc:
        raise explain(exc, resource=url) from exc
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"backup manifest {url} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"backup manifest {url} is not a JSON object")
    return Manifest(url, doc)


async def last_verified_manifest(aws: Any, location: str) -> Manifest | None:
    """The manifest of the newest verified backup, or None when there is none."""
    newest = newest_verified(await list_backups(aws, location))
    if newest is None or not newest.has_manifest:
        return None
    return await read_manifest(aws, newest)
