"""Builds what every command needs from the command line: the composition root's core.

Here — and only here — the program decides whether it talks to AWS or to the
rehearsal world: the endpoint, the credentials and the clock differ, nothing
else. ``actions/`` and ``checks/`` receive the result and never ask.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rollback_cockpit.runbook.clock import Clock, ScaledClock

# The rehearsal world accepts any keys; these are not secrets.
REHEARSAL_KEYS = ("rehearsal", "rehearsal")


def shipped_environment() -> Path:
    """The environment file that ships with the package (the runbook's system).

    A plain path beside the package (importlib.resources would add ~20 ms to
    every command's start for a file that is always on disk here).
    """
    return Path(__file__).resolve().parent.parent / "environments" / "lightningtalk-prod.yaml"


# Options may be given before or after the subcommand. Subparsers use
# SUPPRESS defaults so that their own defaults do not overwrite a value given
# before the subcommand; the real defaults are set once, on the top parser.
TARGET_DEFAULTS = {
    "env_file": None,
    "simulate": False,
    "profile": None,
    "region": None,
    "scenario": "bad-deploy",
    "speed": 10.0,
    "state_dir": None,
}


def set_top_defaults(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(**TARGET_DEFAULTS)


def add_state_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="where journals, reports and the debug log go (default: $XDG_STATE_HOME/rollback-cockpit)",
    )


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """--simulate | --env FILE, and the AWS and rehearsal knobs."""
    keep = argparse.SUPPRESS
    target = parser.add_argument_group("target")
    target.add_argument("--env", dest="env_file", type=Path, metavar="FILE", default=keep, help="the environment file (YAML)")
    target.add_argument("--simulate", action="store_true", default=keep, help="run against a local rehearsal world, not AWS")
    target.add_argument("--profile", default=keep, help="AWS profile (default: the environment file's, then the standard chain)")
    target.add_argument("--region", default=keep, help="AWS region (default: the environment file's)")
    target.add_argument("--scenario", default=keep, help="rehearsal scenario (with --simulate; default bad-deploy)")
    target.add_argument(
        "--speed",
        type=float,
        default=keep,
        help=f"rehearsal clock speed-up (with --simulate; default {TARGET_DEFAULTS['speed']:g}x)",
    )


@dataclass
class Context:
    env: object  # runbook.environment.Environment (kept lazy for start-up)
    aws_settings: object  # aws.session.AwsSettings
    clock: Clock
    state_dir: Path
    debug_log: Path
    local_user: str
    simulate: bool


def state_dir_of(args: argparse.Namespace) -> Path:
    from rollback_cockpit.runbook.journal import default_state_dir

    return (getattr(args, "state_dir", None) or default_state_dir()).expanduser()


def local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "unknown")


@contextlib.contextmanager
def open_context(args: argparse.Namespace) -> Iterator[Context]:
    """Load the environment (starting the rehearsal world with --simulate)."""
    from rollback_cockpit import debuglog
    from rollback_cockpit.aws.session import AwsSettings
    from rollback_cockpit.runbook import environment

    state_dir = state_dir_of(args)
    debug_log = debuglog.setup(state_dir)
    if not args.simulate and args.env_file is None:
        raise UsageError("say where to roll back: --env FILE for an environment, or --simulate for a rehearsal")

    with contextlib.ExitStack() as stack:
        if args.simulate:
            from rollback_cockpit.simulate.world import running_world

            info = stack.enter_context(
                running_world(
                    env_path=args.env_file or shipped_environment(),
                    scenario=args.scenario,
                    speed=args.speed,
                    state_dir=state_dir,
                )
            )
            env_path = Path(info.env_path)
        else:
            env_path = args.env_file
        env = environment.load(env_path)
        if env.rehearsal is not None:
            r = env.rehearsal
            settings = AwsSettings(
                region=args.region or env.region,
                endpoint_url=r.endpoint_url,
                access_key_id=REHEARSAL_KEYS[0],
                secret_access_key=REHEARSAL_KEYS[1],
            )
            clock: Clock = ScaledClock(speed=r.speed, real_epoch=r.real_epoch, sim_epoch=r.sim_epoch)
        else:
            settings = AwsSettings.resolve(
                region=args.region or env.region,
                profile=args.profile or env.profile or os.environ.get("AWS_PROFILE"),
            )
            clock = Clock()
        yield Context(
            env=env,
            aws_settings=settings,
            clock=clock,
            state_dir=state_dir,
            debug_log=debug_log,
            local_user=local_user(),
            simulate=env.rehearsal is not None,
        )


def refuse_resume_in_a_new_world(args: argparse.Namespace) -> None:
    """--resume with --simulate would meet a freshly seeded world, not the interrupted one."""
    if getattr(args, "resume", None) and getattr(args, "simulate", False):
        raise UsageError(
            "--resume needs the world the run was in, and --simulate starts a new one: "
            "rehearse with `rollback-cockpit sim serve` and pass the environment file it prints as --env"
        )


def resume_command(env: object, run_id: str, *, cockpit: bool = False) -> str:
    """The exact command that continues ``run_id`` (printed and journaled when a run stops)."""
    source = getattr(env, "source", "") or "FILE"
    what = "rollback-cockpit" if cockpit else "rollback-cockpit run app"
    command = f"{what} --env {source} --resume {run_id}"
    if getattr(env, "rehearsal", None) is not None:
        # A --simulate world ends with its process; only a `sim serve` world is still there.
        command += " (a rehearsal resumes only while its world runs: use `rollback-cockpit sim serve`)"
    return command


class UsageError(Exception):
    """A command-line mistake: exit 2 with the message."""
