"""The environment file: the shipped one is valid; broken ones name file, line and key."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from rollback_cockpit.runbook import environment
from rollback_cockpit.tui.context import shipped_environment

GOOD_HEAD = "name: prod\nregion: ap-northeast-1\n"


def test_shipped_environment_is_valid_and_offers_every_kind():
    env = environment.load(shipped_environment())
    assert env.name == "lightningtalk-prod"
    assert env.application.ecs.cluster == "lightningtalk-prod"
    assert [s.name for s in env.application.ecs.services] == ["api-service", "websocket-service"]
    assert env.application.lambda_.functions[0].name == "lightningtalk-api-handler"
    assert env.configuration.secrets[0].id == "lightningtalk-prod-env"
    assert env.traffic.active_parameter == "/lightningtalk/prod/active-environment"
    assert env.emergency.stable_version_parameter == "/lightningtalk/stable-version"
    assert [e.path for e in env.validation.endpoints] == [
        "/health",
        "/api/events",
        "/api/events/current",
        "/api/participants",
    ]
    assert env.triggers.error_rate_percent.threshold == 5
    assert env.triggers.p95_seconds.sustain_minutes == 10
    assert environment.offered_kinds(env) == list(environment.KINDS)


def test_left_out_sections_are_not_offered():
    env = environment.loads(GOOD_HEAD + "application:\n  lambda:\n    functions: [{name: f}]\n")
    assert environment.offered_kinds(env) == ["app", "canary"]
    assert env.triggers.memory_percent.threshold == 95  # the runbook's defaults


BROKEN = [
    # (id, text, expected line, expected key, expected words)
    ("empty", "", 1, "", "the file is empty"),
    ("only-comments", "# nothing\n", 1, "", "the file is empty"),
    ("bad-yaml", GOOD_HEAD + "application: [\n", 4, "", "not valid YAML"),
    ("bad-indent", GOOD_HEAD + "application:\n  ecs:\n   cluster: a\n  services: []\n x: 1\n", 7, "", "not valid YAML"),
    ("top-is-list", "- a\n- b\n", 1, "(top level)", "must be a mapping"),
    ("missing-region", "name: prod\n", 1, "region", "required key is missing"),
    ("unknown-top", GOOD_HEAD + "aplication: {}\n", 3, "aplication", "did you mean 'application'"),
    (
        "unknown-nested",
        GOOD_HEAD + "triggers:\n  error_rate_percent:\n    treshold: 5\n",
        5,
        "triggers.error_rate_percent.treshold",
        "did you mean 'threshold'",
    ),
    ("wrong-type-int", GOOD_HEAD + "validation:\n  base_url: u\n  window_minutes: thirty\n", 5, "validation.window_minutes", "must be a whole number"),
    ("wrong-type-list", GOOD_HEAD + "application:\n  ecs:\n    cluster: c\n    services: api\n", 6, "application.ecs.services", "must be a list"),
    (
        "missing-nested",
        GOOD_HEAD + "application:\n  ecs:\n    cluster: c\n    services:\n      - family: f\n",
        7,
        "application.ecs.services[0].name",
        "required key is missing",
    ),
    ("bool-for-number", GOOD_HEAD + "triggers:\n  memory_percent: {threshold: yes}\n", 4, "triggers.memory_percent.threshold", "must be a number"),
    ("duplicate-key", GOOD_HEAD + "region: us-east-1\n", 3, "region", "appears twice"),
    ("mapping-for-text", "name: {a: 1}\nregion: r\n", 1, "name", "must be text"),
    ("empty-required", "name:\nregion: r\n", 1, "name", "must be text, not empty"),
]


@pytest.mark.parametrize("case", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_file_names_file_line_and_key(tmp_path, case):
    _, text, line, key, words = case
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(environment.EnvironmentFileError) as info:
        environment.load(path)
    rendered = [p.render() for p in info.value.problems]
    expected_prefix = f"{path}:{line}:" + (f" {key}:" if key else "")
    assert any(r.startswith(expected_prefix) and words in r for r in rendered), rendered


def test_all_problems_are_reported_at_once(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("name: x\nbogus: 1\nvalidation:\n  window_minutes: x\n")
    with pytest.raises(environment.EnvironmentFileError) as info:
        environment.load(path)
    keys = {p.key for p in info.value.problems}
    assert {"region", "bogus", "validation.window_minutes", "validation.base_url"} <= keys


def test_missing_file(tmp_path):
    with pytest.raises(environment.EnvironmentFileError, match="file not found"):
        environment.load(tmp_path / "nope.yaml")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rollback_cockpit", *args], capture_output=True, text=True, timeout=60
    )


def test_env_check_command_exit_codes(tmp_path):
    ok = run_cli("env", "check", str(shipped_environment()))
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout and "lightningtalk-prod" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        name: prod
        region: ap-northeast-1
        triggers:
          error_rate_percent: {threshold: 5, sustain_minuts: 5}
    """))
    res = run_cli("env", "check", str(bad), "--state-dir", str(tmp_path / "s"))
    assert res.returncode == 2
    assert f"{bad}:4: triggers.error_rate_percent.sustain_minuts: unknown key; did you mean 'sustain_minutes'?" in res.stderr
