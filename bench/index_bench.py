"""Benchmark: what computing the national index adds to a quarter's audit.

    .venv/bin/python bench/index_bench.py --before TREE --after TREE --config PATH [--config PATH ...]
                                          [--from 2026-07-01 --to 2026-09-30] [--rounds 3]
    .venv/bin/python bench/index_bench.py --share --config PATH [--config PATH ...] [--rounds 3]

`--before` and `--after` are two checkouts of the monitor (e.g. `git archive <commit> | tar -x -C
/tmp/before`: the tree before the index, and this one); each config names a filled store (see
bench/audit_bench.py; schema 0007 is enough: the audit adds no table). For each config, the
quarter's `motcua audit --format json --output …` runs as a separate process from each tree in
turns (before, after, before, after, ...), `--rounds` times, timed from start to exit, with the
process's CPU time (user + system: on SQLite all of the work; on PostgreSQL the server's share is
not in it). The best of each counts: on a shared machine a run can be a third slower than the
next. Prints one line per run and a summary; the goal is at most 20% more.

`--share` measures inside one process instead, with this tree: the quarter's audit (run_audit and
the JSON written to /dev/null) `--rounds` times, and within it the index's own steps (the counts
and the points, rules.index.compute), wall and CPU time. On a machine whose load changes from one
minute to the next, the index's share of the same run is steadier than two runs set side by side.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(tree: Path, config: Path, period: tuple[str, str], output: Path) -> tuple[float, float]:
    """(wall, cpu) seconds of one audit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "monitor", "audit", "--config", str(config), "--format", "json",
                    "--output", str(output), "--from", period[0], "--to", period[1]],
                   cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def share(config: Path, period: tuple[str, str], rounds: int) -> None:
    from datetime import date

    from monitor.clock import now_local
    from monitor.config import load_settings
    from monitor.db import make_engine
    from reports.audit_output import write_json
    from rules import audit, index
    from rules.sql import end_of

    settings = load_settings(config)
    engine = make_engine(settings.database_url)
    spent: list[tuple[float, float]] = []
    compute = index.compute

    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return compute(*args, **kwargs)
        finally:
            spent.append((time.perf_counter() - wall, time.process_time() - cpu))
    index.compute = timed
    first, last = date.fromisoformat(period[0]), date.fromisoformat(period[1])
    for round_ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        result = audit.run_audit(engine, settings, as_of=end_of(last), now=now_local(), period=(first, last))
        with open(os.devnull, "w", encoding="utf-8") as out:
            write_json(result, out)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        index_wall, index_cpu = spent[-1]
        print(f"{config.name} round {round_ + 1}: audit {wall:.2f} s wall, {cpu:.2f} s cpu; of which the index "
              f"{index_wall:.2f} s wall ({index_wall / (wall - index_wall):+.1%} on the rest), {index_cpu:.2f} s cpu "
              f"({index_cpu / (cpu - index_cpu):+.1%})", flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path)
    parser.add_argument("--after", type=Path)
    parser.add_argument("--share", action="store_true", help="the index's share of one in-process audit")
    parser.add_argument("--config", type=Path, action="append", required=True)
    parser.add_argument("--from", dest="date_from", default="2026-07-01")
    parser.add_argument("--to", dest="date_to", default="2026-09-30")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    period = (args.date_from, args.date_to)
    if args.share:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        for config in args.config:
            share(config, period, args.rounds)
        return
    if args.before is None or args.after is None:
        parser.error("--before and --after are needed, unless --share")
    with tempfile.TemporaryDirectory() as folder:
        for config in args.config:
            times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
            for round_ in range(args.rounds):
                for name, tree in (("before", args.before), ("after", args.after)):
                    wall, cpu = run(tree.resolve(), config.resolve(), period, Path(folder) / f"{name}.json")
                    times[name].append((wall, cpu))
                    print(f"{config.name} round {round_ + 1} {name}: {wall:.2f} s wall, {cpu:.2f} s cpu", flush=True)
            best = {name: (min(w for w, _ in runs), min(c for _, c in runs)) for name, runs in times.items()}
            (wall_before, cpu_before), (wall_after, cpu_after) = best["before"], best["after"]
            print(f"{config.name}: best wall {wall_before:.2f} → {wall_after:.2f} s "
                  f"({(wall_after / wall_before - 1):+.1%}), best cpu {cpu_before:.2f} → {cpu_after:.2f} s "
                  f"({(cpu_after / cpu_before - 1):+.1%})", flush=True)


if __name__ == "__main__":
    main()
