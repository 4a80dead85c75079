"""Rehearsal worlds for the simulate tests: started side by side once per session (each takes seconds)."""

from __future__ import annotations

import pytest

REGION = "ap-northeast-1"


@pytest.fixture(scope="session")
def _worlds():
    from rollback_cockpit.simulate.world import WorldProcess
    from rollback_cockpit.tui.context import shipped_environment

    env = shipped_environment()
    # "bad" is only read from; "rollback" is rolled back by a test. Both launch before either is waited
    # for, so their seeding overlaps on the two cores.
    procs = {
        "bad": WorldProcess(env, speed=60.0).launch(),
        "rollback": WorldProcess(env, speed=120.0).launch(),
    }
    try:
        infos = {name: p.wait_ready() for name, p in procs.items()}
        yield infos
    finally:
        codes = {name: p.stop() for name, p in procs.items()}
        assert all(code == 0 for code in codes.values()), codes


@pytest.fixture(scope="session")
def bad_world(_worlds):
    return _worlds["bad"]


@pytest.fixture(scope="session")
def rollback_world(_worlds):
    return _worlds["rollback"]


def client(info, service: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, region_name=REGION, endpoint_url=info.endpoint_url, aws_access_key_id="testing",
        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}),
    )


def load_env(info):
    from rollback_cockpit.runbook import environment

    return environment.load(info.env_path)


def metric_series(info, env, minutes: int = 20) -> dict[str, list[float]]:
    """The brief's metrics contract, read as the cockpit reads it (one GetMetricData call), oldest first."""
    from datetime import timedelta

    lb = [{"Name": "LoadBalancer", "Value": env.metrics.load_balancer}]
    tg = [{"Name": "TargetGroup", "Value": env.metrics.target_group}, *lb]

    def q(id_, ns, name, dims, stat):
        return {"Id": id_, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name, "Dimensions": dims},
                                          "Period": 60, "Stat": stat}}

    ecs = env.application.ecs
    queries = [
        q("req", "AWS/ApplicationELB", "RequestCount", lb, "Sum"),
        q("err", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, "Sum"),
        q("p95", "AWS/ApplicationELB", "TargetResponseTime", lb, "p95"),
        q("healthy", "AWS/ApplicationELB", "HealthyHostCount", tg, "Average"),
        q("unhealthy", "AWS/ApplicationELB", "UnHealthyHostCount", tg, "Average"),
    ] + [
        q(f"mem{i}", "AWS/ECS", "MemoryUtilization",
          [{"Name": "ClusterName", "Value": ecs.cluster}, {"Name": "ServiceName", "Value": s.name}], "Maximum")
        for i, s in enumerate(ecs.services)
    ]
    end = info.clock.now()
    resp = client(info, "cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=end - timedelta(minutes=minutes), EndTime=end,
        ScanBy="TimestampAscending",
    )
    return {r["Id"]: r["Values"] for r in resp["MetricDataResults"]}


class Tools:
    client = staticmethod(client)
    load_env = staticmethod(load_env)
    metric_series = staticmethod(metric_series)


@pytest.fixture(scope="session")
def tools():
    """Helpers (conftest modules cannot be imported under --import-mode=importlib)."""
    return Tools
