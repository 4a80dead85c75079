"""Seeding the local AWS from an environment file: every named resource exists, with history.

Most of the world is made with ordinary boto3 calls over HTTP (so the seeded
state is what any client could have made); only the bulk DynamoDB items and
the ECS task counts go straight into moto's in-process backends (10k items:
0.3 s direct against 3.3 s over HTTP, measured).

The history is the same in every scenario, so any rollback kind has
somewhere good to go back to:

- releases: v2.1.0, v2.2.0, v2.3.1, v2.3.2 (good) and v2.4.0 (bad, live);
- ECS task definitions per family: revisions 1..5, revision 4 DEREGISTERED
  (so "N-1" is wrong), revision 5 live and bad (other image tag, other
  environment variable names, one secret-looking plaintext value that no good
  revision has); the right target is revision 3;
- Lambda: versions 1..3, alias on 3 (bad);
- secret: three versions, AWSCURRENT bad, AWSPREVIOUS good;
- parameters with history (config, feature flags, active-environment blue ->
  green, stable-version, schema-version 4 -> 5);
- CloudFormation: the stack was created from the previous template, then
  updated to the current (bad) one; the previous template is kept in S3 at
  ``s3://<backups bucket>/cloudformation/<stack>/previous.template.json`` and
  named by the stack tag ``rollback-cockpit:previous-template``;
- static site: ``releases/<id>/`` per release, the RELEASE marker naming the
  live (bad) one, the live files at the live prefix, the maintenance page;
- backups under the verified location: ``<id>/manifest.json`` + per-table
  JSON lines; the verified ones carry a ``VERIFIED`` object, the newest does
  not (so "the latest backup" is the wrong answer).
"""

from __future__ import annotations

import io
import json
import random
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ACCOUNT = "123456789012"

# Oldest first. The last one is live and bad.
RELEASES = ["v2.1.0", "v2.2.0", "v2.3.1", "v2.3.2", "v2.4.0"]
GOOD_RELEASE = "v2.3.1"
BAD_RELEASE = "v2.4.0"
DEREGISTERED_REVISION = 4
SCHEMA_GOOD, SCHEMA_BAD = "4", "5"
FAKE_SECRET_VALUE = "FAKE-rehearsal-token-0000-not-a-real-secret"
DESIRED = {"api-service": 3, "websocket-service": 2}


@dataclass
class Seeded:
    """What the seeding made that the environment file could not know (ids) or the world needs."""

    distribution_id: str | None = None
    hosted_zone_id: str | None = None
    load_balancer: str | None = None  # CloudWatch dimension value app/<name>/<id>
    target_group: str | None = None  # targetgroup/<name>/<id>
    target_group_arns: dict[str, str] = field(default_factory=dict)
    sns_topic_arn: str | None = None
    colours: dict[str, dict[str, str]] = field(default_factory=dict)  # colour -> alb dns/zone
    bad_colour: str = "green"
    bad_image_tags: set[str] = field(default_factory=lambda: {BAD_RELEASE})
    bad_lambda_versions: dict[str, set[str]] = field(default_factory=dict)
    bad_secret_versions: dict[str, set[str]] = field(default_factory=dict)
    bad_parameter_values: dict[str, str] = field(default_factory=dict)
    bad_release_id: str = ""
    bad_stack_marker: str = BAD_RELEASE
    items: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def seed(env: Any, clients: Any, *, items_per_table: dict[str, int] | None = None) -> Seeded:
    """Create everything ``env`` names. ``clients(service)`` returns a boto3 client on the world."""
    started = time.monotonic()
    out = Seeded()
    rng = random.Random(20240601)
    net = _network(clients, env)
    _load_balancers(clients, env, net, out)
    _buckets(clients, env, out)
    if env.application and env.application.ecs:
        _ecs(clients, env, net, out)
    if env.validation and env.validation.log_group:
        _logs(clients, env)
    if env.application and env.application.lambda_:
        _lambda(clients, env, out)
    if env.configuration:
        _configuration(clients, env, out)
    _parameters(clients, env, out)
    if env.traffic:
        _route53(clients, env, out)
    if env.application and env.application.static_site:
        _static_site(clients, env, out)
    if env.infrastructure:
        _stacks(clients, env, out)
    if env.database:
        _tables(clients, env, out, rng, items_per_table or {})
    if env.emergency:
        _backups(clients, env, out)
    if env.notifications and env.notifications.sns_topic_arn:
        name = env.notifications.sns_topic_arn.rsplit(":", 1)[-1]
        out.sns_topic_arn = clients("sns").create_topic(Name=name)["TopicArn"]
    out.seconds = time.monotonic() - started
    return out


