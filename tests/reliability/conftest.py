"""A small Type A world on the real moto server, and the CLI run in-process against it.

The environment file holds only what a test needs (sections left out are not
offered). ECS's own dynamics — a new deployment becoming PRIMARY and its
tasks running — are played by a thread (moto never does it), so the same
world settles for an in-process command, a subprocess, or ``RollbackRun``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
CLUSTER = "lightningtalk-prod"
ENV_NAME = "lightningtalk-prod"
SERVICES = {"api-service": "lightningtalk-prod-api", "websocket-service": "lightningtalk-prod-websocket"}

ECS_YAML = """\
name: {name}
region: ap-northeast-1
application:
  ecs:
    cluster: {cluster}
    services:
      - {{name: api-service, family: lightningtalk-prod-api}}
      - {{name: websocket-service, family: lightningtalk-prod-websocket}}
    stable_timeout_seconds: 20
    poll_seconds: 0.05
"""


def ecs_backend():
    from moto.backends import get_backend

    return get_backend("ecs")[ACCOUNT][REGION]


class EcsSettler:
    """Plays ECS: a service pointed at a new task definition settles on it (unless held)."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ecs-settler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            try:
                services = list(ecs_backend().services.values())
            except Exception:  # the backend is being reset between tests
                continue
            for svc in services:
                head = svc.deployments[0] if svc.deployments else None
                if svc.name in self.held or head is None:
                    continue
                if head.get("taskDefinition") != svc.task_definition or svc.running_count != svc.desired_count:
                    head["taskDefinition"] = svc.task_definition
                    svc.running_count, svc.pending_count = svc.desired_count, 0

    def __enter__(self) -> EcsSettler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def settler(moto):
    with EcsSettler() as s:
        yield s


def register(ecs, family: str, version: str, env_vars: dict[str, str] | None = None) -> str:
    resp = ecs.register_task_definition(
        family=family,
        containerDefinitions=[
            {
                "name": family.rsplit("-", 1)[-1],
                "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{family}:{version}",
                "memory": 512,
                "environment": [{"name": k, "value": v} for k, v in (env_vars or {}).items()],
            }
        ],
    )
    return resp["taskDefinition"]["taskDefinitionArn"]


@dataclass
class EcsWorld:
    boto: object
    env_file: Path
    arns: dict[str, list[str]] = field(default_factory=dict)

    def live(self) -> dict[str, str]:
        """service -> the task definition it points at."""
        resp = self.boto("ecs").describe_services(cluster=CLUSTER, services=list(SERVICES))
        return {s["serviceName"]: s["taskDefinition"] for s in resp["services"]}

    def previous(self) -> dict[str, str]:
        return {svc: arns[-2] for svc, arns in self.arns.items()}

    def newest(self) -> dict[str, str]:
        return {svc: arns[-1] for svc, arns in self.arns.items()}


def seed_ecs(boto, revisions: int = 3, env_vars: dict[str, str] | None = None) -> dict[str, list[str]]:
    ecs = boto("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    arns: dict[str, list[str]] = {}
    for svc, family in SERVICES.items():
        arns[svc] = [register(ecs, family, f"v1.{i}", env_vars) for i in range(1, revisions + 1)]
        ecs.create_service(cluster=CLUSTER, serviceName=svc, taskDefinition=arns[svc][-1], desiredCount=2, launchType="EC2")
    for name in SERVICES:
        svc = ecs_backend().services[f"{CLUSTER}:{name}"]
        svc.running_count, svc.pending_count = svc.desired_count, 0
    return arns


def write_env(path: Path, extra: str = "", **fmt: str) -> Path:
    values = {"name": ENV_NAME, "cluster": CLUSTER, **fmt}
    path.write_text(ECS_YAML.format(**values) + extra, encoding="utf-8")
    return path


@pytest.fixture
def ecs_world(boto, settler, tmp_path) -> EcsWorld:
    """Two ECS services, three revisions each, the newest live; an environment file for them."""
    return EcsWorld(boto, write_env(tmp_path / "env.yaml"), seed_ecs(boto))


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def cli(moto, monkeypatch, state_dir, capsys):
    """``rollback-cockpit ARGS… --state-dir S`` in this process, on the moto server (AWS_ENDPOINT_URL)."""
    from rollback_cockpit.tui import cli as cli_module

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    monkeypatch.setenv("TMUX", "test")  # not a terminal anyway; keeps warnings out of outputs

    def run(*argv: str, state: Path | None = None) -> CliResult:
        capsys.readouterr()
        code = cli_module.main([*map(str, argv), "--state-dir", str(state or state_dir)])
        got = capsys.readouterr()
        return CliResult(code, got.out, got.err)

    return run


def settings_via(url: str, attempts: int = 1, **kw):
    from rollback_cockpit.aws.session import AwsSettings

    return AwsSettings(region=REGION, endpoint_url=url, access_key_id="testing", secret_access_key="testing", max_attempts=attempts, **kw)
