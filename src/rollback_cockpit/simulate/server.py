"""The whole rehearsal world in this process: moto, the seeding, the local service, the engine.

``sim serve`` runs this; ``world.running_world`` runs ``sim serve`` as a
child process (see there for why).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollback_cockpit.runbook.clock import ScaledClock

log = logging.getLogger("rollback_cockpit.simulate")
REGION_DEFAULT = "ap-northeast-1"
# The simulated clock starts a day behind real time: moto's Logs refuses events
# more than 2 h in the future or 14 days old, so at 10x the world stays valid
# for 2.6 h of wall time (and for 14 minutes even at 1000x).
SIM_LAG_SECONDS = 24 * 3600


@dataclass
class Running:
    endpoint_url: str
    service_url: str
    env_path: Path
    clock: ScaledClock
    seeded: Any
    engine: Any
    service: Any
    moto: Any

    async def stop(self) -> None:
        started = time.monotonic()
        self.engine.stop()
        await self.service.stop()
        await asyncio.to_thread(self.moto.stop)
        log.info("stopped in %.2f s", time.monotonic() - started)


def _quiet() -> None:
    # moto's server logs one line per request to stderr.
    for name in ("werkzeug", "moto", "botocore", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.ERROR)


def clients_for(endpoint_url: str, region: str):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal",
                                    region_name=region)
    cache: dict[str, Any] = {}
    config = Config(retries={"total_max_attempts": 2}, max_pool_connections=4)

    def make(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, endpoint_url=endpoint_url, config=config)
        return cache[service]

    return make


def write_seeded_env(source: Path, target: Path, seeded: Any, rehearsal: dict[str, Any]) -> Path:
    """A copy of the environment file with the world's real ids and a ``rehearsal:`` section."""
    import yaml

    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    app = data.get("application") or {}
    if app.get("static_site") and seeded.distribution_id:
        app["static_site"]["distribution_id"] = seeded.distribution_id
    if data.get("traffic"):
        if seeded.hosted_zone_id:
            data["traffic"]["hosted_zone_id"] = seeded.hosted_zone_id
        for colour, c in (data["traffic"].get("colours") or {}).items():
            c.update(seeded.colours.get(colour, {}))
            c["health_url"] = f"{rehearsal['service_url']}/{colour}/health"
    if data.get("metrics") or seeded.load_balancer:
        m = data.setdefault("metrics", {})
        m["load_balancer"] = seeded.load_balancer
        if seeded.target_group:
            m["target_group"] = seeded.target_group
    if data.get("notifications") and seeded.sns_topic_arn:
        data["notifications"]["sns_topic_arn"] = seeded.sns_topic_arn
    data.setdefault("validation", {})["base_url"] = rehearsal["service_url"]
    data.pop("profile", None)
    data["rehearsal"] = rehearsal
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Seeded by the rehearsal world from {source} — a rehearsal, not production.\n"
              f"# The ids below are the local world's; the file stops being valid when the world stops.\n")
    target.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


async def start(env_path: Path, *, scenario: str = "bad-deploy", speed: float = 10.0, port: int = 0,
                out_dir: Path, items_per_table: dict[str, int] | None = None) -> Running:
    """Start everything; the caller awaits ``running.stop()``."""
    from moto.backends import get_backend
    from moto.server import ThreadedMotoServer

    from rollback_cockpit.runbook import environment
    from rollback_cockpit.simulate import patches
    from rollback_cockpit.simulate import scenario as scenarios
    from rollback_cockpit.simulate.dynamics import EcsDynamics
    from rollback_cockpit.simulate.engine import Engine
    from rollback_cockpit.simulate.seed import ACCOUNT, seed
    from rollback_cockpit.simulate.service import Service
    from rollback_cockpit.simulate.state import WorldState

    _quiet()
    env = environment.load(env_path)
    plan = scenarios.load(scenario)
    patches.apply()
    # Loading EC2's default AMIs costs a second and no rehearsal needs them.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    engine = service = None
    try:
        moto_port = moto._server.server_address[1]
        endpoint = f"http://127.0.0.1:{moto_port}"
        clients = clients_for(endpoint, env.region)
        real_epoch = time.time()
        clock = ScaledClock(speed=speed, real_epoch=real_epoch, sim_epoch=real_epoch - SIM_LAG_SECONDS)
        seeded = await asyncio.to_thread(seed, env, clients, items_per_table=items_per_table)
        log.info("seeded in %.2f s: %s", seeded.seconds, seeded.items)
        dynamics = None
        if env.application and env.application.ecs:
            ecs = env.application.ecs
            dynamics = EcsDynamics(get_backend("ecs")[ACCOUNT][env.region], ecs.cluster,
                                   [s.name for s in ecs.services], plan.deployment, clock)
        state = WorldState(env, seeded, clients, dynamics)
        engine = Engine(env, seeded, plan, clock, clients, state, dynamics)
        service = Service(engine)
        service_url = await service.start()
        await asyncio.to_thread(engine.start)
        target = out_dir / f"{Path(env_path).stem}.rehearsal.yaml"
        await asyncio.to_thread(write_seeded_env, Path(env_path), target, seeded, {
            "speed": speed, "real_epoch": real_epoch, "sim_epoch": clock.sim_epoch,
            "service_url": service_url, "endpoint_url": endpoint, "scenario": plan.name,
        })
    except BaseException:
        if engine is not None:
            engine.stop()
        if service is not None:
            await service.stop()
        moto.stop()
        raise
    return Running(endpoint, service_url, target, clock, seeded, engine, service, moto)
