"""ECS rollout dynamics, which moto lacks: the world animates them on its own ticks.

moto stores ``update_service``'s task definition and, when forced, renews the
id of ``deployments[0]`` — and nothing moves after that. Here, on every tick,
a changed task definition or deployment id starts a rollout: a new PRIMARY
deployment (IN_PROGRESS) whose tasks start one by one, the previous one
turned ACTIVE and drained once the new tasks are up, then COMPLETED with
``runningCount == desiredCount``. The timings are simulated seconds
(scenario data), so the clock's speed sets the wall-clock pace.

moto serves requests from other threads while this runs; each tick builds a
new ``deployments`` list and swaps it in whole, so a reader never sees one
half-written.
"""

from __future__ import annotations

import math
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rollback_cockpit.simulate.scenario import Deployment


@dataclass
class _Rollout:
    id: str
    task_definition: str
    started: float  # simulated epoch seconds
    created: datetime
    template: dict[str, Any]


@dataclass
class _Old:
    id: str
    task_definition: str
    running_at_start: int
    created: datetime
    template: dict[str, Any]


@dataclass
class _Tracked:
    primary: _Rollout
    old: list[_Old] = field(default_factory=list)
    steady_reported: bool = True


class EcsDynamics:
    def __init__(self, backend: Any, cluster: str, services: list[str], pace: Deployment, clock: Any):
        self.backend = backend
        self.cluster = cluster
        self.services = services
        self.pace = pace
        self.clock = clock
        self.tracked: dict[str, _Tracked] = {}
        # Ticks (engine thread) and update_service (moto's request threads) both move rollouts.
        self._lock = threading.RLock()

    def install(self) -> None:
        """Start the rollout inside ``update_service`` itself, as AWS does.

        Without this, the response of ``update_service`` and a describe right
        after it would still show the old PRIMARY until the next tick. The
        wrapper sits on this backend instance only, not on moto's class.
        """
        original = self.backend.update_service

        def update_service(service_properties: dict[str, Any]) -> Any:
            with self._lock:
                svc = original(service_properties)
                self.tick(self.clock.time())
                return svc

        self.backend.update_service = update_service

    def _service(self, name: str) -> Any:
        return self.backend.services.get(f"{self.cluster}:{name}")

    def start(self, now: float) -> None:
        """Adopt the seeded, steady services as they are."""
        for name in self.services:
            svc = self._service(name)
            if svc is None or not svc.deployments:
                continue
            dep = svc.deployments[0]
            self.tracked[name] = _Tracked(
                primary=_Rollout(dep["id"], svc.task_definition, now - 86400, dep["createdAt"], dict(dep))
            )

    def running_by_task_definition(self) -> dict[str, int]:
        """How many tasks run each task definition now, over all tracked services."""
        out: dict[str, int] = {}
        for name in self.services:
            svc = self._service(name)
            if svc is None:
                continue
            for dep in svc.deployments:
                td = dep.get("taskDefinition")
                out[td] = out.get(td, 0) + int(dep.get("runningCount", 0))
        return out

    def tick(self, now: float) -> None:
        with self._lock:
            self._tick(now)

    def _tick(self, now: float) -> None:
        for name in self.services:
            svc = self._service(name)
            t = self.tracked.get(name)
            if svc is None or t is None or not svc.deployments:
                continue
            head = svc.deployments[0]
            if svc.task_definition != t.primary.task_definition or head.get("id") != t.primary.id:
                self._begin(svc, t, now)
            self._advance(svc, t, now)

    def _begin(self, svc: Any, t: _Tracked, now: float) -> None:
        current = {d["id"]: d for d in svc.deployments}
        running_now = int(current.get(t.primary.id, {}).get("runningCount", svc.desired_count))
        old = [o for o in t.old if int(current.get(o.id, {}).get("runningCount", 0)) > 0]
        for o in old:
            o.running_at_start = int(current[o.id]["runningCount"])
        if running_now > 0:
            p = t.primary
            old.insert(0, _Old(p.id, p.task_definition, running_now, p.created, p.template))
        head = svc.deployments[0]
        # A forced deployment got its new id from moto; a plain task-definition change did not.
        new_id = head["id"] if head.get("id") != t.primary.id else f"ecs-svc/{uuid.uuid4().int % 10**19}"
        t.primary = _Rollout(new_id, svc.task_definition, now, datetime.now(UTC), dict(head))
        t.old = old
        t.steady_reported = False
        _event(svc, f"(service {svc.name}) has started 1 tasks: (deployment {new_id}).")

    def _advance(self, svc: Any, t: _Tracked, now: float) -> None:
        desired = int(svc.desired_count)
        p = self.pace
        age = now - t.primary.started
        started = 0 if age < p.start_seconds else min(desired, 1 + math.floor((age - p.start_seconds) / p.step_seconds))
        # Old tasks leave once their replacements have been healthy for the drain delay.
        drained_age = age - p.drain_seconds
        replaced = 0 if drained_age < p.start_seconds else min(
            desired, 1 + math.floor((drained_age - p.start_seconds) / p.step_seconds))
        deployments = []
        old_running_total = 0
        leftover = replaced
        for o in t.old:
            take = min(o.running_at_start, leftover)
            leftover -= take
            running = o.running_at_start - take
            if running <= 0:
                continue
            old_running_total += running
            dep = dict(o.template)
            dep.update(id=o.id, status="ACTIVE", taskDefinition=o.task_definition, runningCount=running,
                       pendingCount=0, desiredCount=0, createdAt=o.created, updatedAt=datetime.now(UTC),
                       rolloutState="COMPLETED", rolloutStateReason=f"ECS deployment {o.id} completed.")
            deployments.append(dep)
        done = started >= desired and old_running_total == 0
        primary = dict(t.primary.template)
        primary.update(
            id=t.primary.id, status="PRIMARY", taskDefinition=t.primary.task_definition, desiredCount=desired,
            runningCount=started, pendingCount=max(0, desired - started), createdAt=t.primary.created,
            updatedAt=datetime.now(UTC), rolloutState="COMPLETED" if done else "IN_PROGRESS",
            rolloutStateReason=f"ECS deployment {t.primary.id} {'completed' if done else 'in progress'}.",
        )
        svc.deployments = [primary, *deployments]
        svc.running_count = started + old_running_total
        svc.pending_count = max(0, desired - started)
        if done and not t.steady_reported:
            t.steady_reported = True
            t.old = []
            _event(svc, f"(service {svc.name}) has reached a steady state.")


def _event(svc: Any, message: str) -> None:
    entry = {"id": str(uuid.uuid4()), "createdAt": datetime.now(UTC), "message": message}
    svc.events = [entry, *svc.events][:100]
