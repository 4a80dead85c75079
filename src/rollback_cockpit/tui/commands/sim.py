"""``rollback-cockpit sim serve``: run the rehearsal world on its own.

It prints ``AWS_ENDPOINT_URL=...``, the seeded environment file and the
service URL (shell-friendly lines), then runs until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction, name: str) -> None:
    sim = sub.add_parser(name, help="the rehearsal world")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="ACTION", required=True)
    serve = sim_sub.add_parser("serve", help="run the rehearsal world until Ctrl-C / SIGTERM")
    # SUPPRESS: the same options given before the subcommand still count.
    serve.add_argument("--env", dest="env_file", type=Path, metavar="FILE", default=argparse.SUPPRESS,
                       help="the environment file to seed from (default: the shipped one)")
    serve.add_argument("--scenario", default=argparse.SUPPRESS, help="scenario name or YAML file (default bad-deploy)")
    serve.add_argument("--speed", type=float, default=argparse.SUPPRESS, help="clock speed-up (default 10)")
    serve.add_argument("--port", type=int, default=0, help="moto server port (default: a free one)")
    serve.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS,
                       help="where the seeded environment file and the world's log go")
    # Used by running_world: stop when the parent goes away (its pipe closes).
    serve.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os
    import tempfile

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    state_dir = getattr(args, "state_dir", None)
    if state_dir is not None:
        code = asyncio.run(_serve(args, Path(state_dir).expanduser()))
    else:
        with tempfile.TemporaryDirectory(prefix="rollback-world-") as tmp:
            code = asyncio.run(_serve(args, Path(tmp)))
    # Everything is stopped and cleaned up by now; tearing down moto's large heap at interpreter exit
    # takes seconds more (measured ~2 s) and the cockpit waits for them, so leave at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def _serve(args: argparse.Namespace, out_dir: Path) -> int:
    import asyncio
    import signal
    import threading

    from rollback_cockpit.simulate import server
    from rollback_cockpit.tui.context import shipped_environment

    env_file = getattr(args, "env_file", None) or shipped_environment()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.exit_with_parent:
        def watch() -> None:
            while sys.stdin.buffer.read(4096):
                pass
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    world = await server.start(
        Path(env_file), scenario=getattr(args, "scenario", None) or "bad-deploy",
        speed=float(getattr(args, "speed", None) or 10.0), port=args.port, out_dir=out_dir,
    )
    try:
        print(f"AWS_ENDPOINT_URL={world.endpoint_url}")
        print(f"ROLLBACK_COCKPIT_ENV={world.env_path}")
        print(f"SERVICE_URL={world.service_url}")
        print(f"# rehearsal world ready: scenario {world.engine.scenario.name} at {world.clock.speed:g}x, "
              f"seeded in {world.seeded.seconds:.1f} s; Ctrl-C stops it", flush=True)
        await stop.wait()
    finally:
        await world.stop()
    print("# rehearsal world stopped", flush=True)
    return 0
