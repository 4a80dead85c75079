"""Rolling the ECS services back with plain update_service: the deployment animates, then everything recovers."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_rollback_goes_through_its_phases_and_the_world_recovers(rollback_world, tools):
    env = tools.load_env(rollback_world)
    ecs = tools.client(rollback_world, "ecs")
    cfg = env.application.ecs
    names = [s.name for s in cfg.services]
    good = {}
    for spec in cfg.services:
        arn = ecs.describe_task_definition(taskDefinition=f"{spec.family}:3")["taskDefinition"]["taskDefinitionArn"]
        good[spec.name] = arn
        ecs.update_service(cluster=cfg.cluster, service=spec.name, taskDefinition=arn, forceNewDeployment=True)

    # Watch the rollout: PRIMARY in progress next to the draining ACTIVE one, then completed.
    seen: dict[str, set[str]] = {n: set() for n in names}
    running_seen: dict[str, set[int]] = {n: set() for n in names}
    deadline = time.monotonic() + 20  # ~3 simulated minutes at 120x is ~1.5 s
    while True:
        services = ecs.describe_services(cluster=cfg.cluster, services=names)["services"]
        for svc in services:
            deps = svc["deployments"]
            primary = next(d for d in deps if d["status"] == "PRIMARY")
            assert primary["taskDefinition"] == good[svc["serviceName"]]
            phase = primary["rolloutState"]
            if any(d["status"] == "ACTIVE" for d in deps):
                phase += "+ACTIVE"
            seen[svc["serviceName"]].add(phase)
            running_seen[svc["serviceName"]].add(primary["runningCount"])
        if all(len(svc["deployments"]) == 1 and svc["deployments"][0]["rolloutState"] == "COMPLETED"
               and svc["runningCount"] == svc["desiredCount"] for svc in services):
            break
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)
    for name in names:
        assert "IN_PROGRESS+ACTIVE" in seen[name], seen
        assert 0 in running_seen[name] and len(running_seen[name]) >= 2, running_seen
    events = services[0]["events"]
    assert "steady state" in events[0]["message"]

    # Metrics recover within a few simulated minutes; so do the endpoints.
    deadline = time.monotonic() + 20
    while True:
        m = tools.metric_series(rollback_world, env, minutes=10)
        rate = m["err"][-1] / m["req"][-1] * 100
        if rate < 1 and m["p95"][-1] < 1:
            break
        assert time.monotonic() < deadline, (m["err"], m["p95"])
        time.sleep(0.3)
    assert m["unhealthy"][-1] == 0
    for endpoint in env.validation.endpoints:
        statuses = [_get(f"{env.validation.base_url}{endpoint.path}")[0] for _ in range(5)]
        assert statuses == [endpoint.expect_status] * 5, (endpoint.path, statuses)
    status, body = _get(f"{env.validation.base_url}/health")
    assert body["status"] == "ok"
