"""The runbook's check-rollback-readiness, as a stream of CheckResults.

Before a rollback: are the credentials valid, does every configured resource
exist, may we call what we need, is nobody else rolling back, is there a
verified backup, and does each rollback kind have something to go back to?
Every check only reads. The checks run concurrently and each result is
yielded as soon as it is known.

Ready means: no result is ``fail`` or ``could_not_check`` — except the
permission simulation, which many accounts (and moto) do not offer; there
"could not check" is a note, not a blocker.

The environment lock is read here (reading is a check); taking and
releasing it lives in ``actions.lock``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollback_cockpit.aws.errors import DENIED, NOT_FOUND, AwsProblem, error_code, explain
from rollback_cockpit.checks.backups import list_backups, newest_verified
from rollback_cockpit.checks.results import COULD_NOT_CHECK, FAIL, PASS, WARN, CheckResult, merge

CHECK = "readiness"
PERMISSIONS = "permissions"
# Names of the results, in the order the runbook lists them.
CREDENTIALS = "credentials"
LOCK = "lock"
BACKUP = "verified backup"

# IAM policy simulation may be slow on a big account; never let it hold the rest.
SIMULATION_TIMEOUT_SECONDS = 30.0
# Secrets Manager's AWSPREVIOUS stage, which moves automatically with AWSCURRENT.
AWSPREVIOUS = "AWSPREVIOUS"


# --------------------------------------------------------------------------
# The environment lock (read side).


def lock_parameter(env: Any) -> str:
    """The SSM parameter that holds the environment's lock."""
    return f"/rollback-cockpit/{env.name}/lock"


@dataclass(frozen=True)
class LockInfo:
    operator: str
    run_id: str
    started_at: str
    parameter: str = ""

    def describe(self) -> str:
        return f"locked by {self.operator} since {self.started_at} (run {self.run_id})"

    def to_json(self) -> dict[str, str]:
        return {"operator": self.operator, "run_id": self.run_id, "started_at": self.started_at}


async def read_lock(aws: Any, env: Any) -> LockInfo | None:
    """Who holds the environment's lock, or None when it is free."""
    ssm = await aws.client("ssm")
    name = lock_parameter(env)
    try:
        resp = await ssm.get_parameter(Name=name)
    except Exception as exc:
        if error_code(exc) == "ParameterNotFound":
            return None
        raise explain(exc, action="ssm:GetParameter", resource=name) from exc
    raw = resp["Parameter"].get("Value", "")
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError
    except ValueError:
        # Someone wrote the parameter by hand: still a lock, shown as found.
        data = {"operator": raw[:80] or "unknown", "run_id": "?", "started_at": "?"}
    return LockInfo(
        operator=str(data.get("operator", "unknown")),
        run_id=str(data.get("run_id", "?")),
        started_at=str(data.get("started_at", "?")),
        parameter=name,
    )


# --------------------------------------------------------------------------
# The check.


def is_ready(results: list[CheckResult]) -> bool:
    for r in results:
        if r.status == FAIL:
            return False
        if r.status == COULD_NOT_CHECK and r.name != PERMISSIONS:
            return False
    return True


async def check_readiness(
    aws: Any,
    env: Any,
    clock: Any,
    *,
    run_id: str | None = None,
    policy_actions: list[str] | None = None,
) -> AsyncIterator[CheckResult]:
    """Yield readiness results as they complete.

    ``run_id``: a lock held by this run (a resumed one) counts as free.
    ``policy_actions``: the IAM actions to simulate; default: docs/iam-policy.json.
    """
    checks: list[Callable[[], Awaitable[list[CheckResult]]]] = [
        lambda: _credentials(aws),
        lambda: _permissions(aws, policy_actions),
        lambda: _lock(aws, env, run_id),
        lambda: _backup(aws, env),
        *(lambda f=f: f(aws, env) for f in _RESOURCE_CHECKS),
    ]

    async def stream(make: Callable[[], Awaitable[list[CheckResult]]]) -> AsyncIterator[CheckResult]:
        for result in await make():
            yield result

    async for result in merge([stream(c) for c in checks]):
        yield result


