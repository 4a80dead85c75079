"""Which backup is verified: the marker per backup, never a newer unverified one."""

from __future__ import annotations

import json

from rollback_cockpit.checks.backups import last_verified_manifest, list_backups, newest_verified

LOCATION = "s3://lt-backups/verified/"


def put(boto, key: str, body: bytes = b"x") -> None:
    boto("s3").put_object(Bucket="lt-backups", Key=f"verified/{key}", Body=body)


async def test_marker_folder_flat_file_and_unverified(aws, boto):
    boto("s3").create_bucket(Bucket="lt-backups", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    manifest = {"backup_id": "20260101T030000Z", "tables": {"events": {"items": 2000}, "people": 7}}
    put(boto, "20260101T030000Z/manifest.json", json.dumps(manifest).encode())
    put(boto, "20260101T030000Z/VERIFIED")
    put(boto, "20260102T030000Z/manifest.json", b"{}")  # newest folder: no marker
    put(boto, "2025-12-31-VERIFIED.tar.gz")  # the runbook's flat layout
    put(boto, "2026-01-03-UNVERIFIED.tar.gz")
    backups = await list_backups(aws, LOCATION)
    assert [(b.id, b.verified) for b in backups] == [
        ("2025-12-31-VERIFIED.tar.gz", True),
        ("2026-01-03-UNVERIFIED.tar.gz", False),
        ("20260101T030000Z", True),
        ("20260102T030000Z", False),
    ]
    newest = newest_verified(backups)
    assert newest.id == "20260101T030000Z"
    found = await last_verified_manifest(aws, LOCATION)
    assert found.url == "s3://lt-backups/verified/20260101T030000Z/manifest.json"
    assert found.items_for("events") == 2000 and found.items_for("people") == 7 and found.items_for("x") is None


async def test_no_backup_at_all(aws, boto):
    boto("s3").create_bucket(Bucket="lt-backups", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    assert await list_backups(aws, LOCATION) == []
    assert await last_verified_manifest(aws, LOCATION) is None
