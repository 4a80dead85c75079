"""Security quick scan (read-only).

- the services' security groups (from the ECS services' network
  configuration, plus ``validation.security_groups``) expose no admin port
  to 0.0.0.0/0 or ::/0;
- the buckets (``validation.buckets`` and the static-site bucket) block
  public access, at the bucket or else at the account level;
- no secret-looking value sits in a plain task-definition environment
  variable (only the variable's NAME is ever shown, never its value);
- the endpoints use TLS where the URL is https.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

from rollback_cockpit.aws.errors import error_code, explain
from rollback_cockpit.checks.endpoints import endpoint_url, fetch_once, is_https, new_session
from rollback_cockpit.checks.results import COULD_NOT_CHECK, FAIL, PASS, WARN, CheckResult, merge

CHECK = "security"
WORLD = ("0.0.0.0/0", "::/0")
BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
SECRET_NAME = re.compile(
    r"PASSW(OR)?D|PWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|(^|_)KEY(_|$)", re.IGNORECASE
)


def looks_secret(name: str, value: str | None) -> bool:
    if not value or not SECRET_NAME.search(name):
        return False
    # A pointer to a secret is not the secret.
    return not value.startswith(("arn:aws:", "ssm:", "secretsmanager:"))


# --------------------------------------------------------------------------
# Security groups.


def open_admin_ports(group: dict[str, Any], admin_ports: list[int]) -> list[str]:
    findings = []
    for perm in group.get("IpPermissions", ()):
        proto = str(perm.get("IpProtocol", ""))
        if proto not in ("-1", "tcp", "6", "udp", "17"):
            continue
        lo, hi = perm.get("FromPort"), perm.get("ToPort")
        if proto == "-1" or lo is None or lo == -1:
            exposed = list(admin_ports)
        else:
            exposed = [p for p in admin_ports if lo <= p <= hi]
        if not exposed:
            continue
        cidrs = [r.get("CidrIp") for r in perm.get("IpRanges", ())] + [r.get("CidrIpv6") for r in perm.get("Ipv6Ranges", ())]
        for cidr in cidrs:
            if cidr in WORLD:
                what = "all traffic" if proto == "-1" else f"{proto} {', '.join(map(str, exposed))}"
                findings.append(f"{what} open to {cidr}")
    return findings


async def service_security_groups(aws: Any, env: Any) -> dict[str, list[str]]:
    """Security group id -> the services using it."""
    app = env.application
    if not app or not app.ecs:
        return {}
    ecs = await aws.client("ecs")
    names = [s.name for s in app.ecs.services]
    out: dict[str, list[str]] = {}
    for i in range(0, len(names), 10):  # DescribeServices takes ten at a time
        resp = await ecs.describe_services(cluster=app.ecs.cluster, services=names[i : i + 10])
        for svc in resp.get("services", ()):
            vpc = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
            for sg in vpc.get("securityGroups", ()):
                out.setdefault(sg, []).append(svc["serviceName"])
    return out


async def check_security_groups(aws: Any, env: Any) -> AsyncIterator[CheckResult]:
    v = env.validation
    try:
        groups = await service_security_groups(aws, env)
    except Exception as exc:
        yield CheckResult(CHECK, "services' security groups", COULD_NOT_CHECK, explain(exc).line())
        groups = {}
    for sg in v.security_groups:
        groups.setdefault(sg, [])
    if not groups:
        yield CheckResult(CHECK, "security groups", WARN, "no security groups found (ECS services or validation.security_groups)")
        return
    ec2 = await aws.client("ec2")

    async def one(sg: str) -> CheckResult:
        used_by = groups[sg]
        name = f"security group {sg}"
        try:
            resp = await ec2.describe_security_groups(GroupIds=[sg])
        except Exception as exc:
            if error_code(exc) == "InvalidGroup.NotFound":
                return CheckResult(CHECK, name, FAIL, f"not found: {sg}", evidence={"used_by": used_by})
            return CheckResult(CHECK, name, COULD_NOT_CHECK, explain(exc, resource=sg).line())
        group = resp["SecurityGroups"][0]
        label = f"{sg} ({group.get('GroupName')})" if group.get("GroupName") else sg
        findings = open_admin_ports(group, v.admin_ports)
        evidence = {"group": sg, "used_by": used_by, "findings": findings}
        users = f" used by {', '.join(used_by)}" if used_by else ""
        if findings:
            return CheckResult(CHECK, f"security group {label}", FAIL, f"admin port open to the world{users}: {'; '.join(findings)}", tuple(findings), evidence)
        return CheckResult(CHECK, f"security group {label}", PASS, f"no admin port open to the world{users}", evidence=evidence)

    for done in asyncio.as_completed([one(sg) for sg in groups]):
        yield await done


# --------------------------------------------------------------------------
# Buckets.


PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


async def public_exposure(s3: Any, bucket: str) -> list[str]:
    """What makes a bucket without a public access block public, if anything.

    The account-level block is not read: S3 Control needs the account id in
    the host name, which also makes it the one S3 API a custom endpoint
    (the rehearsal world) cannot answer.
    """
    found = []
    try:
        status = await s3.get_bucket_policy_status(Bucket=bucket)
        if (status.get("PolicyStatus") or {}).get("IsPublic"):
            found.append("the bucket policy is public")
    except Exception as exc:
        if error_code(exc) != "NoSuchBucketPolicy":
            raise
    acl = await s3.get_bucket_acl(Bucket=bucket)
    for grant in acl.get("Grants", ()):
        if (grant.get("Grantee") or {}).get("URI") in PUBLIC_GRANTEES:
            who = grant["Grantee"]["URI"].rsplit("/", 1)[-1]
            found.append(f"the ACL grants {grant.get('Permission')} to {who}")
    return found


async def check_buckets(aws: Any, env: Any) -> AsyncIterator[CheckResult]:
    buckets = list(env.validation.buckets)
    site = env.application.static_site if env.application else None
    if site and site.bucket not in buckets:
        buckets.append(site.bucket)
    if not buckets:
        return
    s3 = await aws.client("s3")

    async def one(bucket: str) -> CheckResult:
        name = f"bucket {bucket}"
        try:
            resp = await s3.get_public_access_block(Bucket=bucket)
        except Exception as exc:
            code = error_code(exc)
            if code == "NoSuchBucket":
                return CheckResult(CHECK, name, FAIL, f"bucket not found: {bucket}")
            if code != "NoSuchPublicAccessBlockConfiguration":
                return CheckResult(CHECK, name, COULD_NOT_CHECK, explain(exc, resource=bucket).line())
            try:
                exposure = await public_exposure(s3, bucket)
            except Exception as exc2:
                reason = explain(exc2, resource=bucket).line()
                return CheckResult(CHECK, name, FAIL, f"no public access block, and its policy/ACL could not be read: {reason}")
            evidence = {"bucket": bucket, "public_access_block": None, "exposure": exposure}
            if exposure:
                return CheckResult(CHECK, name, FAIL, f"no public access block and {'; '.join(exposure)}", evidence=evidence)
            return CheckResult(
                CHECK, name, WARN,
                "no public access block on the bucket (policy and ACL are not public; the account-level block is not checked)",
                evidence=evidence,
            )
        config = resp.get("PublicAccessBlockConfiguration") or {}
        off = [f for f in BLOCK_FLAGS if not config.get(f)]
        evidence = {"bucket": bucket, "public_access_block": {f: bool(config.get(f)) for f in BLOCK_FLAGS}}
        if off:
            return CheckResult(CHECK, name, FAIL, f"public access not fully blocked: {', '.join(off)} off", evidence=evidence)
        return CheckResult(CHECK, name, PASS, "public access blocked", evidence=evidence)

    for done in asyncio.as_completed([one(b) for b in buckets]):
        yield await done


# --------------------------------------------------------------------------
# Task definitions.


async def check_task_definitions(aws: Any, env: Any) -> AsyncIterator[CheckResult]:
    app = env.application
    if not app or not app.ecs:
        return
    ecs = await aws.client("ecs")
    try:
        resp = await ecs.describe_services(cluster=app.ecs.cluster, services=[s.name for s in app.ecs.services][:10])
    except Exception as exc:
        yield CheckResult(CHECK, "task definitions", COULD_NOT_CHECK, explain(exc).line())
        return
    for svc in resp.get("services", ()):
        arn = svc.get("taskDefinition")
        service = svc["serviceName"]
        name = f"{service} environment variables"
        try:
            td = (await ecs.describe_task_definition(taskDefinition=arn))["taskDefinition"]
        except Exception as exc:
            yield CheckResult(CHECK, name, COULD_NOT_CHECK, explain(exc, resource=arn).line())
            continue
        revision = f"{td.get('family')}:{td.get('revision')}"
        flagged = [
            f"{c.get('name')}: {e['name']}"
            for c in td.get("containerDefinitions", ())
            for e in c.get("environment", ())
            if looks_secret(e.get("name", ""), e.get("value"))
        ]
        # Names only: the values must never reach the screen or the journal.
        evidence = {"task_definition": revision, "flagged": flagged}
        if flagged:
            yield CheckResult(
                CHECK, name, FAIL,
                f"{len(flagged)} secret-looking plain environment variable(s) in {revision}: {', '.join(flagged)}",
                ("move them to the task definition's secrets (Secrets Manager / Parameter Store)",),
                evidence,
            )
        else:
            yield CheckResult(CHECK, name, PASS, f"no secret-looking plain environment variables in {revision}", evidence=evidence)


# --------------------------------------------------------------------------
# TLS.


async def check_tls(aws: Any, env: Any, clock: Any) -> AsyncIterator[CheckResult]:
    v = env.validation
    path = v.endpoints[0].path if v.endpoints else "/"
    url = endpoint_url(v.base_url, path)
    if not is_https(url):
        # Only https URLs are checked; plain HTTP is said plainly, wherever it points.
        yield CheckResult(CHECK, "TLS", WARN, f"{v.base_url} is plain HTTP, not TLS", evidence={"url": url})
        return
    async with new_session() as session:
        got = await fetch_once(session, url, clock, read_body=False)
    if got.tls_error:
        yield CheckResult(CHECK, "TLS", FAIL, got.error or "TLS failed", evidence={"url": url})
    elif got.error:
        yield CheckResult(CHECK, "TLS", COULD_NOT_CHECK, f"unreachable: {got.error}", evidence={"url": url})
    else:
        version = got.tls_version or "TLS"
        yield CheckResult(CHECK, "TLS", PASS, f"{url} served over {version} with a valid certificate", evidence={"url": url, "tls": version})


async def check_security(aws: Any, env: Any, clock: Any) -> AsyncIterator[CheckResult]:
    if env.validation is None:
        yield CheckResult(CHECK, "security", WARN, "no validation section in the environment file")
        return

    async def guarded(name: str, gen: AsyncIterator[CheckResult]) -> AsyncIterator[CheckResult]:
        try:
            async for r in gen:
                yield r
        except Exception as exc:
            yield CheckResult(CHECK, name, COULD_NOT_CHECK, explain(exc).line())

    async for r in merge(
        [
            guarded("security groups", check_security_groups(aws, env)),
            guarded("buckets", check_buckets(aws, env)),
            guarded("task definitions", check_task_definitions(aws, env)),
            guarded("TLS", check_tls(aws, env, clock)),
        ]
    ):
        yield r

