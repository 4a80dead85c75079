"""Scenarios as data: which resources are the culprits and what the symptoms look like.

A scenario names its culprit resource kinds (see ``state.KINDS``); the world
measures each one's *badness* — 0 when the resource is in a good state, 1 when
it is in the bad state the rollback must undo, in between while a deployment
is half-way — and the symptoms are interpolated between ``good`` and ``bad``
by the worst culprit's badness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

SCENARIO_DIR = "scenarios"


class ScenarioError(Exception):
    pass


@dataclass(frozen=True)
class Symptoms:
    error_rate: float  # fraction of requests answered 5xx
    median_seconds: float  # target response time, median
    p95_seconds: float  # target response time, 95th percentile
    unhealthy_fraction: float  # of registered targets
    memory_percent: float  # ECS MemoryUtilization
    error_lines_per_minute: int  # log lines with ERROR
    requests_per_minute: int = 1200

    def blend(self, other: Symptoms, t: float) -> Symptoms:
        """``self`` at t=0, ``other`` at t=1 (latencies blend geometrically)."""
        t = min(1.0, max(0.0, t))
        out = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name.endswith("_seconds") and a > 0 and b > 0:
                v = math.exp(math.log(a) + (math.log(b) - math.log(a)) * t)
            else:
                v = a + (b - a) * t
            out[f.name] = round(v) if isinstance(a, int) and isinstance(b, int) else v
        return Symptoms(**out)

    def latency_samples(self, n: int = 20) -> list[float]:
        """``n`` response times spread like a log-normal with this median and p95."""
        sigma = max(1e-6, math.log(self.p95_seconds / self.median_seconds) / 1.6449)
        return [round(self.median_seconds * math.exp(sigma * _z((i + 0.5) / n)), 4) for i in range(n)]


@dataclass(frozen=True)
class Deployment:
    start_seconds: float = 60.0
    step_seconds: float = 20.0
    drain_seconds: float = 60.0


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    culprits: tuple[str, ...]
    good: Symptoms
    bad: Symptoms
    incident_started_minutes_ago: int = 8
    backfill_minutes: int = 30
    deployment: Deployment = Deployment()

    def symptoms(self, badness: float) -> Symptoms:
        return self.good.blend(self.bad, badness)


def names() -> list[str]:
    folder = resources.files("rollback_cockpit.simulate") / SCENARIO_DIR
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load(name: str) -> Scenario:
    import yaml

    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        res = resources.files("rollback_cockpit.simulate") / SCENARIO_DIR / f"{name}.yaml"
        if not res.is_file():
            raise ScenarioError(f"unknown scenario {name!r} (known: {', '.join(names())})")
        text = res.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    try:
        from rollback_cockpit.simulate.state import KINDS

        culprits = tuple(data["culprits"])
        unknown = [c for c in culprits if c not in KINDS]
        if unknown:
            raise ScenarioError(f"scenario {name}: unknown culprit kind(s) {unknown} (known: {sorted(KINDS)})")
        return Scenario(
            name=data["name"],
            summary=data.get("summary", ""),
            culprits=culprits,
            good=Symptoms(**data["symptoms"]["good"]),
            bad=Symptoms(**data["symptoms"]["bad"]),
            incident_started_minutes_ago=int(data.get("incident_started_minutes_ago", 8)),
            backfill_minutes=int(data.get("backfill_minutes", 30)),
            deployment=Deployment(**data.get("deployment", {})),
        )
    except (KeyError, TypeError) as exc:
        raise ScenarioError(f"scenario {name}: {exc}") from None


def _z(q: float) -> float:
    """Inverse of the standard normal CDF (Acklam's approximation; plenty for fake latencies)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    lo = 0.02425
    if q < lo:
        r = math.sqrt(-2 * math.log(q))
        return (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1)
    if q > 1 - lo:
        return -_z(1 - q)
    r = q - 0.5
    s = r * r
    return (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r / (
        ((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1)
