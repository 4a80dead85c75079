"""Shared fixtures: a real moto server over HTTP, reset between tests."""

from __future__ import annotations

import socket
import urllib.request

import pytest

REGION = "ap-northeast-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    """One moto server on 127.0.0.1 for the whole session (started in 0.2 s)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto(moto_server, monkeypatch):
    """The server's URL, its state wiped, and dummy credentials in the environment."""
    req = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(req, timeout=10).read()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return moto_server


@pytest.fixture
def aws_settings(moto):
    from rollback_cockpit.aws.session import AwsSettings

    # One attempt: a 500 from moto should fail a test at once, not back off.
    return AwsSettings(
        region=REGION,
        endpoint_url=moto,
        access_key_id="testing",
        secret_access_key="testing",
        max_attempts=1,
    )


@pytest.fixture
async def aws(aws_settings):
    from rollback_cockpit.aws.session import Aws

    async with Aws(aws_settings) as client:
        yield client


@pytest.fixture
def boto(moto):
    """A factory of plain boto3 clients on the moto server, for seeding and asserting."""
    import boto3
    from botocore.config import Config

    cache = {}

    def make(service: str):
        if service not in cache:
            cache[service] = boto3.client(
                service,
                region_name=REGION,
                endpoint_url=moto,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"total_max_attempts": 1}),
            )
        return cache[service]

    return make


@pytest.fixture
def state_dir(tmp_path):
    d = tmp_path / "state"
    d.mkdir()
    return d


@pytest.fixture
def enforce_auth(moto_server):
    """Make the moto server check credentials and IAM policies, as AWS does.

    Yields a function that creates an IAM user allowed only ``actions`` and
    returns its (access key, secret key). Auth is switched off again after.
    """
    import json

    import boto3

    iam = boto3.client(
        "iam", region_name=REGION, endpoint_url=moto_server, aws_access_key_id="testing", aws_secret_access_key="testing"
    )

    def user_allowed(*actions: str) -> tuple[str, str]:
        name = f"user{len(created)}"
        iam.create_user(UserName=name)
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        created.append(name)
        return key["AccessKeyId"], key["SecretAccessKey"]

    def set_auth(count: str) -> None:
        # The server runs in this process (ThreadedMotoServer), so its auth
        # switch is moto's own setting; /moto-api/reset-auth does the same
        # over HTTP but answers 500 in moto 5.2.5 server mode.
        from moto import settings
        from moto.core.responses import ActionAuthenticatorMixin

        settings.INITIAL_NO_AUTH_ACTION_COUNT = float(count)
        ActionAuthenticatorMixin.request_count = 0

    created: list[str] = []
    # Users must exist before enforcement starts; callers create them first,
    # then call the returned enable().
    state = {"on": False}

    def enable() -> None:
        set_auth("0")
        state["on"] = True

    user_allowed.enable = enable  # type: ignore[attr-defined]
    yield user_allowed
    if state["on"]:
        set_auth("inf")


@pytest.fixture
def fault_proxy(moto):
    """A proxy in front of the moto server that injects AWS faults on the wire."""
    from tests.faults import FaultProxy

    with FaultProxy(moto) as proxy:
        yield proxy
