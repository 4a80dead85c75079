"""Scenarios are data: every shipped one loads, and its symptoms move from good to bad with badness."""

from __future__ import annotations

import pytest

from rollback_cockpit.simulate import scenario
from rollback_cockpit.simulate.patches import percentile
from rollback_cockpit.simulate.state import KINDS


def test_every_shipped_scenario_loads():
    names = scenario.names()
    assert {"bad-deploy", "config", "schema", "infra", "bluegreen", "canary", "emergency"} <= set(names)
    for name in names:
        s = scenario.load(name)
        assert s.culprits and set(s.culprits) <= set(KINDS)
        assert s.bad.error_rate > s.good.error_rate


def test_unknown_scenario_is_named():
    with pytest.raises(scenario.ScenarioError, match="unknown scenario 'nope'"):
        scenario.load("nope")


def test_bad_deploy_symptoms_breach_and_recover():
    s = scenario.load("bad-deploy")
    bad, good = s.symptoms(1.0), s.symptoms(0.0)
    assert bad.error_rate * 100 > 5 and good.error_rate * 100 < 1
    assert percentile(bad.latency_samples(20), 95) > 2 > percentile(good.latency_samples(20), 95)
    half = s.symptoms(0.5)
    assert good.error_rate < half.error_rate < bad.error_rate
