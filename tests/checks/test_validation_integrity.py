"""Data integrity against a real moto server."""

from __future__ import annotations

import json

from rollback_cockpit.checks.integrity import check_integrity
from rollback_cockpit.checks.results import FAIL, PASS, WARN
from rollback_cockpit.runbook import environment
from rollback_cockpit.runbook.clock import Clock

TABLE = "lt-events"


def make_env(*, expected: str = "", sample_size: int = 500, backups: bool = True) -> environment.Environment:
    emergency = (
        """
emergency:
  target_groups: [tg]
  maintenance_page: s3://lt-emergency/maintenance.html
  live_index: s3://lt-static/index.html
  backups: s3://lt-backups/verified/
  stable_version_parameter: /lt/stable
  service: api-service
"""
        if backups
        else ""
    )
    return environment.loads(
        f"""
name: t
region: ap-northeast-1
database:
  tables:
    - name: {TABLE}
      gsis: [status-index, date-index]
      tolerance_percent: 1
      sample_size: {sample_size}
      {expected}
      rules:
        - {{attribute: id, type: S}}
        - {{attribute: title, type: S}}
        - {{attribute: status, type: S}}
{emergency}
validation:
  base_url: http://127.0.0.1:1
"""
    )


def seed(boto, *, items: int = 500, missing_title: int = 0, gsis=("status-index", "date-index")) -> None:
    ddb = boto("dynamodb")
    attrs = [{"AttributeName": "id", "AttributeType": "S"}]
    indexes = []
    for g in gsis:
        attr = g.split("-")[0]
        attrs.append({"AttributeName": attr, "AttributeType": "S"})
        indexes.append({"IndexName": g, "KeySchema": [{"AttributeName": attr, "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}})
    kwargs = {"GlobalSecondaryIndexes": indexes} if indexes else {}
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=attrs,
        BillingMode="PAY_PER_REQUEST",
        **kwargs,
    )
    puts = []
    for i in range(items):
        item = {"id": {"S": f"e{i:05d}"}, "status": {"S": "open"}, "date": {"S": "2025-01-01"}}
        if i >= missing_title:
            item["title"] = {"S": f"Talk {i}"}
        puts.append({"PutRequest": {"Item": item}})
    for i in range(0, len(puts), 25):
        ddb.batch_write_item(RequestItems={TABLE: puts[i : i + 25]})


def put_manifest(boto, key: str, count: int) -> None:
    s3 = boto("s3")
    try:
        s3.create_bucket(Bucket="lt-backups", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    body = {"backup_id": key, "created_at": "2025-01-01T03:00:00Z", "tables": {TABLE: {"items": count}}}
    s3.put_object(Bucket="lt-backups", Key=key, Body=json.dumps(body).encode())


async def run(aws, env, **kw):
    return {r.name: r async for r in check_integrity(aws, env, Clock(), **kw)}


async def test_healthy_table_passes_against_the_verified_backup(aws, boto):
    seed(boto)
    put_manifest(boto, "verified/20250101-UNVERIFIED-draft.txt", 1)  # not a manifest: ignored
    put_manifest(boto, "verified/20250101T0300Z-VERIFIED/manifest.json", 502)
    got = await run(aws, make_env())
    assert got[f"{TABLE}: table"].status == PASS
    count = got[f"{TABLE}: item count"]
    assert count.status == PASS, count.summary
    assert count.evidence["expected"] == 502 and count.evidence["counted"] == 500
    assert "VERIFIED/manifest.json" in count.summary
    assert got[f"{TABLE}: items"].status == PASS


async def test_missing_gsi_fails(aws, boto):
    seed(boto, gsis=("status-index",))
    got = await run(aws, make_env(expected="expected_items: 500"))
    r = got[f"{TABLE}: table"]
    assert r.status == FAIL
    assert "GSI missing: date-index" in r.summary


async def test_two_percent_missing_a_required_attribute_fails(aws, boto):
    seed(boto, missing_title=10)
    got = await run(aws, make_env(expected="expected_items: 500"))
    r = got[f"{TABLE}: items"]
    assert r.status == FAIL
    assert "10 of 500 sampled items (2.0 %)" in r.summary
    assert "title missing (10)" in r.summary
    assert r.details and r.details[0].startswith("e.g. id=e")


async def test_count_outside_tolerance_fails(aws, boto):
    seed(boto, items=300)
    got = await run(aws, make_env(expected="expected_items: 320"))
    assert got[f"{TABLE}: item count"].status == FAIL


async def test_no_expectation_is_a_warning(aws, boto):
    seed(boto, items=20)
    got = await run(aws, make_env(backups=False))
    assert got[f"{TABLE}: item count"].status == WARN


async def test_deep_scan_checks_every_item_with_progress(aws, boto):
    seed(boto, items=600, missing_title=1)
    seen = []
    env = make_env(expected="expected_items: 600", sample_size=10)
    got = await run(aws, env, deep=True, progress=lambda check, msg, frac: seen.append((check, msg, frac)))
    r = got[f"{TABLE}: items"]
    assert r.status == FAIL and r.evidence["checked"] == 600 and r.evidence["deep"] is True
    assert got[f"{TABLE}: item count"].status == PASS
    assert seen and seen[-1][0] == "integrity" and "600 items scanned" in seen[-1][1]


async def test_missing_table_fails(aws, boto):
    got = await run(aws, make_env(expected="expected_items: 5"))
    assert got[f"{TABLE}: table"].status == FAIL
    assert "not found" in got[f"{TABLE}: table"].summary