# ---------------------------------------------------------------------------


def split_s3(url: str) -> tuple[str, str]:
    rest = url.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    return bucket, key


def _network(clients: Any, env: Any) -> dict[str, Any]:
    ec2 = clients("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    vpc_id = vpcs[0]["VpcId"] if vpcs else ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]]
    sg = ec2.create_security_group(GroupName=f"{env.name}-ecs", Description="ECS tasks", VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3000, "ToPort": 3000,
                                    "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]
    )
    return {"vpc": vpc_id, "subnets": subnets[:2], "sg": sg}


def _dim_name(value: str | None, kind: str) -> str | None:
    # "app/<name>/<id>" or "targetgroup/<name>/<id>" -> <name>
    if not value:
        return None
    parts = value.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == kind else None


def _load_balancers(clients: Any, env: Any, net: dict[str, Any], out: Seeded) -> None:
    elb = clients("elbv2")
    lb_name = _dim_name(env.metrics.load_balancer if env.metrics else None, "app") or f"{env.name}-alb"
    lb = elb.create_load_balancer(Name=lb_name, Subnets=net["subnets"], SecurityGroups=[net["sg"]])["LoadBalancers"][0]
    out.load_balancer = lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    tg_names: list[str] = []
    main_tg = _dim_name(env.metrics.target_group if env.metrics else None, "targetgroup")
    for name in ([main_tg] if main_tg else []) + (list(env.emergency.target_groups) if env.emergency else []):
        if name.startswith("arn:"):
            name = name.split("/")[1]
        if name not in tg_names:
            tg_names.append(name)
    for name in tg_names:
        tg = elb.create_target_group(
            Name=name, Protocol="HTTP", Port=3000, VpcId=net["vpc"], TargetType="ip",
            HealthCheckPath="/health",
        )["TargetGroups"][0]
        out.target_group_arns[name] = tg["TargetGroupArn"]
        elb.register_targets(
            TargetGroupArn=tg["TargetGroupArn"],
            Targets=[{"Id": f"10.0.1.{10 + i}", "Port": 3000} for i in range(DESIRED["api-service"])],
        )
    if tg_names:
        first = out.target_group_arns[tg_names[0]]
        out.target_group = first.split(":", 5)[5]
        elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": first}],
        )
    if env.traffic:
        for colour in env.traffic.colours:
            c = elb.create_load_balancer(
                Name=f"{env.name}-{colour}"[:32], Subnets=net["subnets"], SecurityGroups=[net["sg"]]
            )["LoadBalancers"][0]
            out.colours[colour] = {"alb_dns_name": c["DNSName"], "alb_zone_id": c["CanonicalHostedZoneId"]}


def _bucket(clients: Any, env: Any, name: str) -> None:
    s3 = clients("s3")
    try:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": env.region})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass


def _buckets(clients: Any, env: Any, out: Seeded) -> None:
    names: list[str] = []
    if env.validation:
        names += env.validation.buckets
    if env.application and env.application.static_site:
        names.append(env.application.static_site.bucket)
    if env.emergency:
        for url in (env.emergency.maintenance_page, env.emergency.live_index, env.emergency.backups):
            names.append(split_s3(url)[0])
    if env.database and env.database.migrations and env.database.migrations.location.startswith("s3://"):
        names.append(split_s3(env.database.migrations.location)[0])
    for name in dict.fromkeys(names):
        _bucket(clients, env, name)


def family_of(env: Any, service: Any) -> str:
    return service.family or f"{env.name}-{service.name.removesuffix('-service')}"


