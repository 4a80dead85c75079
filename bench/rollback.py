"""1. Type A rollback of two ECS services, wait-for-stable included, four contenders interleaved."""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import world
from bench.measure import Samples, Section, Target, fmt_range, fmt_s, timed
from bench.server import LocalAws, request_counts

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


@dataclass
class Contender:
    key: str
    label: str
    cmd: list[str]
    how: str
    waits: bool = True


def contenders(env_path: Path, state_dir: Path) -> list[Contender]:
    cockpit = str(BIN / "rollback-cockpit")
    return [
        Contender(
            "aws-cli",
            "runbook procedure, aws CLI",
            ["bash", str(HERE / "scripts" / "runbook_aws_cli.sh")],
            "`bash bench/scripts/runbook_aws_cli.sh`: the runbook's app-rollback.sh as written (describe "
            "api-service, N-1 for both, two `aws ecs update-service --force-new-deployment`) followed by "
            "`aws ecs wait services-stable --services api-service websocket-service`: 4 `aws` processes",
        ),
        Contender(
            "ecs-deploy",
            "ecs-deploy (no wait)",
            ["bash", str(HERE / "scripts" / "ecs_deploy_rollback.sh")],
            "`ecs deploy lightningtalk-prod <service> --task <family>:2 --timeout -1 --no-diff`, once per "
            "service (`bash bench/scripts/ecs_deploy_rollback.sh`), defaults otherwise. With `--task` it registers "
            "a copy of revision 2 as revision 4, deploys that, and (default `--deregister`) deregisters the revision "
            "it was given — the known-good 2 — while the bad 3 stays ACTIVE: afterwards the newest ACTIVE revision "
            "older than the live one is the bad one, so a later \"previous revision\" rollback would go back to it. "
            "`--timeout -1` because its wait counts RUNNING tasks of the new revision via ListTasks/DescribeTasks "
            "and moto starts no tasks for a service: it could never end here; so this contender does not wait",
            waits=False,
        ),
        Contender(
            "boto3-min",
            "minimal boto3 script (floor)",
            [sys.executable, str(HERE / "scripts" / "minimal_boto3.py")],
            "`python bench/scripts/minimal_boto3.py`: DescribeServices, ListTaskDefinitions ×2 (previous ACTIVE "
            "revision), UpdateService ×2, the services_stable waiter (1 s delay)",
        ),
        Contender(
            "cockpit",
            "rollback-cockpit run app",
            [
                cockpit, "run", "app",
                "--env", str(env_path),
                "--confirm", world.ENV_NAME,
                "--no-validate",
                "--state-dir", str(state_dir),
            ],
            f"`rollback-cockpit run app --env {env_path.relative_to(HERE.parent)} --confirm {world.ENV_NAME} "
            "--no-validate --state-dir <tmp>`: plans (reads both services and their ACTIVE revisions, diffs "
            "the task definitions), journals every event, updates and tags both services concurrently, waits "
            "for both to be stable, writes the Markdown report",
        ),
    ]


def run_contender_once(
    aws: LocalAws, c: Contender, env: dict[str, str], calls: dict[str, dict[str, int]] | None = None
) -> tuple[float | None, str, world.Verdict | None]:
    aws.reset()
    world.seed_ecs(aws)
    request_counts(aws.url)  # start counting from here: the seeding's requests are not the contender's
    run = timed(c.cmd, env, cwd=HERE.parent, timeout=180)
    if calls is not None:
        calls[c.key] = request_counts(aws.url)
    if run.returncode != 0:
        tail = (run.stderr.strip() or run.stdout.strip()).splitlines()[-3:]
        return None, f"exit {run.returncode}: {' | '.join(tail)}", None
    verdict = world.check_rolled_back(aws)
    if not verdict.ok:
        return None, f"wrong result: {verdict.detail}", verdict
    return run.seconds, "", verdict


