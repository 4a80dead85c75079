"""`python -m bench [--rounds N] [--only NAME]… [--quick] [--output PATH]`."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import traceback
from pathlib import Path

from bench.measure import Section

BENCHES = ("rollback", "startup", "frame", "metrics", "logs", "terminal")
DEFAULT_OUTPUT = Path(__file__).with_name("RESULTS.md")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--rounds", type=int, default=None,
                   help="timed rounds of the interleaved process benchmarks (default 10; 2 with --quick)")
    p.add_argument("--only", action="append", choices=BENCHES, metavar="NAME",
                   help=f"run only this benchmark; repeatable ({', '.join(BENCHES)})")
    p.add_argument("--quick", action="store_true", help="small sizes and few rounds: a smoke run, not a measurement")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                   help="where the Markdown goes (a .json twin is written beside it; default bench/RESULTS.md)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    rounds = args.rounds or (2 if args.quick else 10)
    chosen = [b for b in BENCHES if not args.only or b in args.only]
    from bench import report

    started = time.time()
    info = report.machine()
    sections: list[Section] = []
    failed = False

    def attempt(name: str, fn) -> None:
        nonlocal failed
        print(f"[bench] {name}…", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            sections.append(fn())
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            failed = True
            traceback.print_exc()
            sec = Section(name, f"{name}: failed")
            sec.notes.append(f"not measured: the benchmark raised {type(exc).__name__}: {exc}")
            sections.append(sec)
        print(f"[bench] {name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)

    needs_aws = {"rollback", "metrics", "logs"} & set(chosen)
    if needs_aws:
        from bench.server import local_aws

        log = Path(__file__).with_name(".work") / "moto.log"
        log.parent.mkdir(exist_ok=True)
        with local_aws(log) as aws:
            if "rollback" in chosen:
                from bench.rollback import bench_rollback

                attempt("rollback", lambda: bench_rollback(aws, rounds))
            if "metrics" in chosen:
                from bench.metrics_refresh import bench_metrics

                sizes = [2, 20] if args.quick else [2, 20, 200]
                attempt("metrics", lambda: bench_metrics(aws, sizes, 1 if args.quick else 5,
                                                         boundary=() if args.quick else (495, 496)))
            if "logs" in chosen:
                from bench.logcount import bench_logs

                attempt("logs", lambda: bench_logs(aws, [10_000] if args.quick else [100_000, 1_000_000]))
    if "startup" in chosen:
        from bench.startup import bench_startup

        attempt("startup", lambda: bench_startup(rounds))
    if "frame" in chosen:
        from bench.startup import bench_frame

        attempt("frame", lambda: bench_frame(2 if args.quick else rounds, 0 if args.quick else 3))
    if "terminal" in chosen:
        from bench.terminal import bench_terminal

        attempt("terminal", lambda: bench_terminal(5 if args.quick else 30))

    by_key = {s.key: s for s in sections}
    if "rollback" in by_key:
        from bench.rollback import explain_gap

        explain_gap(by_key["rollback"], by_key.get("startup"))
    order = {k: i for i, k in enumerate(BENCHES)}
    sections.sort(key=lambda s: order.get(s.key, 99))
    command = "python -m bench" + ("".join(f" {shlex.quote(a)}" for a in argv) if argv else "")
    report.write(args.output, sections, info, command, started)
    print(f"[bench] wrote {args.output} and {args.output.with_suffix('.json')}", file=sys.stderr)
    return 1 if failed else 0
