"""Security quick scan against a real moto server (and a local TLS service)."""

from __future__ import annotations

import datetime
import ssl

import pytest
from aiohttp import web

from rollback_cockpit.checks.results import FAIL, PASS, WARN
from rollback_cockpit.checks.security import check_security, looks_secret
from rollback_cockpit.runbook import environment
from rollback_cockpit.runbook.clock import Clock

CLUSTER = "lightningtalk-prod"


def make_env(base_url: str = "http://127.0.0.1:9/", extra_sgs: str = "[]") -> environment.Environment:
    return environment.loads(
        f"""
name: t
region: ap-northeast-1
application:
  ecs:
    cluster: {CLUSTER}
    services:
      - name: api-service
      - name: websocket-service
  static_site:
    bucket: lightningtalk-static
    distribution_id: E1
validation:
  base_url: {base_url}
  endpoints: [{{path: /health}}]
  security_groups: {extra_sgs}
  buckets: [lightningtalk-backups]
"""
    )


def seed(boto, *, open_port: int | None = None, secret_env: bool = False, block_backups: bool = True) -> dict:
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="api", Description="api", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    ec2.authorize_security_group_ingress(
        GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]
    )
    if open_port is not None:
        ec2.authorize_security_group_ingress(
            GroupId=sg,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": open_port, "ToPort": open_port, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
        )
    ecs = boto("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    env_vars = [{"name": "NODE_ENV", "value": "production"}, {"name": "DB_SECRET_ARN", "value": "arn:aws:secretsmanager:x"}]
    if secret_env:
        env_vars += [{"name": "JWT_SECRET", "value": "hunter2-very-secret"}, {"name": "STRIPE_API_KEY", "value": "sk_live_abc"}]
    for name in ("api-service", "websocket-service"):
        td = ecs.register_task_definition(
            family=f"lt-{name}",
            networkMode="awsvpc",
            containerDefinitions=[{"name": "app", "image": "app:1", "memory": 512, "environment": env_vars}],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition=td,
            desiredCount=1,
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
        )
    s3 = boto("s3")
    full = {f: True for f in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
    for bucket in ("lightningtalk-static", "lightningtalk-backups"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_public_access_block(Bucket="lightningtalk-static", PublicAccessBlockConfiguration=full)
    if block_backups:
        s3.put_public_access_block(Bucket="lightningtalk-backups", PublicAccessBlockConfiguration=full)
    return {"sg": sg, "vpc": vpc}


async def run(aws, env):
    return {r.name: r async for r in check_security(aws, env, Clock())}


async def test_clean_setup_passes(aws, boto):
    ids = seed(boto)
    got = await run(aws, make_env())
    tls = got.pop("TLS")
    assert all(r.status == PASS for r in got.values()), {n: r.summary for n, r in got.items()}
    assert f"security group {ids['sg']} (api)" in got
    assert {"bucket lightningtalk-static", "bucket lightningtalk-backups"} <= set(got)
    assert "api-service environment variables" in got
    # The environment's base URL is plain http: said plainly (a warning), loopback or not.
    assert tls.status == WARN and tls.summary.endswith("is plain HTTP, not TLS")


async def test_ssh_open_to_the_world_fails(aws, boto):
    ids = seed(boto, open_port=22)
    got = await run(aws, make_env())
    r = got[f"security group {ids['sg']} (api)"]
    assert r.status == FAIL
    assert "tcp 22 open to ::/0" in r.summary
    assert "api-service" in r.summary


async def test_extra_group_from_the_environment_file_is_scanned(aws, boto):
    ids = seed(boto)
    ec2 = boto("ec2")
    bastion = ec2.create_security_group(GroupName="bastion", Description="b", VpcId=ids["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=bastion, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    got = await run(aws, make_env(extra_sgs=f"[{bastion}]"))
    r = got[f"security group {bastion} (bastion)"]
    assert r.status == FAIL and "all traffic open to 0.0.0.0/0" in r.summary


async def test_bucket_without_public_access_block_fails(aws, boto):
    seed(boto, block_backups=False)
    got = await run(aws, make_env())
    r = got["bucket lightningtalk-backups"]
    assert r.status == WARN
    assert "no public access block" in r.summary
    assert got["bucket lightningtalk-static"].status == PASS


async def test_public_bucket_without_block_fails(aws, boto):
    seed(boto, block_backups=False)
    boto("s3").put_bucket_acl(Bucket="lightningtalk-backups", ACL="public-read")
    got = await run(aws, make_env())
    r = got["bucket lightningtalk-backups"]
    assert r.status == FAIL
    assert "READ to AllUsers" in r.summary


async def test_partly_blocked_bucket_fails(aws, boto):
    seed(boto)
    boto("s3").put_public_access_block(
        Bucket="lightningtalk-backups",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True
        },
    )
    got = await run(aws, make_env())
    assert got["bucket lightningtalk-backups"].status == FAIL
    assert "BlockPublicPolicy off" in got["bucket lightningtalk-backups"].summary


async def test_secret_values_are_flagged_by_name_only(aws, boto):
    seed(boto, secret_env=True)
    got = await run(aws, make_env())
    r = got["api-service environment variables"]
    assert r.status == FAIL
    assert "app: JWT_SECRET" in r.summary and "app: STRIPE_API_KEY" in r.summary
    assert "DB_SECRET_ARN" not in r.summary  # a pointer, not a secret
    shown = repr(r)
    assert "hunter2" not in shown and "sk_live" not in shown


def test_secret_name_patterns():
    assert looks_secret("DB_PASSWORD", "x")
    assert looks_secret("GITHUB_TOKEN", "x")
    assert looks_secret("SIGNING_KEY", "x")
    assert not looks_secret("KEYBOARD_LAYOUT", "jp")
    assert not looks_secret("DB_PASSWORD", "")
    assert not looks_secret("NODE_ENV", "production")


@pytest.fixture
async def tls_service(tmp_path):
    """An https service with a self-signed certificate nobody trusts."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    app = web.Application()
    async def health(request):
        return web.json_response({"status": "ok"})

    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"https://localhost:{port}"
    await runner.cleanup()


async def test_https_with_an_untrusted_certificate_fails(aws, boto, tls_service):
    seed(boto)
    got = await run(aws, make_env(base_url=tls_service))
    assert got["TLS"].status == FAIL
    assert "certificate" in got["TLS"].summary