def bench_rollback(aws: LocalAws, rounds: int, only_available: bool = True) -> Section:
    sec = Section("rollback", "1. Type A rollback of two ECS services (wait-for-stable included)")
    env_path = world.env_file()
    state_dir = Path(tempfile.mkdtemp(prefix="bench-state-"))
    try:
        cs = contenders(env_path, state_dir)
        env = aws.client_env()
        env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
        missing = {c.key: _missing(c) for c in cs}
        active = [c for c in cs if not missing[c.key]]
        samples = {c.key: Samples(c.key) for c in cs}
        verdicts: dict[str, world.Verdict] = {}
        calls: dict[str, dict[str, int]] = {}
        # One untimed warm-up each: the first run of a process pays for .pyc
        # writing and a cold page cache that no incident run would see twice.
        for c in active:
            run_contender_once(aws, c, env)
        for _ in range(rounds):
            for c in active:
                seconds, failure, verdict = run_contender_once(aws, c, env, calls)
                if verdict is not None:
                    verdicts[c.key] = verdict
                if seconds is None:
                    samples[c.key].failures.append(failure)
                else:
                    samples[c.key].values.append(seconds)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)

    sec.how += [
        f"Before every timed run: `POST /moto-api/reset`, then the same world seeded with boto3 (cluster "
        f"{world.CLUSTER}; services api-service / websocket-service on revision 3 of lightningtalk-prod-api / "
        "lightningtalk-prod-websocket, revisions 1..3 registered, desiredCount 2). Seeding is outside the timing.",
        f"{rounds} rounds, contenders interleaved in the order below in every round, after one untimed warm-up "
        "run each. Time = wall time of the whole process (`time.perf_counter()` around `subprocess.run`).",
        "After every run: both services must be on revision 2 (or, for ecs-deploy, a new revision whose image "
        "is revision 2's); a run that fails or ends elsewhere is not timed and is listed.",
        "Making the wait end on moto: the server runs with `MOTO_ECS_SERVICE_RUNNING=2` (moto then reports "
        "runningCount 2 = desiredCount 2 and one deployment for every service it creates), and a bench-only patch "
        "(`bench/server.py` `finish_rollouts`) puts the PRIMARY deployment on the new revision's ARN, COMPLETED, "
        "when UpdateService changes the task definition — moto 5.2.5 leaves it on the old revision, which the "
        "cockpit's WaitStable (rightly, on AWS) refuses to call stable. So `aws ecs wait services-stable`, the "
        "boto3 waiter and the cockpit's WaitStable all see a stable service on their first poll: the wait costs "
        "one DescribeServices round trip here; on AWS it is dominated by the real rollout (minutes), the same for "
        "every contender.",
    ]
    rows = []
    for c in cs:
        s = samples[c.key]
        note = f"not measured: {missing[c.key]}" if missing[c.key] else ""
        if s.failures:
            note = f"{len(s.failures)} failed run(s): {s.failures[0]}"
        v = verdicts.get(c.key)
        n_calls = calls.get(c.key)
        rows.append([
            c.label,
            fmt_s(s.median),
            fmt_range(s),
            str(sum(n_calls.values())) if n_calls else "—",
            f"{len(s.values)}/{rounds}" if not missing[c.key] else "0",
            "yes" if c.waits else "no (see below)",
            (v.detail if v else "—"),
            (v.side_effects if v else "—"),
            note,
        ])
    sec.table(
        ["contender", "median", "min–max", "AWS requests", "ok runs", "waits for stable", "state after", "side effects", "notes"], rows
    )
    sec.how += [f"**{c.label}**: {c.how}." for c in cs]
    sec.how.append("AWS requests: counted by the bench's server (a WSGI counter in front of moto) during the last "
                   "timed run of each contender: " + "; ".join(
                       f"{k}: " + ", ".join(f"{op} {n}" for op, n in sorted(v.items())) for k, v in calls.items()))
    sec.data = {k: {"values": s.values, "failures": s.failures, "missing": missing[k], "requests": calls.get(k)}
                for k, s in samples.items()}

    floor, cli, mine = samples["boto3-min"].median, samples["aws-cli"].median, samples["cockpit"].median
    if mine is None:
        reason = missing["cockpit"] or (samples["cockpit"].failures[:1] or ["no successful run"])[0]
        sec.not_measured("run app vs minimal boto3", "≤ 2× floor", reason)
        sec.not_measured("run app vs aws-CLI procedure", "≥ 3× faster", reason)
    else:
        if floor:
            ratio = mine / floor
            sec.targets.append(Target(
                "run app vs minimal boto3", "≤ 2.0× the floor", f"{ratio:.2f}× ({fmt_s(mine)} vs {fmt_s(floor)})",
                ratio <= 2.0, "" if ratio <= 2.0 else f"{mine - 2 * floor:.3f} s over 2× the floor — {_why_slow()}",
            ))
        if cli:
            speedup = cli / mine
            sec.targets.append(Target(
                "run app vs aws-CLI procedure", "≥ 3.0× faster", f"{speedup:.2f}× faster ({fmt_s(mine)} vs {fmt_s(cli)})",
                speedup >= 3.0, "" if speedup >= 3.0 else f"needs {mine - cli / 3:.3f} s less — {_why_slow()}",
            ))
    return sec