def _container(env: Any, service: Any, release: str, revision: int, secret_arn: str | None) -> dict[str, Any]:
    bad = release == BAD_RELEASE
    environment = [
        {"name": "APP_VERSION", "value": release},
        {"name": "NODE_ENV", "value": "production"},
    ]
    if bad:
        # v2.4.0 renamed variables and shipped a debug token in plain text.
        environment += [
            {"name": "DB_TABLE_PREFIX", "value": env.name},
            {"name": "DEBUG_API_TOKEN", "value": FAKE_SECRET_VALUE},
        ]
    else:
        environment += [{"name": "DYNAMODB_TABLE_PREFIX", "value": env.name}]
    container: dict[str, Any] = {
        "name": service.name.removesuffix("-service"),
        "image": f"{ACCOUNT}.dkr.ecr.{env.region}.amazonaws.com/lightningtalk/{service.name}:{release}",
        "essential": True,
        "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
        "environment": environment,
        "memory": 1024 if bad else 512,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": env.validation.log_group if env.validation and env.validation.log_group
                        else f"/aws/ecs/{env.name}", "awslogs-region": env.region,
                        "awslogs-stream-prefix": service.name},
        },
    }
    if secret_arn:
        container["secrets"] = [{"name": "APP_ENV", "valueFrom": secret_arn}]
    return container


def _ecs(clients: Any, env: Any, net: dict[str, Any], out: Seeded) -> None:
    from moto.backends import get_backend

    ecs = clients("ecs")
    cfg = env.application.ecs
    ecs.create_cluster(clusterName=cfg.cluster)
    secret_arn = None
    if env.configuration and env.configuration.secrets:
        secret_arn = f"arn:aws:secretsmanager:{env.region}:{ACCOUNT}:secret:{env.configuration.secrets[0].id}"
    main_tg = next(iter(out.target_group_arns.values()), None)
    backend = get_backend("ecs")[ACCOUNT][env.region]
    for i, service in enumerate(cfg.services):
        family = family_of(env, service)
        arns = []
        for revision, release in enumerate(RELEASES, start=1):
            td = ecs.register_task_definition(
                family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                cpu="512", memory="1024", executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
                containerDefinitions=[_container(env, service, release, revision, secret_arn)],
                tags=[{"key": "release", "value": release}],
            )["taskDefinition"]
            arns.append(td["taskDefinitionArn"])
        ecs.deregister_task_definition(taskDefinition=arns[DEREGISTERED_REVISION - 1])
        desired = DESIRED.get(service.name, 2)
        kwargs: dict[str, Any] = {}
        if i == 0 and main_tg:
            kwargs["loadBalancers"] = [{"targetGroupArn": main_tg, "containerName": service.name.removesuffix("-service"),
                                        "containerPort": 3000}]
        ecs.create_service(
            cluster=cfg.cluster, serviceName=service.name, taskDefinition=arns[-1], desiredCount=desired,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": net["subnets"], "securityGroups": [net["sg"]],
                                                          "assignPublicIp": "DISABLED"}},
            **kwargs,
        )
        svc = backend.services[f"{cfg.cluster}:{service.name}"]
        # moto starts services with no running tasks; this one has been up since the release.
        svc.running_count, svc.pending_count = desired, 0
        dep = dict(svc.deployments[0])
        dep.update(runningCount=desired, pendingCount=0, rolloutState="COMPLETED",
                   rolloutStateReason=f"ECS deployment {dep['id']} completed.")
        svc.deployments = [dep]


def _logs(clients: Any, env: Any) -> None:
    logs = clients("logs")
    logs.create_log_group(logGroupName=env.validation.log_group)
    for stream in log_streams(env):
        logs.create_log_stream(logGroupName=env.validation.log_group, logStreamName=stream)


def log_streams(env: Any) -> list[str]:
    if env.application and env.application.ecs:
        return [f"{s.name}/app/0001" for s in env.application.ecs.services]
    return ["app/0001"]


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", source)
    return buf.getvalue()


