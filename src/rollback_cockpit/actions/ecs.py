"""ECS services back to the previous ACTIVE task definition, then stable.

The target is never computed as ``N-1``: it is the newest *ACTIVE* revision
of the same family older than the live one (``N-1`` may be deregistered or
may not exist), or the revision the operator names, checked to exist and be
ACTIVE. After a rollback the service is tagged with where it came from and
went to, so running the same rollback again finds the service already at
its target instead of rolling back one revision further.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from rollback_cockpit.actions.steps import DiffRow, Plan, PlanInputError, Step, StepFailed, refuse_if_missing
from rollback_cockpit.aws.errors import error_code, explain
from rollback_cockpit.aws.session import request_id
from rollback_cockpit.runbook.clock import Clock
from rollback_cockpit.runbook.environment import Ecs

TAG_FROM = "rollback-cockpit:rolled-back-from"
TAG_TO = "rollback-cockpit:rolled-back-to"


def revision_of(arn: str) -> int:
    return int(arn.rsplit(":", 1)[1])


def family_of(arn_or_name: str) -> str:
    return arn_or_name.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def short(arn: str) -> str:
    """``family:revision`` of a task-definition ARN, for the operator."""
    return arn.rsplit("/", 1)[-1]


@dataclass
class ServiceTarget:
    service: str
    current_arn: str
    target_arn: str | None
    current: dict[str, Any]
    target: dict[str, Any] | None


async def plan_ecs(aws: Any, ecs_cfg: Ecs, clock: Clock, *, services: list[str] | None = None, to: str | None = None) -> Plan:
    """Read the services and their task-definition history; change nothing."""
    plan = Plan(kind="app", environment="")
    names = [s.name for s in ecs_cfg.services if services is None or s.name in services]
    if not names:
        return plan
    families = {s.name: s.family for s in ecs_cfg.services}
    to_rev, to_family = _parse_to(to, names, families)
    ecs = await aws.client("ecs")
    try:
        resp = await ecs.describe_services(cluster=ecs_cfg.cluster, services=names, include=["TAGS"])
    except Exception as exc:
        refuse_if_missing(plan, exc, action="DescribeServices", resource=ecs_cfg.cluster)
        return plan
    found = {s["serviceName"]: s for s in resp.get("services", [])}
    for failure in resp.get("failures", []):
        name = failure.get("arn", "").rsplit("/", 1)[-1]
        plan.refusals.append(f"ECS service {name} not found in cluster {ecs_cfg.cluster} ({failure.get('reason', 'MISSING')})")

    async def one(name: str) -> Plan:
        svc = found.get(name)
        if svc is None:
            return Plan("app", "")
        return await _plan_service(ecs, ecs_cfg, clock, svc, families.get(name), to_rev, to_family, len(names) == 1)

    for part in await asyncio.gather(*(one(n) for n in names)):
        plan.extend(part)
    return plan


def _parse_to(to: str | None, names: list[str], families: dict[str, str | None]) -> tuple[int | None, str | None]:
    if to is None:
        return None, None
    family, _, rev = to.rpartition(":")
    if not rev.isdigit():
        raise PlanInputError(f"--to must be a revision number or FAMILY:REVISION, not {to!r}")
    if family:
        return int(rev), family
    if len(names) > 1:
        raise PlanInputError(
            f"--to {to} is ambiguous with {len(names)} ECS services ({', '.join(names)}): "
            "choose one with --service, or write FAMILY:REVISION"
        )
    return int(rev), None


async def _active_revisions(ecs: Any, family: str) -> list[str]:
    arns: list[str] = []
    paginator = ecs.get_paginator("list_task_definitions")
    async for page in paginator.paginate(familyPrefix=family, status="ACTIVE"):
        arns += page.get("taskDefinitionArns", [])
    # familyPrefix is a prefix on AWS (exact on moto), and moto ignores sort: filter and sort here.
    arns = [a for a in arns if family_of(a) == family]
    return sorted(arns, key=revision_of)


async def _plan_service(
    ecs: Any,
    cfg: Ecs,
    clock: Clock,
    svc: dict[str, Any],
    family: str | None,
    to_rev: int | None,
    to_family: str | None,
    only_service: bool,
) -> Plan:
    name = svc["serviceName"]
    plan = Plan("app", "")
    live = svc.get("taskDefinition") or ""
    if not live:
        plan.refusals.append(f"ECS service {name} has no task definition")
        return plan
    current_td, active = await asyncio.gather(
        _describe(ecs, live), _active_revisions(ecs, family or family_of(live))
    )
    current_arn = current_td["taskDefinitionArn"]
    live_family = current_td["family"]
    if family and family != live_family:
        plan.warnings.append(f"{name} runs family {live_family}, not {family} as the environment file says; using {live_family}")
        active = await _active_revisions(ecs, live_family)
    current_rev = int(current_td["revision"])
    tags = {t["key"]: t["value"] for t in svc.get("tags") or []}
    if to_rev is not None and to_family and to_family != live_family:
        if only_service:
            plan.refusals.append(f"--to {to_family}:{to_rev}: {name} runs the family {live_family}, not {to_family}")
            return plan
        to_rev = None  # --to names another service's family; this one rolls back as usual

    if to_rev is not None:
        wanted = [a for a in active if revision_of(a) == to_rev]
        if not wanted:
            plan.refusals.append(await _why_not_active(ecs, live_family, to_rev))
            return plan
        target_arn = wanted[0]
        if to_rev > current_rev:
            plan.warnings.append(f"{name}: revision {to_rev} is newer than the live {current_rev}: this is a roll forward")
    elif tags.get(TAG_TO) == current_arn and tags.get(TAG_FROM):
        # Already rolled back by the cockpit: the target is where we are.
        target_arn = current_arn
        plan.warnings.append(f"{name} was already rolled back from {short(tags[TAG_FROM])} to {short(current_arn)}; pass --to to go further back")
    else:
        older = [a for a in active if revision_of(a) < current_rev]
        if not older:
            plan.refusals.append(
                f"{name}: no ACTIVE revision of {live_family} older than the live revision {current_rev} "
                "(older ones are deregistered or never existed); name one with --to FAMILY:REVISION if one is known good"
            )
            return plan
        target_arn = older[-1]
        if revision_of(target_arn) != current_rev - 1:
            plan.warnings.append(
                f"{name}: revision {current_rev - 1} is not ACTIVE; the previous ACTIVE revision is {revision_of(target_arn)}"
            )
    if tags.get(TAG_FROM) == target_arn and target_arn != current_arn:
        plan.warnings.append(f"{name}: {short(target_arn)} was itself rolled back from earlier; check it is good")
    target_td = current_td if target_arn == current_arn else await _describe(ecs, target_arn)
    plan.diff += diff_task_definitions(name, current_td, target_td)
    update = UpdateService(cfg.cluster, name, current_arn, target_arn)
    wait = WaitStable(cfg.cluster, name, current_arn, target_arn, clock, cfg.stable_timeout_seconds, cfg.poll_seconds)
    wait.depends_on = (update.id,)
    plan.steps += [update, wait]
    return plan


async def _describe(ecs: Any, td: str) -> dict[str, Any]:
    resp = await ecs.describe_task_definition(taskDefinition=td)
    return resp["taskDefinition"]


async def _why_not_active(ecs: Any, family: str, rev: int) -> str:
    try:
        td = await _describe(ecs, f"{family}:{rev}")
    except Exception as exc:
        if error_code(exc) in ("ClientException", "InvalidParameterException") or "not" in str(exc).lower():
            return f"--to: revision {rev} of {family} does not exist"
        return f"--to: cannot read revision {rev} of {family}: {explain(exc).line()}"
    return f"--to: revision {rev} of {family} is {td.get('status', 'not ACTIVE')} (deregistered); ECS would not start it"


def _image_tag(image: str) -> str:
    return image.rsplit("/", 1)[-1]


def diff_task_definitions(service: str, cur: dict[str, Any], tgt: dict[str, Any]) -> list[DiffRow]:
    """What changes, for the operator: never an environment value, only names."""
    rows = [DiffRow(service, "task definition", short(cur["taskDefinitionArn"]), short(tgt["taskDefinitionArn"]))]
    for key in ("cpu", "memory"):
        if str(cur.get(key, "")) != str(tgt.get(key, "")):
            rows.append(DiffRow(service, key, str(cur.get(key, "—")), str(tgt.get(key, "—"))))
    cur_c = {c["name"]: c for c in cur.get("containerDefinitions", [])}
    tgt_c = {c["name"]: c for c in tgt.get("containerDefinitions", [])}
    for cname in sorted(set(cur_c) | set(tgt_c)):
        a, b = cur_c.get(cname), tgt_c.get(cname)
        if a is None or b is None:
            rows.append(DiffRow(service, f"container {cname}", "present" if a else "absent", "present" if b else "absent"))
            continue
        if a.get("image") != b.get("image"):
            rows.append(DiffRow(service, f"{cname} image", _image_tag(a.get("image", "")), _image_tag(b.get("image", ""))))
        for key in ("cpu", "memory", "memoryReservation"):
            if a.get(key) != b.get(key):
                rows.append(DiffRow(service, f"{cname} {key}", str(a.get(key, "—")), str(b.get(key, "—"))))
        for section, label in (("environment", "environment"), ("secrets", "secrets")):
            value_key = "value" if section == "environment" else "valueFrom"
            ea = {e["name"]: e.get(value_key) for e in a.get(section, [])}
            eb = {e["name"]: e.get(value_key) for e in b.get(section, [])}
            changed = sorted(n for n in set(ea) & set(eb) if ea[n] != eb[n])
            added = sorted(set(eb) - set(ea))
            removed = sorted(set(ea) - set(eb))
            parts = [f"{w}: {', '.join(ns)}" for w, ns in (("changed", changed), ("added", added), ("removed", removed)) if ns]
            if parts:
                rows.append(DiffRow(service, f"{cname} {label} (names only)", f"{len(ea)} variables", "; ".join(parts)))
    return rows


async def _describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    resp = await ecs.describe_services(cluster=cluster, services=[service])
    if not resp.get("services"):
        raise StepFailed(f"ECS service {service} not found in cluster {cluster}", "check the environment file")
    return resp["services"][0]


class UpdateService(Step):
    TYPE = "ecs-update"
    PARAMS = ("cluster", "service", "current_arn", "target_arn")

    def __init__(self, cluster: str, service: str, current_arn: str, target_arn: str):
        self.cluster = cluster
        self.service = service
        self.current_arn = current_arn
        self.target_arn = target_arn
        self.id = f"ecs-update:{service}"
        self.resource = f"ecs:{service}"

    def describe(self) -> str:
        return f"point {self.service} at {short(self.target_arn)} (from {short(self.current_arn)}) with a forced new deployment"

    async def is_done(self, aws: Any) -> bool:
        svc = await _describe_service(await aws.client("ecs"), self.cluster, self.service)
        return _same_td(svc.get("taskDefinition", ""), self.target_arn)

    async def run(self, aws: Any, progress: Any) -> dict[str, Any]:
        ecs = await aws.client("ecs")
        # The full ARN: AWS and moto both store what they are given.
        resp = await ecs.update_service(
            cluster=self.cluster, service=self.service, taskDefinition=self.target_arn, forceNewDeployment=True
        )
        svc = resp.get("service", {})
        primary = next((d for d in svc.get("deployments", []) if d.get("status") == "PRIMARY"), {})
        evidence = {
            "cluster": self.cluster,
            "service": self.service,
            "before": self.current_arn,
            "after": svc.get("taskDefinition", self.target_arn),
            "deployment_id": primary.get("id"),
            "request_id": request_id(resp),
        }
        try:
            await ecs.tag_resource(
                resourceArn=svc.get("serviceArn", ""),
                tags=[{"key": TAG_FROM, "value": self.current_arn}, {"key": TAG_TO, "value": self.target_arn}],
            )
        except Exception as exc:  # the rollback stands; only the re-run memory is lost
            evidence["tag_warning"] = explain(exc, action="TagResource", resource=self.service).line()
        return evidence


def _same_td(live: str, arn: str) -> bool:
    return live == arn or short(live) == short(arn)


class WaitStable(Step):
    TYPE = "ecs-stable"
    PARAMS = ("cluster", "service", "current_arn", "target_arn", "timeout", "poll")

    @classmethod
    def from_params(cls, params: dict[str, Any], env: Any, clock: Clock) -> Step:
        return cls(clock=clock, **params)

    def __init__(self, cluster: str, service: str, current_arn: str, target_arn: str, clock: Clock, timeout: float, poll: float):
        self.cluster = cluster
        self.service = service
        self.current_arn = current_arn
        self.target_arn = target_arn
        self.clock = clock
        self.timeout = timeout
        self.poll = poll
        self.id = f"ecs-stable:{service}"
        self.resource = f"ecs:{service}"

    def describe(self) -> str:
        return f"wait until {self.service} is stable on {short(self.target_arn)} (up to {self.timeout:g} s)"

    async def is_done(self, aws: Any) -> bool:
        svc = await _describe_service(await aws.client("ecs"), self.cluster, self.service)
        return _same_td(svc.get("taskDefinition", ""), self.target_arn) and stability(svc, self.target_arn)[0]

    async def run(self, aws: Any, progress: Any) -> dict[str, Any]:
        ecs = await aws.client("ecs")
        deadline = self.clock.time() + self.timeout
        started = self.clock.time()
        last = None
        polls = 0
        while True:
            svc = await _describe_service(ecs, self.cluster, self.service)
            polls += 1
            live = svc.get("taskDefinition", "")
            primary = _primary(svc)
            if not _same_td(live, self.target_arn) or (primary or {}).get("rolloutState") == "FAILED":
                now_on = short(live) if live else "?"
                reason = (primary or {}).get("rolloutStateReason") or ""
                raise StepFailed(
                    f"ECS rolled the deployment back on its own (circuit breaker): {self.service} is on {now_on}, "
                    f"not {short(self.target_arn)}" + (f" — {reason}" if reason else ""),
                    "the target revision did not start; read the stopped tasks' reasons before trying again",
                    service=self.service,
                    live=live,
                    target=self.target_arn,
                )
            stable, status = stability(svc, self.target_arn)
            if status != last:
                progress(f"{self.service}: {status}")
                last = status
            if stable:
                return {
                    "service": self.service,
                    "task_definition": live,
                    "running": svc.get("runningCount"),
                    "desired": svc.get("desiredCount"),
                    "waited_s": round(self.clock.time() - started, 1),
                    "polls": polls,
                }
            if self.clock.time() >= deadline:
                raise StepFailed(
                    f"{self.service} did not become stable within {self.timeout:g} s ({status})",
                    "the deployment may still finish; watch it with `aws ecs describe-services` and re-run to continue",
                    service=self.service,
                    last_status=status,
                )
            await self.clock.sleep(min(self.poll, max(0.0, deadline - self.clock.time())) or self.poll)


def _primary(svc: dict[str, Any]) -> dict[str, Any] | None:
    return next((d for d in svc.get("deployments", []) if d.get("status") == "PRIMARY"), None)


def stability(svc: dict[str, Any], target_arn: str | None = None) -> tuple[bool, str]:
    """(stable?, one line saying where the deployment is)."""
    deployments = svc.get("deployments", [])
    primary = _primary(svc) or {}
    running, desired = svc.get("runningCount", 0), svc.get("desiredCount", 0)
    rollout = primary.get("rolloutState")
    failed = int(primary.get("failedTasks") or 0)
    # One deployment left means the old tasks are gone, whatever rolloutState says.
    done = rollout == "COMPLETED" or len(deployments) == 1
    status = f"{running}/{desired} running, rollout {rollout or 'unknown'}, {len(deployments)} deployment(s)"
    # Until ECS has made the new deployment PRIMARY, a settled old one must not pass for it.
    primary_td = primary.get("taskDefinition")
    started = not (target_arn and primary_td and not _same_td(primary_td, target_arn))
    if not started:
        status += f", the primary deployment is still {short(primary_td)}"
    if failed:
        status += f", {failed} task(s) failed to start"
    return (started and done and running == desired and failed == 0), status