def _why_slow() -> str:
    return "see 'where the time goes' in section 1"


def explain_gap(rollback: Section, startup: Section | None) -> None:
    """A note splitting run app's distance from the floor into imports and the rest (from measured figures)."""
    import statistics

    d = rollback.data
    mine, floor = d.get("cockpit", {}).get("values"), d.get("boto3-min", {}).get("values")
    if not mine or not floor:
        return
    m, f = statistics.median(mine), statistics.median(floor)
    reqs = {k: d.get(k, {}).get("requests") or {} for k in ("cockpit", "boto3-min")}
    extra = {op: n - reqs["boto3-min"].get(op, 0) for op, n in reqs["cockpit"].items()
             if n > reqs["boto3-min"].get(op, 0)}
    text = (f"Where the time goes: run app {m:.3f} s against the floor's {f:.3f} s (+{m - f:.3f} s). ")
    probes = (startup.data.get("probes") if startup else None) or {}
    ic = probes.get("python -c 'import <everything run app imports>'")
    ib = probes.get("python -c 'import boto3' (the floor script's imports)")
    if ic and ib:
        mc, mb = statistics.median(ic), statistics.median(ib)
        text += (f"Starting Python and importing what run app needs (aiobotocore with aiohttp, the cockpit's "
                 f"modules) takes {mc:.3f} s against {mb:.3f} s for the floor script's boto3 (+{mc - mb:.3f} s, "
                 f"section 2a); the remaining {m - f - (mc - mb):.3f} s is work the floor does not do: ")
    else:
        text += "(run the startup benchmark too for the import share) Work the floor does not do: "
    reasons = ["the environment lock in SSM", "the caller's identity",
               "the task-definition diff shown before changing anything", "the rolled-back-from tags"]
    if extra.get("ListTaskDefinitions"):
        reasons.insert(2, "the plan read a second time just before executing")
    text += (f"{sum(reqs['cockpit'].values())} AWS requests against {sum(reqs['boto3-min'].values())} "
             f"(extra: {', '.join(f'{op} +{n}' for op, n in sorted(extra.items())) or 'none'} — "
             f"{', '.join(reasons)}), a client per service (ECS, SSM, STS), a journal that is flushed to disk "
             "before every event is shown, and the Markdown report.")
    rollback.notes.append(text)


def _missing(c: Contender) -> str:
    exe = c.cmd[0]
    if exe == "bash":
        script = Path(c.cmd[1]).read_text()
        tool = "aws" if "aws ecs" in script else "ecs"
        if not (BIN / tool).exists() and not shutil.which(tool):
            return f"`{tool}` is not installed (pip install -r bench/requirements.txt)"
        return ""
    if not Path(exe).exists():
        return f"{exe} not found"
    if c.key == "cockpit":
        from rollback_cockpit.tui import cli

        if "run" not in cli.COMMANDS:
            return "`rollback-cockpit run` is not registered yet (tui/commands/run.py)"
    return ""