def _lambda(clients: Any, env: Any, out: Seeded) -> None:
    iam, lam = clients("iam"), clients("lambda")
    role = iam.create_role(
        RoleName=f"{env.name}-lambda",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    for fn in env.application.lambda_.functions:
        versions = []
        for n, release in enumerate(RELEASES[-3:]):
            code = _zip(f"VERSION = {release!r}\n\ndef handler(event, context):\n    return {{'version': VERSION}}\n")
            if n == 0:
                lam.create_function(FunctionName=fn.name, Runtime="python3.12", Role=role, Handler="handler.handler",
                                    Code={"ZipFile": code}, Description=release,
                                    Environment={"Variables": {"APP_VERSION": release}})
            else:
                lam.update_function_code(FunctionName=fn.name, ZipFile=code)
                lam.update_function_configuration(FunctionName=fn.name, Description=release,
                                                  Environment={"Variables": {"APP_VERSION": release}})
            versions.append(lam.publish_version(FunctionName=fn.name, Description=release)["Version"])
        lam.create_alias(FunctionName=fn.name, Name=fn.alias, FunctionVersion=versions[-1], Description=BAD_RELEASE)
        out.bad_lambda_versions[fn.name] = {versions[-1]}


def _configuration(clients: Any, env: Any, out: Seeded) -> None:
    sm = clients("secretsmanager")
    for secret in env.configuration.secrets:
        # The values are JSON config as the app reads it; nothing secret-looking in them.
        values = [{"APP_VERSION": r, "DB_POOL_SIZE": "20", "FEATURE_SET": "stable"} for r in RELEASES[-3:-1]]
        values.append({"APP_VERSION": BAD_RELEASE, "DB_POOL_SIZE": "2", "FEATURE_SET": "experimental"})
        sm.create_secret(Name=secret.id, SecretString=json.dumps(values[0]), Description="application environment")
        last = None
        for value in values[1:]:
            last = sm.put_secret_value(SecretId=secret.id, SecretString=json.dumps(value))["VersionId"]
        out.bad_secret_versions[secret.id] = {last}


def _put_history(ssm: Any, name: str, values: list[str], description: str) -> None:
    for i, value in enumerate(values):
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=i > 0, Description=description)


def _parameters(clients: Any, env: Any, out: Seeded) -> None:
    ssm = clients("ssm")
    done: set[str] = set()

    def history(name: str | None, values: list[str], description: str) -> None:
        if name and name not in done:
            _put_history(ssm, name, values, description)
            done.add(name)
            out.bad_parameter_values[name] = values[-1]

    if env.configuration:
        for name in env.configuration.parameters:
            history(name, [json.dumps({"release": r, "cacheSeconds": 60, "maxUpload": "10MB"}) for r in RELEASES[-3:-1]]
                    + [json.dumps({"release": BAD_RELEASE, "cacheSeconds": 0, "maxUpload": "1KB"})], "app config")
        history(env.configuration.feature_flags_parameter,
                [json.dumps({"newVoting": False, "liveChat": True}),
                 json.dumps({"newVoting": True, "liveChat": True})], "feature flags")
    if env.traffic:
        history(env.traffic.active_parameter, ["blue", "green"], "colour taking traffic")
    if env.emergency:
        # Not a bad value: the stable version is the known-good release.
        _put_history(ssm, env.emergency.stable_version_parameter, ["v2.2.0", GOOD_RELEASE], "last known-good release")
        done.add(env.emergency.stable_version_parameter)
    if env.database and env.database.migrations and env.database.migrations.version_parameter:
        history(env.database.migrations.version_parameter, ["3", SCHEMA_GOOD, SCHEMA_BAD], "schema version")


def _route53(clients: Any, env: Any, out: Seeded) -> None:
    r53 = clients("route53")
    t = env.traffic
    zone = r53.create_hosted_zone(Name=t.record_name, CallerReference=f"{env.name}-{time.time()}")
    out.hosted_zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    active = "green"
    changes = []
    for colour, c in t.colours.items():
        real = out.colours.get(colour, {"alb_dns_name": c.alb_dns_name, "alb_zone_id": c.alb_zone_id})
        changes.append({"Action": "UPSERT", "ResourceRecordSet": {
            "Name": t.record_name, "Type": t.record_type, "SetIdentifier": colour,
            "Weight": 100 if colour == active else 0,
            "AliasTarget": {"HostedZoneId": real["alb_zone_id"], "DNSName": real["alb_dns_name"],
                            "EvaluateTargetHealth": True},
        }})
    r53.change_resource_record_sets(HostedZoneId=out.hosted_zone_id, ChangeBatch={"Changes": changes})
    out.bad_colour = active


def _release_id(release: str, n: int) -> str:
    day = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(days=7 * n)
    return f"{day:%Y%m%d}-{release}"


def _site_files(release: str) -> dict[str, tuple[bytes, str]]:
    return {
        "index.html": (f"<!doctype html><title>Lightning Talk Circle</title><body data-release='{release}'>"
                       f"<div id=app></div><script src=/app.js></script>".encode(), "text/html"),
        "app.js": (f"window.APP_VERSION = {release!r};\n".encode(), "application/javascript"),
        "style.css": (b"body { font-family: sans-serif; }\n", "text/css"),
    }