async def _guard(name: str, action: str, coro: Awaitable[list[CheckResult]]) -> list[CheckResult]:
    """Turn an unexpected failure into one readable result instead of a crash."""
    try:
        return await coro
    except AwsProblem as p:
        return [CheckResult(CHECK, name, FAIL if p.kind == NOT_FOUND else COULD_NOT_CHECK, p.line(), evidence={"action": action})]
    except Exception as exc:
        p = explain(exc, action=action)
        return [CheckResult(CHECK, name, COULD_NOT_CHECK, p.line(), evidence={"action": action})]


async def _credentials(aws: Any) -> list[CheckResult]:
    async def go() -> list[CheckResult]:
        sts = await aws.client("sts")
        try:
            who = await sts.get_caller_identity()
        except Exception as exc:
            p = explain(exc, action="sts:GetCallerIdentity")
            return [CheckResult(CHECK, CREDENTIALS, FAIL, p.line())]
        return [
            CheckResult(
                CHECK,
                CREDENTIALS,
                PASS,
                f"valid: {who['Arn']} (account {who['Account']})",
                evidence={"account": who["Account"], "arn": who["Arn"]},
            )
        ]

    return await _guard(CREDENTIALS, "sts:GetCallerIdentity", go())


# ---- permissions ----------------------------------------------------------


def default_policy_path() -> Path | None:
    """The least-privilege policy shipped with the package (docs/iam-policy.json links to it)."""
    from importlib import resources

    candidate = Path(str(resources.files("rollback_cockpit.aws") / "iam-policy.json"))
    return candidate if candidate.is_file() else None


def policy_actions_from(path: Path) -> list[str]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    actions: list[str] = []
    statements = doc.get("Statement", [])
    for st in [statements] if isinstance(statements, dict) else statements:
        if st.get("Effect") != "Allow":
            continue
        acts = st.get("Action", [])
        actions += [acts] if isinstance(acts, str) else list(acts)
    return sorted(set(actions))


def principal_arn(caller_arn: str) -> str | None:
    """The IAM principal to simulate for an STS caller ARN (None for root)."""
    m = re.match(r"arn:(aws[\w-]*):sts::(\d+):assumed-role/([^/]+)/", caller_arn)
    if m:
        # The role's path is not in the session ARN; roles with a path need it added by hand.
        return f"arn:{m[1]}:iam::{m[2]}:role/{m[3]}"
    if caller_arn.endswith(":root"):
        return None
    m = re.match(r"arn:(aws[\w-]*):(?:sts|iam)::(\d+):user/(.+)$", caller_arn)
    if m:
        return f"arn:{m[1]}:iam::{m[2]}:user/{m[3]}"
    return caller_arn


