"""moto's get_metric_data learns percentile statistics (a gap the world fills in its own process)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rollback_cockpit.simulate.patches import percentile


def test_nearest_rank_percentile():
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 95) == 95.0
    assert percentile(values, 50) == 50.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 95) is None


def test_get_metric_data_answers_p95(bad_world, tools):
    cw = tools.client(bad_world, "cloudwatch")
    ts = bad_world.clock.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    dims = [{"Name": "Probe", "Value": "percentiles"}]
    cw.put_metric_data(Namespace="Test/Percentiles", MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": ts, "Values": [float(v) for v in range(1, 101)]},
    ])

    def stat(s: str) -> list[float]:
        resp = cw.get_metric_data(
            MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {
                "Namespace": "Test/Percentiles", "MetricName": "Latency", "Dimensions": dims},
                "Period": 300, "Stat": s}}],
            StartTime=ts - timedelta(seconds=30), EndTime=ts + timedelta(seconds=200),
        )
        return resp["MetricDataResults"][0]["Values"]

    assert stat("p95") == [95.0]
    assert stat("p50") == [50.0]
    assert stat("p99.9") == [100.0]
    assert stat("Average") == [pytest.approx(50.5)]  # the ordinary statistics still work
