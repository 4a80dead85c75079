"""Bad environment files, missing resources, nothing to go back to, an endpoint that is not there.

Each through the command line, as the operator meets it: one readable line,
the documented exit code, and nothing changed in AWS (no journal either:
nothing ran).
"""

from __future__ import annotations

import pytest

from tests.conftest import free_port
from tests.reliability.conftest import CLUSTER, SERVICES, register, write_env

GOOD_HEAD = "name: lightningtalk-prod\nregion: ap-northeast-1\n"

BROKEN_FILES = [
    # (id, text, the line the operator must see)
    ("malformed", GOOD_HEAD + "application:\n  ecs:\n    cluster: a\n   services: []\n", "{path}:6: not valid YAML"),
    ("empty", "", "{path}:1: the file is empty"),
    (
        "unknown-key",
        GOOD_HEAD + "application:\n  ecs:\n    cluster: c\n    services: []\n    stable_timout_seconds: 60\n",
        "{path}:7: application.ecs.stable_timout_seconds: unknown key; did you mean 'stable_timeout_seconds'?",
    ),
]
COMMANDS = [
    ("run", "app", "--dry-run"),
    ("readiness",),
    ("validate",),
    ("lock", "show"),
]


@pytest.mark.parametrize("case", BROKEN_FILES, ids=[c[0] for c in BROKEN_FILES])
@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_broken_environment_file_is_one_line_naming_file_line_key(cli, tmp_path, state_dir, case, command):
    _, text, expected = case
    path = tmp_path / "env.yaml"
    path.write_text(text, encoding="utf-8")
    got = cli(*command, "--env", path)
    assert got.code == 2, got.text
    lines = [line for line in got.err.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error: " + expected.format(path=path)), got.err
    assert "Traceback" not in got.text
    assert got.out == ""
    assert not (state_dir / "runs").exists()


def test_a_missing_environment_file_is_one_line(cli, tmp_path):
    got = cli("run", "app", "--dry-run", "--env", tmp_path / "nope.yaml")
    assert got.code == 2
    assert got.err.startswith(f"error: {tmp_path / 'nope.yaml'}") and "file not found" in got.err, got.err


# -- resources that do not exist ---------------------------------------------


def test_nonexistent_cluster_is_refused_in_one_line(cli, boto, tmp_path, state_dir):
    env = write_env(tmp_path / "env.yaml", cluster="no-such-cluster")
    got = cli("run", "app", "--env", env, "--confirm", "lightningtalk-prod")
    assert got.code == 3, got.text
    assert "REFUSED: not found: no-such-cluster (DescribeServices: Cluster not found.)" in got.out
    assert "nothing was changed" in got.out
    assert not (state_dir / "runs").exists()
    assert boto("ssm").describe_parameters()["Parameters"] == []  # no lock was taken


def test_nonexistent_service_is_refused_and_the_other_is_left_alone(cli, boto, settler, tmp_path, state_dir):
    ecs = boto("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    arns = [register(ecs, SERVICES["api-service"], f"v{i}") for i in (1, 2)]
    ecs.create_service(cluster=CLUSTER, serviceName="api-service", taskDefinition=arns[-1], desiredCount=1)
    env = write_env(tmp_path / "env.yaml")
    got = cli("run", "app", "--env", env, "--confirm", "lightningtalk-prod")
    assert got.code == 3, got.text
    assert f"REFUSED: ECS service websocket-service not found in cluster {CLUSTER} (MISSING)" in got.out
    live = ecs.describe_services(cluster=CLUSTER, services=["api-service"])["services"][0]["taskDefinition"]
    assert live == arns[-1]
    assert not (state_dir / "runs").exists()


LAMBDA_ENV = """\
  lambda:
    functions:
      - {name: no-such-function, alias: prod}
"""

CONFIG_DB_ENV = """\
configuration:
  secrets:
    - id: no-such-secret
database:
  tables:
    - name: no-such-table
      rules:
        - {attribute: id, type: S}
"""


def test_nonexistent_function_refuses_the_plan(cli, ecs_world, tmp_path, state_dir):
    env = tmp_path / "lambda.yaml"
    env.write_text(ecs_world.env_file.read_text() + LAMBDA_ENV, encoding="utf-8")
    got = cli("run", "app", "--env", env, "--confirm", "lightningtalk-prod")
    assert got.code == 3, got.text
    refused = [line for line in got.out.splitlines() if line.startswith("REFUSED:")]
    assert len(refused) == 1 and "no-such-function" in refused[0], got.out
    assert ecs_world.live() == ecs_world.newest()  # the ECS part is not run either: a plan runs whole or not at all
    assert not (state_dir / "runs").exists()


def test_nonexistent_secret_and_table_make_readiness_fail_naming_them(cli, ecs_world, tmp_path):
    env = tmp_path / "more.yaml"
    env.write_text(ecs_world.env_file.read_text() + CONFIG_DB_ENV, encoding="utf-8")
    got = cli("readiness", "--env", env)
    assert got.code == 1, got.text
    missing = [line.strip() for line in got.out.splitlines() if "missing:" in line]
    assert any("no-such-secret" in line for line in missing), got.out
    assert any("no-such-table" in line for line in missing), got.out
    assert "lightningtalk-prod: NOT READY for a rollback" in got.err
    assert "Traceback" not in got.text


def test_nonexistent_table_makes_validation_fail_in_one_line(cli, ecs_world, tmp_path):
    env = tmp_path / "more.yaml"
    env.write_text(ecs_world.env_file.read_text() + CONFIG_DB_ENV + "validation:\n  base_url: http://127.0.0.1:9\n", encoding="utf-8")
    got = cli("validate", "--env", env, "--only", "integrity")
    assert got.code == 1, got.text
    result_lines = [line for line in got.out.splitlines() if "integrity" in line and "no-such-table" in line]
    assert result_lines, got.out
    assert "validation NOT PASSED" in got.err
    assert "Traceback" not in got.text


# -- nothing to go back to ----------------------------------------------------


def test_a_single_revision_is_refused_never_guessed(cli, boto, settler, tmp_path, state_dir):
    ecs = boto("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    live = {}
    for svc, family in SERVICES.items():
        live[svc] = register(ecs, family, "v1")
        ecs.create_service(cluster=CLUSTER, serviceName=svc, taskDefinition=live[svc], desiredCount=1)
    env = write_env(tmp_path / "env.yaml")
    got = cli("run", "app", "--env", env, "--confirm", "lightningtalk-prod")
    assert got.code == 3, got.text
    assert (
        "REFUSED: api-service: no ACTIVE revision of lightningtalk-prod-api older than the live revision 1 "
        "(older ones are deregistered or never existed)" in got.out
    )
    now = {s["serviceName"]: s["taskDefinition"] for s in ecs.describe_services(cluster=CLUSTER, services=list(SERVICES))["services"]}
    assert now == live
    assert not (state_dir / "runs").exists()


# -- an endpoint that is not there --------------------------------------------


@pytest.fixture
def two_attempts(monkeypatch):
    """Two tries instead of six: the same line, without the ~20 s of backoff the defaults take."""
    import dataclasses

    from rollback_cockpit.aws import session

    resolve = session.AwsSettings.resolve.__func__

    def fewer(cls, *args, **kw):
        return dataclasses.replace(resolve(cls, *args, **kw), max_attempts=2, connect_timeout=1)

    monkeypatch.setattr(session.AwsSettings, "resolve", classmethod(fewer))


def closed_endpoint(monkeypatch) -> str:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    return url


@pytest.mark.parametrize("command", [("readiness",), ("lock", "show"), ("run", "app", "--dry-run")], ids=" ".join)
def test_unreachable_endpoint_is_one_line(cli, monkeypatch, two_attempts, tmp_path, state_dir, command):
    closed = closed_endpoint(monkeypatch)
    got = cli(*command, "--env", write_env(tmp_path / "env.yaml"))
    said = [line for line in got.text.splitlines() if f"cannot reach {closed}" in line]
    assert said, got.text
    assert all("— check the network, the region and AWS_ENDPOINT_URL" in line for line in said), said
    if command == ("readiness",):  # one line per check it stopped, and the verdict
        assert any(line.startswith("FAIL") and "credentials: cannot reach" in line for line in said), said
        assert "NOT READY" in got.err
    else:
        assert len(said) == 1, got.text
    assert "Traceback" not in got.text
    assert got.code == 1  # an AWS call failed: not a guardrail (3)
    assert not (state_dir / "runs").exists()


def test_unreachable_endpoint_exits_1_from_run_app(cli, monkeypatch, two_attempts, tmp_path):
    closed_endpoint(monkeypatch)
    got = cli("run", "app", "--dry-run", "--env", write_env(tmp_path / "env.yaml"))
    assert got.code == 1, got.text