async def _permissions(aws: Any, actions: list[str] | None) -> list[CheckResult]:
    name = PERMISSIONS
    if actions is None:
        path = default_policy_path()
        if path is None:
            return [CheckResult(CHECK, name, COULD_NOT_CHECK, "docs/iam-policy.json not found; the actions to simulate are unknown")]
        actions = policy_actions_from(path)
    try:
        sts = await aws.client("sts")
        who = await sts.get_caller_identity()
    except Exception as exc:
        return [CheckResult(CHECK, name, COULD_NOT_CHECK, f"no caller identity: {explain(exc).line()}")]
    principal = principal_arn(who["Arn"])
    if principal is None:
        return [CheckResult(CHECK, name, WARN, "running as the account root: every action is allowed (not recommended)")]
    iam = await aws.client("iam")
    decisions: dict[str, str] = {}

    async def simulate() -> None:
        marker: str | None = None
        while True:
            kwargs: dict[str, Any] = {"PolicySourceArn": principal, "ActionNames": actions}
            if marker:
                kwargs["Marker"] = marker
            resp = await iam.simulate_principal_policy(**kwargs)
            for r in resp.get("EvaluationResults", []):
                decisions[r["EvalActionName"]] = r["EvalDecision"]
            if not resp.get("IsTruncated"):
                return
            marker = resp.get("Marker")

    try:
        await asyncio.wait_for(simulate(), SIMULATION_TIMEOUT_SECONDS)
    except TimeoutError:
        return [CheckResult(CHECK, name, COULD_NOT_CHECK, f"IAM policy simulation did not answer within {SIMULATION_TIMEOUT_SECONDS:g} s")]
    except Exception as exc:
        p = explain(exc, action="iam:SimulatePrincipalPolicy", resource=principal)
        if p.kind == DENIED:
            why = "this identity may not simulate its own policy (iam:SimulatePrincipalPolicy)"
        else:
            why = f"IAM policy simulation is not available here ({_short_reason(exc, p)})"
        return [
            CheckResult(
                CHECK,
                name,
                COULD_NOT_CHECK,
                f"{why}; permissions will show up as AccessDenied at the step that needs them",
                evidence={"principal": principal, "actions": len(actions)},
            )
        ]
    denied = sorted(a for a, d in decisions.items() if d != "allowed")
    if denied:
        return [
            CheckResult(
                CHECK,
                name,
                FAIL,
                f"{len(denied)} of {len(actions)} actions denied for {principal}: {', '.join(denied[:5])}"
                + (" …" if len(denied) > 5 else ""),
                details=tuple(f"denied: {a} ({decisions[a]})" for a in denied),
                evidence={"principal": principal, "denied": denied},
            )
        ]
    return [CheckResult(CHECK, name, PASS, f"all {len(actions)} actions allowed for {principal}", evidence={"principal": principal})]


def _short_reason(exc: BaseException, problem: AwsProblem) -> str:
    # moto (and a broken proxy) answer with an HTML error page: name it, not its bytes.
    if type(exc).__name__ == "ResponseParserError" or "Unable to parse response" in str(exc):
        return "the endpoint answered with an error page, not an IAM response"
    first = problem.message.splitlines()[0] if problem.message else problem.kind
    return first[:100]


# ---- lock and backup ------------------------------------------------------


async def _lock(aws: Any, env: Any, run_id: str | None) -> list[CheckResult]:
    async def go() -> list[CheckResult]:
        holder = await read_lock(aws, env)
        param = lock_parameter(env)
        if holder is None:
            return [CheckResult(CHECK, LOCK, PASS, f"free ({param})", evidence={"parameter": param})]
        if run_id and holder.run_id == run_id:
            return [CheckResult(CHECK, LOCK, PASS, f"held by this run ({holder.describe()})", evidence=holder.to_json())]
        return [CheckResult(CHECK, LOCK, FAIL, holder.describe(), evidence=holder.to_json())]

    return await _guard(LOCK, "ssm:GetParameter", go())


async def _backup(aws: Any, env: Any) -> list[CheckResult]:
    if env.emergency is None or not env.emergency.backups:
        return [CheckResult(CHECK, BACKUP, WARN, "no backup location configured (emergency.backups)")]
    url = env.emergency.backups

    async def go() -> list[CheckResult]:
        backups = await list_backups(aws, url)
        newest = newest_verified(backups)
        if newest is None:
            return [CheckResult(CHECK, BACKUP, FAIL, f"no backup marked VERIFIED under {url}")]
        count = sum(b.verified for b in backups)
        latest = backups[-1]
        note = "" if latest is newest else f"; the newest backup {latest.id} is not verified"
        return [
            CheckResult(
                CHECK,
                BACKUP,
                PASS,
                f"{count} verified backup(s); newest {newest.url.rstrip('/')}{note}",
                evidence={"newest": newest.url, "count": count},
            )
        ]

    return await _guard(BACKUP, "s3:ListBucket", go())


# ---- resources and previous versions -------------------------------------


def _result(name: str, missing: list[str], found: list[str], what: str, *, extra: tuple[str, ...] = ()) -> CheckResult:
    if missing:
        return CheckResult(
            CHECK,
            name,
            FAIL,
            "missing: " + ", ".join(missing),
            details=tuple(f"missing: {m}" for m in missing) + extra,
            evidence={"missing": missing, "found": found},
        )
    return CheckResult(CHECK, name, PASS, f"{len(found)} {what} found", details=tuple(found) + extra, evidence={"found": found})