def _static_site(clients: Any, env: Any, out: Seeded) -> None:
    s3, cf = clients("s3"), clients("cloudfront")
    site = env.application.static_site
    ids = []
    for n, release in enumerate(RELEASES[-3:]):
        rid = _release_id(release, n)
        ids.append(rid)
        for name, (body, ctype) in _site_files(release).items():
            s3.put_object(Bucket=site.bucket, Key=f"{site.releases_prefix}{rid}/{name}", Body=body, ContentType=ctype)
    live = ids[-1]
    for name, (body, ctype) in _site_files(BAD_RELEASE).items():
        s3.put_object(Bucket=site.bucket, Key=f"{site.live_prefix}{name}", Body=body, ContentType=ctype,
                      CacheControl="max-age=300")
    s3.put_object(Bucket=site.bucket, Key=site.current_release_key, Body=live.encode(), ContentType="text/plain")
    out.bad_release_id = live
    if env.emergency:
        bucket, key = split_s3(env.emergency.maintenance_page)
        s3.put_object(Bucket=bucket, Key=key, ContentType="text/html",
                      Body=b"<!doctype html><title>Maintenance</title><h1>We'll be right back</h1>")
    dist = cf.create_distribution(DistributionConfig={
        "CallerReference": f"{env.name}-{time.time()}",
        "Comment": f"{env.name} static site",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "static", "DomainName": f"{site.bucket}.s3.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "static", "ViewerProtocolPolicy": "redirect-to-https",
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0}, "MinTTL": 0,
        },
    })
    out.distribution_id = dist["Distribution"]["Id"]


def stack_template(release: str) -> str:
    bad = release == BAD_RELEASE
    return json.dumps({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"lightningtalk-prod infrastructure ({release})",
        "Resources": {
            "JobsQueue": {"Type": "AWS::SQS::Queue",
                          "Properties": {"VisibilityTimeout": 5 if bad else 30,
                                         "MessageRetentionPeriod": 3600 if bad else 345600}},
        },
        "Outputs": {"Release": {"Value": release}},
    }, indent=2)


def previous_template_url(env: Any, stack: str) -> tuple[str, str]:
    bucket = split_s3(env.emergency.backups)[0] if env.emergency else f"{env.name}-cfn"
    return bucket, f"cloudformation/{stack}/previous.template.json"


def _stacks(clients: Any, env: Any, out: Seeded) -> None:
    cfn, s3 = clients("cloudformation"), clients("s3")
    for stack in env.infrastructure.stacks:
        bucket, key = previous_template_url(env, stack.name)
        _bucket(clients, env, bucket)
        previous = stack_template(GOOD_RELEASE)
        s3.put_object(Bucket=bucket, Key=key, Body=previous.encode(), ContentType="application/json")
        tags = [{"Key": "rollback-cockpit:previous-template", "Value": f"s3://{bucket}/{key}"}]
        cfn.create_stack(StackName=stack.name, TemplateBody=previous, Tags=tags)
        cfn.update_stack(StackName=stack.name, TemplateBody=stack_template(BAD_RELEASE), Tags=tags)


def gsi_attribute(gsi: str, rule_names: list[str]) -> str:
    base = gsi.removesuffix("-index").removesuffix("_index")
    for name in rule_names:
        if name.lower() in (base.lower(), f"{base.lower()}id"):
            return name
    return base


def _fake_value(attr: str, type_: str | None, i: int, rng: random.Random, parents: int) -> dict[str, Any]:
    if type_ == "N":
        return {"N": str(rng.randint(0, 1000))}
    if type_ == "BOOL":
        return {"BOOL": bool(i % 2)}
    if type_ == "L":
        return {"L": [{"S": "tag"}]}
    if type_ == "M":
        return {"M": {"k": {"S": "v"}}}
    low = attr.lower()
    if low == "status":
        return {"S": rng.choice(["upcoming", "open", "closed", "archived"])}
    if low == "date":
        day = datetime(2023, 1, 1) + timedelta(days=i % 900)
        return {"S": f"{day:%Y-%m-%d}"}
    if low == "eventid":
        return {"S": f"evt-{rng.randrange(parents):06d}"}
    if low == "title":
        return {"S": f"Lightning talk night #{i}"}
    if low == "name":
        return {"S": f"participant-{i:06d}"}
    return {"S": f"{attr}-{i}"}


