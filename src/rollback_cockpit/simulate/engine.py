"""The scenario engine: per simulated minute it publishes the metrics and log lines the cockpit reads.

It runs on its own thread (boto3 is blocking) and ticks every 0.1 s of wall
time: ECS rollouts advance, the culprits' badness is sampled, and every
simulated minute that has ended is published — the metrics contract of the
team brief (ALB RequestCount / HTTPCode_Target_5XX_Count / TargetResponseTime
on LoadBalancer; Healthy/UnHealthyHostCount on TargetGroup + LoadBalancer;
ECS MemoryUtilization on ClusterName + ServiceName) and the log lines.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime
from typing import Any

from rollback_cockpit.simulate.scenario import Scenario, Symptoms
from rollback_cockpit.simulate.seed import Seeded, log_streams

log = logging.getLogger("rollback_cockpit.simulate")
TICK_SECONDS = 0.1
LATENCY_SAMPLES = 20


class Engine:
    def __init__(self, env: Any, seeded: Seeded, scenario: Scenario, clock: Any, clients: Any,
                 state: Any, dynamics: Any | None):
        self.env = env
        self.seeded = seeded
        self.scenario = scenario
        self.clock = clock
        self.clients = clients
        self.state = state
        self.dynamics = dynamics
        self.badness = 1.0  # read by the local service
        self._minute: int | None = None  # start (sim epoch seconds) of the minute being sampled
        self._samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.published_minutes = 0

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        now = self.clock.time()
        if self.dynamics is not None:
            self.dynamics.start(now)
            self.dynamics.install()
        self.badness = self.state.badness(self.scenario.culprits)
        self.backfill(now)
        self._thread = threading.Thread(target=self._run, name="rehearsal-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick(self.clock.time())
            except Exception:  # one bad tick must not end the rehearsal
                log.exception("engine tick failed")

    # -- the work -------------------------------------------------------------

    def backfill(self, now: float) -> None:
        """History, so sparklines have data and the breaches are (nearly) sustained at once."""
        current = int(now // 60) * 60
        incident = current - 60 * self.scenario.incident_started_minutes_ago
        minutes = [current - 60 * k for k in range(self.scenario.backfill_minutes, 0, -1)]
        self._publish([(m, 0.0 if m < incident else self.badness) for m in minutes])
        self._minute = current
        self._samples = []

    def tick(self, now: float) -> None:
        if self.dynamics is not None:
            self.dynamics.tick(now)
        self.badness = self.state.badness(self.scenario.culprits)
        minute = int(now // 60) * 60
        assert self._minute is not None
        due = []
        while self._minute < minute:
            sampled = sum(self._samples) / len(self._samples) if self._samples else self.badness
            due.append((self._minute, sampled))
            self._minute += 60
            self._samples = []
        self._samples.append(self.badness)
        if due:
            self._publish(due)

    def _publish(self, minutes: list[tuple[int, float]]) -> None:
        if not minutes:
            return
        alb, ecs = [], []
        events: dict[str, list[dict[str, Any]]] = {}
        for start, badness in minutes:
            s = self.scenario.symptoms(badness)
            a, e = self._metrics(start, s)
            alb += a
            ecs += e
            for stream, evs in self._log_lines(start, s, badness).items():
                events.setdefault(stream, []).extend(evs)
        cw = self.clients("cloudwatch")
        for namespace, data in (("AWS/ApplicationELB", alb), ("AWS/ECS", ecs)):
            for i in range(0, len(data), 500):
                if data[i:i + 500]:
                    cw.put_metric_data(Namespace=namespace, MetricData=data[i:i + 500])
        group = self.env.validation.log_group if self.env.validation else None
        if group:
            logs = self.clients("logs")
            for stream, evs in events.items():
                for i in range(0, len(evs), 5000):
                    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=evs[i:i + 5000])
        self.published_minutes += len(minutes)

    def _metrics(self, start: int, s: Symptoms) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rng = random.Random(start)
        ts = datetime.fromtimestamp(start, UTC)
        lb = [{"Name": "LoadBalancer", "Value": self.seeded.load_balancer}]
        tg = [{"Name": "TargetGroup", "Value": self.seeded.target_group}, *lb]
        requests = max(1, round(s.requests_per_minute * rng.uniform(0.95, 1.05)))
        errors = round(requests * s.error_rate * rng.uniform(0.9, 1.1))
        latencies = [round(v * rng.uniform(0.95, 1.05), 4) for v in s.latency_samples(LATENCY_SAMPLES)]
        targets = self._targets()
        unhealthy = min(targets, round(s.unhealthy_fraction * targets))
        alb = [
            {"MetricName": "RequestCount", "Dimensions": lb, "Timestamp": ts, "Value": requests, "Unit": "Count"},
            {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": lb, "Timestamp": ts, "Value": errors,
             "Unit": "Count"},
            {"MetricName": "TargetResponseTime", "Dimensions": lb, "Timestamp": ts, "Values": latencies,
             "Unit": "Seconds"},
        ]
        if self.seeded.target_group:
            alb += [
                {"MetricName": "HealthyHostCount", "Dimensions": tg, "Timestamp": ts, "Value": targets - unhealthy,
                 "Unit": "Count"},
                {"MetricName": "UnHealthyHostCount", "Dimensions": tg, "Timestamp": ts, "Value": unhealthy,
                 "Unit": "Count"},
            ]
        ecs = []
        if self.env.application and self.env.application.ecs:
            cluster = self.env.application.ecs.cluster
            for svc in self.env.application.ecs.services:
                ecs.append({"MetricName": "MemoryUtilization", "Timestamp": ts, "Unit": "Percent",
                            "Dimensions": [{"Name": "ClusterName", "Value": cluster},
                                           {"Name": "ServiceName", "Value": svc.name}],
                            "Value": round(min(100.0, s.memory_percent * rng.uniform(0.97, 1.03)), 1)})
        return alb, ecs

    def _targets(self) -> int:
        """Registered targets: the running tasks of the first service (the one behind the target group)."""
        if self.dynamics is not None and self.dynamics.services:
            svc = self.dynamics.backend.services.get(f"{self.dynamics.cluster}:{self.dynamics.services[0]}")
            if svc is not None:
                return max(int(svc.running_count), 1)
        return 3

    def _log_lines(self, start: int, s: Symptoms, badness: float) -> dict[str, list[dict[str, Any]]]:
        rng = random.Random(start * 7 + 1)
        streams = log_streams(self.env)
        lines: list[tuple[int, str, str]] = []
        for i in range(6):
            ms = start * 1000 + i * 9000 + rng.randint(0, 999)
            lines.append((ms, streams[i % len(streams)],
                          f"INFO GET /api/events 200 {int(s.median_seconds * 1000)}ms"))
        for _ in range(int(s.error_lines_per_minute)):
            ms = start * 1000 + rng.randint(0, 59_999)
            path = rng.choice(["/api/events", "/api/events/current", "/api/participants"])
            lines.append((ms, streams[0], f"ERROR {path} 500 TypeError: Cannot read properties of undefined "
                          f"(reading 'speakerId') release=v2.4.0"))
        out: dict[str, list[dict[str, Any]]] = {}
        for ms, stream, message in sorted(lines):
            out.setdefault(stream, []).append({"timestamp": ms, "message": message})
        return out