async def _gather_exists(checks: dict[str, Awaitable[Any]]) -> tuple[list[str], list[str], dict[str, Any]]:
    """Run existence reads concurrently: (missing, found, answers). Other failures propagate."""
    keys = list(checks)
    answers = await asyncio.gather(*checks.values(), return_exceptions=True)
    missing, found, ok = [], [], {}
    for key, answer in zip(keys, answers, strict=True):
        if isinstance(answer, BaseException):
            p = explain(answer)
            if p.kind == NOT_FOUND or str(error_code(answer) or "").startswith("NoSuch"):
                missing.append(key)
                continue
            raise p
        found.append(key)
        ok[key] = answer
    return missing, found, ok


def _ecs_revision(arn: str) -> tuple[str, int]:
    family_rev = arn.rsplit("/", 1)[-1]
    family, _, rev = family_rev.rpartition(":")
    return family, int(rev)


async def _ecs(aws: Any, env: Any) -> list[CheckResult]:
    ecs_cfg = env.application.ecs if env.application else None
    if ecs_cfg is None:
        return []

    async def go() -> list[CheckResult]:
        ecs = await aws.client("ecs")
        missing: list[str] = []
        found: list[str] = []
        clusters = await ecs.describe_clusters(clusters=[ecs_cfg.cluster])
        active = [c for c in clusters.get("clusters", []) if c.get("status") == "ACTIVE"]
        if not active:
            return [_result("resources: ECS", [f"ECS cluster {ecs_cfg.cluster}"], [], "ECS resources")]
        found.append(f"ECS cluster {ecs_cfg.cluster}")
        names = [s.name for s in ecs_cfg.services]
        # DescribeServices takes at most 10 services per call.
        batches = [names[i : i + 10] for i in range(0, len(names), 10)]
        answers = await asyncio.gather(*(ecs.describe_services(cluster=ecs_cfg.cluster, services=b) for b in batches))
        services: dict[str, dict[str, Any]] = {}
        for resp in answers:
            for svc in resp.get("services", []):
                if svc.get("status") == "ACTIVE":
                    services[svc["serviceName"]] = svc
        for name in names:
            label = f"ECS service {ecs_cfg.cluster}/{name}"
            (found if name in services else missing).append(label)
        results = [_result("resources: ECS", missing, found, "ECS resources")]

        async def previous(svc_cfg: Any) -> CheckResult:
            svc = services[svc_cfg.name]
            family, current = _ecs_revision(svc["taskDefinition"])
            family = svc_cfg.family or family
            revs: list[int] = []
            paginator = ecs.get_paginator("list_task_definitions")
            async for page in paginator.paginate(familyPrefix=family, status="ACTIVE"):
                for arn in page.get("taskDefinitionArns", []):
                    fam, rev = _ecs_revision(arn)
                    if fam == family:
                        revs.append(rev)
            older = sorted(r for r in revs if r < current)
            rname = f"previous version: ECS {svc_cfg.name}"
            if not older:
                return CheckResult(CHECK, rname, FAIL, f"no ACTIVE revision of {family} older than the live {current}")
            return CheckResult(
                CHECK, rname, PASS, f"live {family}:{current}, previous ACTIVE {family}:{older[-1]}",
                evidence={"current": current, "previous": older[-1]},
            )

        results += await asyncio.gather(*(previous(s) for s in ecs_cfg.services if s.name in services))
        return results

    return await _guard("resources: ECS", "ecs:DescribeServices", go())