def default_items(table_name: str) -> int:
    # Tens of thousands in all, as the runbook's integrity checks expect; more only slows seeding
    # (moto computes each item's size on insert: ~0.07 ms an item).
    return 18000 if "participant" in table_name else 2000


def _tables(clients: Any, env: Any, out: Seeded, rng: random.Random, counts: dict[str, int]) -> None:
    from moto.backends import get_backend

    ddb = clients("dynamodb")
    backend = get_backend("dynamodb")[ACCOUNT][env.region]
    parents = counts.get("events", 2000)
    for table in env.database.tables:
        names = [r.attribute for r in table.rules]
        types = {r.attribute: (r.type or "S") for r in table.rules}
        key_attr = "id"
        attrs = {key_attr: "S"}
        gsis = []
        for gsi in table.gsis:
            a = gsi_attribute(gsi, names)
            attrs[a] = types.get(a, "S") if types.get(a, "S") in ("S", "N", "B") else "S"
            gsis.append({"IndexName": gsi, "KeySchema": [{"AttributeName": a, "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "ALL"}})
        kwargs: dict[str, Any] = {"GlobalSecondaryIndexes": gsis} if gsis else {}
        ddb.create_table(
            TableName=table.name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key_attr, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": v} for k, v in attrs.items()],
            **kwargs,
        )
        n = table.expected_items or counts.get(table.name) or default_items(table.name)
        prefix = "evt" if "event" in table.name and "participant" not in table.name else table.name.rsplit("-", 1)[-1][:3]
        for i in range(n):
            item = {r.attribute: _fake_value(r.attribute, r.type, i, rng, parents) for r in table.rules}
            item[key_attr] = {"S": f"{prefix}-{i:06d}"}
            for a in attrs:
                item.setdefault(a, _fake_value(a, attrs[a], i, rng, parents))
            backend.put_item(table.name, item)
        out.items[table.name] = n
    if env.database.migrations and env.database.migrations.location.startswith("s3://"):
        bucket, prefix = split_s3(env.database.migrations.location)
        s3 = clients("s3")
        for version, body in _migrations(env).items():
            s3.put_object(Bucket=bucket, Key=f"{prefix}{version}.json", Body=json.dumps(body, indent=2).encode(),
                          ContentType="application/json")


def _migrations(env: Any) -> dict[str, Any]:
    first = env.database.tables[0].name
    return {
        "0004_add_date_index": {
            "version": SCHEMA_GOOD, "table": first,
            "up": [{"op": "create_gsi", "index": "date-index", "attribute": "date"}],
            "down": [{"op": "delete_gsi", "index": "date-index"}],
        },
        "0005_add_speaker_index": {
            "version": SCHEMA_BAD, "table": first,
            "up": [{"op": "create_gsi", "index": "speaker-index", "attribute": "speakerId"}],
            "down": [{"op": "delete_gsi", "index": "speaker-index"}],
        },
    }


def _backups(clients: Any, env: Any, out: Seeded) -> None:
    s3 = clients("s3")
    bucket, prefix = split_s3(env.emergency.backups)
    tables = [t.name for t in env.database.tables] if env.database else []
    base = datetime(2024, 6, 1, 18, 0, tzinfo=UTC)
    for n, verified in enumerate([True, True, False]):
        bid = f"{base + timedelta(days=n):%Y%m%dT%H%M%SZ}-nightly"
        # The manifest format of checks/backups.py (docs/validation.md).
        manifest = {"backup_id": bid, "tables": {t: {"items": out.items.get(t, 0)} for t in tables},
                    "created_at": f"{base + timedelta(days=n):%Y-%m-%dT%H:%M:%SZ}", "release": RELEASES[2 + n]}
        s3.put_object(Bucket=bucket, Key=f"{prefix}{bid}/manifest.json", Body=json.dumps(manifest).encode(),
                      ContentType="application/json")
        for t in tables:
            s3.put_object(Bucket=bucket, Key=f"{prefix}{bid}/{t}.jsonl",
                          Body=b'{"id": {"S": "sample-000000"}}\n', ContentType="application/x-ndjson")
        if verified:
            s3.put_object(Bucket=bucket, Key=f"{prefix}{bid}/VERIFIED",
                          Body=f"verified {manifest['created_at']} by restore drill".encode(), ContentType="text/plain")
