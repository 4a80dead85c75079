"""The static site back to the previous release, then a CloudFront invalidation.

Releases live under ``<releases_prefix><release-id>/``; the marker object
(``current_release_key``) names the live one. The previous release is the
one sorted just before it (natural order: ``v1.10`` after ``v1.9``). Its
objects are copied over the live prefix, the marker is rewritten (carrying
where it came from, so a re-run finds the site already at its target), and
``/*`` is invalidated and polled until complete.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime
from typing import Any

from rollback_cockpit.actions.steps import DiffRow, Plan, Step, StepFailed, refuse_if_missing
from rollback_cockpit.aws.session import request_id
from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.runbook.environment import StaticSite

FROM_META = "rolled-back-from"
COPY_CONCURRENCY = 16
INVALIDATION_POLL_SECONDS = 5.0


def natural_key(text: str) -> list[Any]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


async def _list(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """key -> ETag under a prefix."""
    out: dict[str, str] = {}
    paginator = s3.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = obj.get("ETag", "")
    return out


async def _releases(s3: Any, bucket: str, prefix: str) -> list[str]:
    ids: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        ids += [p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
    return sorted((i for i in ids if i), key=natural_key)


async def _marker(s3: Any, cfg: StaticSite) -> tuple[str, dict[str, str], datetime | None]:
    resp = await s3.get_object(Bucket=cfg.bucket, Key=cfg.current_release_key)
    async with resp["Body"] as body:
        text = (await body.read()).decode("utf-8").strip()
    return text, resp.get("Metadata") or {}, resp.get("LastModified")


def _live_key(cfg: StaticSite, release: str, key: str) -> str:
    return cfg.live_prefix + key[len(f"{cfg.releases_prefix}{release}/") :]


def _live_objects(cfg: StaticSite, objects: dict[str, str]) -> dict[str, str]:
    """Objects of the live site, without the releases and the marker (the live prefix may be the root)."""
    return {
        k: v
        for k, v in objects.items()
        if not k.startswith(cfg.releases_prefix) and k != cfg.current_release_key
    }


async def plan_static(aws: Any, cfg: StaticSite, clock: Clock) -> Plan:
    s3 = await aws.client("s3")
    plan = Plan("app", "")
    resource = f"s3:{cfg.bucket}"
    try:
        (live, meta, _), releases = await asyncio.gather(_marker(s3, cfg), _releases(s3, cfg.bucket, cfg.releases_prefix))
    except Exception as exc:
        refuse_if_missing(plan, exc, action="GetObject", resource=f"s3://{cfg.bucket}/{cfg.current_release_key}")
        return plan
    if live not in releases:
        plan.refusals.append(
            f"the live release {live!r} (from s3://{cfg.bucket}/{cfg.current_release_key}) is not under "
            f"s3://{cfg.bucket}/{cfg.releases_prefix}; cannot tell which release came before it"
        )
        return plan
    if meta.get(FROM_META) and meta[FROM_META] in releases and natural_key(meta[FROM_META]) > natural_key(live):
        target = live
        plan.warnings.append(f"the static site was already rolled back from release {meta[FROM_META]} to {live}")
    else:
        index = releases.index(live)
        if index == 0:
            plan.refusals.append(f"no release older than the live {live!r} under s3://{cfg.bucket}/{cfg.releases_prefix}")
            return plan
        target = releases[index - 1]
    src = await _list(s3, cfg.bucket, f"{cfg.releases_prefix}{target}/")
    if not src:
        plan.refusals.append(f"release {target!r} has no objects under s3://{cfg.bucket}/{cfg.releases_prefix}{target}/")
        return plan
    plan.diff.append(DiffRow(resource, "release", live, target))
    plan.diff.append(DiffRow(resource, "objects copied to the live site", "—", str(len(src))))
    restore = RestoreRelease(cfg, live, target)
    invalidate = Invalidate(cfg, clock)
    invalidate.depends_on = (restore.id,)
    plan.steps += [restore, invalidate]
    return plan


def _site_params(cfg: StaticSite) -> dict[str, Any]:
    # Recorded in the journal: a resume acts on the site the operator confirmed,
    # even if the environment file was edited since.
    return {
        "bucket": cfg.bucket,
        "distribution_id": cfg.distribution_id,
        "releases_prefix": cfg.releases_prefix,
        "live_prefix": cfg.live_prefix,
        "current_release_key": cfg.current_release_key,
        "invalidation_timeout_seconds": cfg.invalidation_timeout_seconds,
    }


class RestoreRelease(Step):
    TYPE = "static-restore"

    def params(self) -> dict[str, Any]:
        return {"site": _site_params(self.cfg), "current": self.current, "target": self.target}

    @classmethod
    def from_params(cls, params: dict[str, Any], env: Any, clock: Clock) -> Step:
        return cls(StaticSite(**params["site"]), params["current"], params["target"])

    def __init__(self, cfg: StaticSite, current: str, target: str):
        self.cfg = cfg
        self.current = current
        self.target = target
        self.id = f"static-restore:{cfg.bucket}"
        self.resource = f"s3:{cfg.bucket}"

    def describe(self) -> str:
        where = f"s3://{self.cfg.bucket}/{self.cfg.live_prefix}"
        return f"copy release {self.target} over the live site {where} (was {self.current}) and update the release marker"

    async def is_done(self, aws: Any) -> bool:
        s3 = await aws.client("s3")
        live, _, _ = await _marker(s3, self.cfg)
        if live != self.target:
            return False
        src, dst = await asyncio.gather(
            _list(s3, self.cfg.bucket, f"{self.cfg.releases_prefix}{self.target}/"),
            _list(s3, self.cfg.bucket, self.cfg.live_prefix),
        )
        return all(dst.get(_live_key(self.cfg, self.target, k)) == etag for k, etag in src.items())

    async def run(self, aws: Any, progress: Any) -> dict[str, Any]:
        s3 = await aws.client("s3")
        cfg = self.cfg
        src = await _list(s3, cfg.bucket, f"{cfg.releases_prefix}{self.target}/")
        if not src:
            raise StepFailed(f"release {self.target} has no objects any more", "check the bucket before retrying")
        gate = asyncio.Semaphore(COPY_CONCURRENCY)
        copied = 0

        async def copy(key: str) -> None:
            nonlocal copied
            async with gate:
                await s3.copy_object(Bucket=cfg.bucket, Key=_live_key(cfg, self.target, key), CopySource={"Bucket": cfg.bucket, "Key": key})
            copied += 1
            if copied % 50 == 0:
                progress(f"copied {copied}/{len(src)} objects")

        await asyncio.gather(*(copy(k) for k in src))
        progress(f"copied {len(src)} objects of release {self.target}")
        resp = await s3.put_object(
            Bucket=cfg.bucket,
            Key=cfg.current_release_key,
            Body=self.target.encode("utf-8"),
            ContentType="text/plain",
            Metadata={FROM_META: self.current},
        )
        live = _live_objects(cfg, await _list(s3, cfg.bucket, cfg.live_prefix))
        wanted = {_live_key(cfg, self.target, k) for k in src}
        stale = sorted(k for k in live if k not in wanted)
        return {
            "bucket": cfg.bucket,
            "before": self.current,
            "after": self.target,
            "objects_copied": len(src),
            # Left in place: deleting is not a rollback, and a cached page may still reference them.
            "objects_not_in_release": len(stale),
            "request_id": request_id(resp),
        }


class Invalidate(Step):
    TYPE = "cloudfront-invalidate"

    def params(self) -> dict[str, Any]:
        return {"site": _site_params(self.cfg)}

    @classmethod
    def from_params(cls, params: dict[str, Any], env: Any, clock: Clock) -> Step:
        return cls(StaticSite(**params["site"]), clock)

    def __init__(self, cfg: StaticSite, clock: Clock):
        self.cfg = cfg
        self.clock = clock
        self.id = f"cloudfront-invalidate:{cfg.distribution_id}"
        self.resource = f"s3:{cfg.bucket}"

    def describe(self) -> str:
        return f"invalidate /* on CloudFront distribution {self.cfg.distribution_id} and wait until it completes"

    async def is_done(self, aws: Any) -> bool:
        # Done when a completed /* invalidation was created after the release marker last changed.
        s3, cf = await asyncio.gather(aws.client("s3"), aws.client("cloudfront"))
        _, _, changed = await _marker(s3, self.cfg)
        resp = await cf.list_invalidations(DistributionId=self.cfg.distribution_id)
        items = (resp.get("InvalidationList") or {}).get("Items") or []
        for inv in items:
            created = inv.get("CreateTime")
            if changed and created and created >= changed and str(inv.get("Status", "")).lower() == "completed":
                full = await cf.get_invalidation(DistributionId=self.cfg.distribution_id, Id=inv["Id"])
                paths = full["Invalidation"]["InvalidationBatch"]["Paths"].get("Items") or []
                if "/*" in paths:
                    return True
        return False

    async def run(self, aws: Any, progress: Any) -> dict[str, Any]:
        cf = await aws.client("cloudfront")
        dist = self.cfg.distribution_id
        resp = await cf.create_invalidation(
            DistributionId=dist,
            InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": f"rollback-cockpit-{uuid.uuid4()}"},
        )
        inv_id = resp["Invalidation"]["Id"]
        progress(f"invalidation {inv_id} created")
        started = self.clock.time()
        deadline = started + self.cfg.invalidation_timeout_seconds
        status = resp["Invalidation"].get("Status", "")
        # moto says COMPLETED where AWS says Completed.
        while status.lower() != "completed":
            if self.clock.time() >= deadline:
                raise StepFailed(
                    f"the CloudFront invalidation {inv_id} did not complete within {self.cfg.invalidation_timeout_seconds:g} s (status {status})",
                    "it usually finishes on its own; visitors may see the old files until then",
                    invalidation_id=inv_id,
                )
            await self.clock.sleep(INVALIDATION_POLL_SECONDS)
            got = await cf.get_invalidation(DistributionId=dist, Id=inv_id)
            if got["Invalidation"].get("Status", "") != status:
                progress(f"invalidation {inv_id}: {got['Invalidation'].get('Status')}")
            status = got["Invalidation"].get("Status", "")
        return {
            "distribution_id": dist,
            "invalidation_id": inv_id,
            "status": status,
            "waited_s": round(self.clock.time() - started, 1),
            "request_id": request_id(resp),
        }