async def _lambda(aws: Any, env: Any) -> list[CheckResult]:
    lam_cfg = env.application.lambda_ if env.application else None
    if lam_cfg is None:
        return []

    async def go() -> list[CheckResult]:
        lam = await aws.client("lambda")
        missing, found, aliases = await _gather_exists(
            {f"Lambda {f.name}:{f.alias}": lam.get_alias(FunctionName=f.name, Name=f.alias) for f in lam_cfg.functions}
        )
        results = [_result("resources: Lambda", missing, found, "Lambda aliases")]

        async def previous(f: Any) -> CheckResult:
            live = aliases[f"Lambda {f.name}:{f.alias}"]["FunctionVersion"]
            versions: list[int] = []
            paginator = lam.get_paginator("list_versions_by_function")
            async for page in paginator.paginate(FunctionName=f.name):
                versions += [int(v["Version"]) for v in page.get("Versions", []) if v["Version"].isdigit()]
            rname = f"previous version: Lambda {f.name}"
            older = sorted(v for v in versions if not live.isdigit() or v < int(live))
            if not live.isdigit():
                return CheckResult(CHECK, rname, WARN, f"alias {f.alias} points at {live}; roll back to a published version only")
            if not older:
                return CheckResult(CHECK, rname, FAIL, f"no published version older than the live {live}")
            return CheckResult(CHECK, rname, PASS, f"alias {f.alias} on {live}, previous version {older[-1]}", evidence={"current": live, "previous": older[-1]})

        results += await asyncio.gather(*(previous(f) for f in lam_cfg.functions if f"Lambda {f.name}:{f.alias}" in aliases))
        return results

    return await _guard("resources: Lambda", "lambda:GetAlias", go())


