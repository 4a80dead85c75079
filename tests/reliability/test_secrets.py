"""A planted secret never reaches the screen, the journal, a report or the debug log.

The marker is planted where a rollback reads near secrets: the value of a
Secrets Manager secret (current and previous versions), a SecureString
parameter, and task-definition environment values that differ between the
live revision and the rollback target (so the plan's diff has to talk about
them). Then every command an operator would run is run, and every byte they
printed or wrote is searched.
"""

from __future__ import annotations

from tests.reliability.conftest import ENV_NAME, SERVICES, seed_ecs, write_env

MARKER = "PLANTED-SECRET-8f3a"

MORE = """\
configuration:
  secrets:
    - id: lightningtalk-prod-env
  parameters:
    - /lightningtalk/prod/config
database:
  tables:
    - name: lightningtalk-prod-events
      rules:
        - {attribute: id, type: S}
validation:
  base_url: http://127.0.0.1:9
  endpoints:
    - {path: /health}
  log_group: /aws/ecs/lightningtalk-prod
  settle_minutes: 0
"""


def plant(boto) -> None:
    sm = boto("secretsmanager")
    sm.create_secret(Name="lightningtalk-prod-env", SecretString=f'{{"DB_PASSWORD": "{MARKER}-previous"}}')
    sm.put_secret_value(SecretId="lightningtalk-prod-env", SecretString=f'{{"DB_PASSWORD": "{MARKER}-current"}}')
    boto("ssm").put_parameter(Name="/lightningtalk/prod/config", Value=f"api_key={MARKER}", Type="SecureString")
    ddb = boto("dynamodb")
    ddb.create_table(
        TableName="lightningtalk-prod-events",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="lightningtalk-prod-events", Item={"id": {"S": "e1"}, "token": {"S": MARKER}})
    boto("logs").create_log_group(logGroupName="/aws/ecs/lightningtalk-prod")


def test_a_planted_secret_appears_in_no_output(cli, boto, settler, tmp_path, state_dir):
    # Each revision carries the secret in its environment, with a different value per revision.
    ecs_arns = {}
    from tests.reliability.conftest import CLUSTER, register

    ecs = boto("ecs")
    seed = seed_ecs(boto, revisions=1)
    for svc, family in SERVICES.items():
        ecs_arns[svc] = [seed[svc][0]] + [
            register(ecs, family, f"v2.{i}", {"DB_PASSWORD": f"{MARKER}-rev{i}", "LOG_LEVEL": "info"}) for i in (2, 3)
        ]
        ecs.update_service(cluster=CLUSTER, service=svc, taskDefinition=ecs_arns[svc][-1])
    plant(boto)
    env = write_env(tmp_path / "env.yaml", extra=MORE)
    md, js = tmp_path / "out" / "report.md", tmp_path / "out" / "report.json"

    outputs = []
    for argv in (
        ("readiness", "--env", env),
        ("run", "app", "--env", env, "--dry-run"),
        ("run", "app", "--env", env, "--confirm", ENV_NAME, "--report", md, "--json", js, "--reason", "bad deploy"),
        ("validate", "--env", env),
        ("report", "last"),
        ("report", "last", "--format", "json", "--lang", "en"),
        ("lock", "show", "--env", env),
    ):
        got = cli(*argv)
        outputs.append((" ".join(map(str, argv[:2])), got))
    ran = dict(outputs)
    assert "DB_PASSWORD" in ran["run app"].out  # the diff names the variable that changes …
    assert "(names only)" in ran["run app"].out
    assert {s["serviceName"]: s["taskDefinition"] for s in ecs.describe_services(cluster=CLUSTER, services=list(SERVICES))["services"]} == {
        svc: arns[-2] for svc, arns in ecs_arns.items()
    }  # … and the rollback really ran

    leaks = [f"{name} (exit {got.code}) printed it" for name, got in outputs if MARKER in got.text]
    written = [p for p in [*state_dir.rglob("*"), md, js] if p.is_file()]
    assert any(p.suffix == ".jsonl" for p in written) and any(p.name == "debug.log" for p in written)
    assert md.exists() and js.exists()
    leaks += [f"{p} holds it" for p in written if MARKER.encode() in p.read_bytes()]
    assert not leaks, leaks