async def _static(aws: Any, env: Any) -> list[CheckResult]:
    site = env.application.static_site if env.application else None
    if site is None:
        return []

    async def go() -> list[CheckResult]:
        s3 = await aws.client("s3")
        cloudfront = await aws.client("cloudfront")
        missing, found, _ = await _gather_exists(
            {
                f"bucket {site.bucket}": s3.head_bucket(Bucket=site.bucket),
                f"CloudFront distribution {site.distribution_id}": cloudfront.get_distribution(Id=site.distribution_id),
            }
        )
        results = [_result("resources: static site", missing, found, "static-site resources")]
        if f"bucket {site.bucket}" not in found:
            return results
        rname = "previous version: static site"
        releases: list[str] = []
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=site.bucket, Prefix=site.releases_prefix, Delimiter="/"):
            releases += [p["Prefix"][len(site.releases_prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
        releases = sorted((r for r in releases if r), key=_natural_key)
        try:
            marker = await s3.get_object(Bucket=site.bucket, Key=site.current_release_key)
            async with marker["Body"] as body:
                live = (await body.read()).decode("utf-8").strip()
        except Exception as exc:
            p = explain(exc, action="s3:GetObject", resource=f"s3://{site.bucket}/{site.current_release_key}")
            results.append(CheckResult(CHECK, rname, FAIL, f"no release marker: {p.message}"))
            return results
        older = [r for r in releases if _natural_key(r) < _natural_key(live)]
        if not older:
            results.append(CheckResult(CHECK, rname, FAIL, f"no release older than the live {live} under {site.releases_prefix}"))
        else:
            results.append(CheckResult(CHECK, rname, PASS, f"live {live}, previous release {older[-1]}", evidence={"current": live, "previous": older[-1]}))
        return results

    return await _guard("resources: static site", "s3:ListBucket", go())


def _natural_key(text: str) -> list[Any]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


async def _tables(aws: Any, env: Any) -> list[CheckResult]:
    if env.database is None or not env.database.tables:
        return []

    async def go() -> list[CheckResult]:
        ddb = await aws.client("dynamodb")
        missing, found, answers = await _gather_exists(
            {f"table {t.name}": ddb.describe_table(TableName=t.name) for t in env.database.tables}
        )
        extra: list[str] = []
        for t in env.database.tables:
            desc = answers.get(f"table {t.name}")
            if desc:
                have = {g["IndexName"] for g in desc["Table"].get("GlobalSecondaryIndexes", [])}
                extra += [f"note: GSI {g} of {t.name} is absent (a schema rollback may rebuild it)" for g in t.gsis if g not in have]
        return [_result("resources: DynamoDB", missing, found, "tables", extra=tuple(extra))]

    return await _guard("resources: DynamoDB", "dynamodb:DescribeTable", go())


async def _secrets(aws: Any, env: Any) -> list[CheckResult]:
    if env.configuration is None or not env.configuration.secrets:
        return []

    async def go() -> list[CheckResult]:
        sm = await aws.client("secretsmanager")
        missing, found, answers = await _gather_exists(
            {f"secret {s.id}": sm.describe_secret(SecretId=s.id) for s in env.configuration.secrets}
        )
        # Only names and stage labels are read here: never a secret value.
        results = [_result("resources: secrets", missing, found, "secrets")]
        for s in env.configuration.secrets:
            desc = answers.get(f"secret {s.id}")
            if desc is None:
                continue
            stages = [st for stages in desc.get("VersionIdsToStages", {}).values() for st in stages]
            rname = f"previous version: secret {s.id}"
            if AWSPREVIOUS in stages:
                results.append(CheckResult(CHECK, rname, PASS, "an AWSPREVIOUS version exists"))
            else:
                results.append(CheckResult(CHECK, rname, FAIL, "no AWSPREVIOUS version: nothing to go back to"))
        return results

    return await _guard("resources: secrets", "secretsmanager:DescribeSecret", go())


def configured_parameters(env: Any) -> list[str]:
    names: list[str] = []
    if env.configuration:
        names += env.configuration.parameters
        if env.configuration.feature_flags_parameter:
            names.append(env.configuration.feature_flags_parameter)
    if env.traffic:
        names.append(env.traffic.active_parameter)
    if env.emergency:
        names.append(env.emergency.stable_version_parameter)
    if env.database and env.database.migrations and env.database.migrations.version_parameter:
        names.append(env.database.migrations.version_parameter)
    return list(dict.fromkeys(names))


async def _parameters(aws: Any, env: Any) -> list[CheckResult]:
    names = configured_parameters(env)
    if not names:
        return []

    async def go() -> list[CheckResult]:
        ssm = await aws.client("ssm")
        # GetParameters takes at most 10 names per call.
        answers = await asyncio.gather(*(ssm.get_parameters(Names=names[i : i + 10]) for i in range(0, len(names), 10)))
        invalid = {n for resp in answers for n in resp.get("InvalidParameters", [])}
        missing = [f"parameter {n}" for n in names if n in invalid]
        found = [f"parameter {n}" for n in names if n not in invalid]
        return [_result("resources: parameters", missing, found, "parameters")]

    return await _guard("resources: parameters", "ssm:GetParameters", go())


async def _stacks(aws: Any, env: Any) -> list[CheckResult]:
    if env.infrastructure is None or not env.infrastructure.stacks:
        return []

    async def go() -> list[CheckResult]:
        cfn = await aws.client("cloudformation")
        missing, found, _ = await _gather_exists(
            {f"stack {s.name}": cfn.describe_stacks(StackName=s.name) for s in env.infrastructure.stacks}
        )
        return [_result("resources: stacks", missing, found, "stacks")]

    return await _guard("resources: stacks", "cloudformation:DescribeStacks", go())


async def _hosted_zone(aws: Any, env: Any) -> list[CheckResult]:
    if env.traffic is None:
        return []

    async def go() -> list[CheckResult]:
        route53 = await aws.client("route53")
        zone = env.traffic.hosted_zone_id
        missing, found, _ = await _gather_exists({f"hosted zone {zone}": route53.get_hosted_zone(Id=zone)})
        return [_result("resources: hosted zone", missing, found, "hosted zone")]

    return await _guard("resources: hosted zone", "route53:GetHostedZone", go())


async def _log_group(aws: Any, env: Any) -> list[CheckResult]:
    if env.validation is None or not env.validation.log_group:
        return []
    group = env.validation.log_group

    async def go() -> list[CheckResult]:
        logs = await aws.client("logs")
        resp = await logs.describe_log_groups(logGroupNamePrefix=group)
        exists = any(g["logGroupName"] == group for g in resp.get("logGroups", []))
        label = f"log group {group}"
        return [_result("resources: log group", [] if exists else [label], [label] if exists else [], "log group")]

    return await _guard("resources: log group", "logs:DescribeLogGroups", go())


_RESOURCE_CHECKS = (_ecs, _lambda, _static, _tables, _secrets, _parameters, _stacks, _hosted_zone, _log_group)
