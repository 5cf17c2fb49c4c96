"""A soak: the gateway on Redis under a steady mixed load; does its memory stay flat?

    .venv/bin/python -m bench.soak                  # 10 minutes, 16 callers, 1 KiB states
    .venv/bin/python -m bench.soak --minutes 0.2    # a smoke run of 12 seconds

Starts a throwaway redis-server (``tests/harness``, no persistence), ``checkpoint-gateway
serve`` on it (metrics on, tracing off: ``bench.servers.Gateway``) and a load generator
(``bench.loadgen``) in a process of its own, which runs the ``mix`` workload: ``--concurrency``
tasks, each call one of save (appending to the task's own lineage), load, latest and list
(a page of 10) over a seeded set, with equal odds. The load runs in slices of
``--interval`` seconds, each bounded by time in the load generator itself; after every
slice the gateway's RSS (``/proc``), its CPU, Redis's RSS and the slice's ops/s are
printed as one row. At the end: the RSS at the end of the warm-up (``--warmup``, 30 s), at
the end, the highest, and the slope (MiB per minute, least squares over the samples after
the warm-up). A flat line is a slope near 0; what Redis holds grows with every save, the
gateway should not. JSON goes to ``--out`` (default ``bench/results/soak.json``).

Figures, not pass/fail: the slope of a short soak is dominated by allocator noise.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: bench/soak.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc

from bench import loadgen, procstat
from bench.report import size_label
from bench.run import Loader
from bench.servers import Gateway, Redis, scratch
from checkpoint_gateway.config import parse_size

MIB = 2**20
NO_CAP = 10**12  # the slices are bounded by time only


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, MiB)`` points, in MiB per minute."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    per_second = sum((t - mean_t) * (y - mean_y) for t, y in points) / spread
    return per_second * 60


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def _row(sample: dict[str, Any], warm: bool) -> str:
    ops = "-" if sample["ops_per_s"] is None else f"{sample['ops_per_s']:.0f}"
    cpu = "-" if sample["cpu_pct"] is None else f"{sample['cpu_pct']:.0f}"
    err = "-" if sample["errors"] is None else str(sample["errors"])
    note = "" if warm else "  (warm-up)"
    return (
        f"{_clock(sample['t_s']):>7}  {sample['rss_mib']:8.1f}  {ops:>7}  {cpu:>5}  "
        f"{err:>4}  {sample['redis_rss_mib']:9.1f}{note}"
    )


HEADER = f"{'time':>7}  {'RSS MiB':>8}  {'ops/s':>7}  {'cpu %':>5}  {'err':>4}  {'redis MiB':>9}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=(__doc__ or "").split("\n", 1)[0]
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="load time (10)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent callers (16)")
    parser.add_argument("--size", default="1KiB", help="state size (1KiB)")
    parser.add_argument(
        "--interval", type=float, help="seconds between samples (10, at most a sixth of the run)"
    )
    parser.add_argument(
        "--warmup", type=float, help="seconds before the start RSS (30, at most a quarter)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "soak.json"
    )
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.concurrency < 1:
        parser.error("--minutes and --concurrency must be positive")
    try:
        args.size = parse_size(args.size)
    except ValueError as exc:
        parser.error(str(exc))
    total = args.minutes * 60
    if args.interval is None:
        args.interval = min(10.0, total / 6)
    if args.warmup is None:
        args.warmup = min(30.0, total / 4)
    if args.interval <= 0 or not 0 <= args.warmup < total:
        parser.error("--interval must be positive and --warmup shorter than the run")
    return args


def soak(args: argparse.Namespace) -> dict[str, Any]:
    total = args.minutes * 60
    samples: list[dict[str, Any]] = []
    with scratch() as work:
        redis = Redis()
        try:
            gateway = Gateway(redis.url, cwd=work)
            try:
                loader = Loader(loadgen.Spec("grpc", gateway.target), args.size)
                try:
                    loader.call("seed")
                    print(
                        f"soak: gateway (pid {gateway.pid}) on Redis {redis.version}, "
                        f"{args.concurrency} callers, a mix of {', '.join(loadgen.MIX_OPS)}, "
                        f"{size_label(args.size)} states, {args.minutes:g} min "
                        f"(warm-up {args.warmup:g} s), a sample every {args.interval:g} s",
                        flush=True,
                    )
                    print(HEADER, flush=True)

                    def sample(t: float, result: dict[str, Any] | None, cpu: float) -> None:
                        rss = procstat.rss_bytes(gateway.pid)
                        if rss == 0:
                            raise RuntimeError("the gateway exited during the soak")
                        row: dict[str, Any] = {
                            "t_s": round(t, 2),
                            "rss_mib": round(rss / MIB, 2),
                            "redis_rss_mib": round(procstat.rss_bytes(redis.pid) / MIB, 2),
                            "ops_per_s": None,
                            "errors": None,
                            "cpu_pct": None,
                        }
                        if result is not None:
                            row["ops_per_s"] = round(result["ops_per_s"], 1)
                            row["requests"] = result["requests"]
                            row["elapsed_s"] = round(result["elapsed_s"], 3)
                            row["errors"] = result["errors"]
                            row["first_error"] = result["first_error"]
                            row["cpu_pct"] = round(cpu / result["elapsed_s"] * 100, 1)
                            row["by_op"] = result["by_op"]
                        samples.append(row)
                        print(_row(row, result is not None and t >= args.warmup), flush=True)

                    begin = time.monotonic()
                    sample(0.0, None, 0.0)
                    while (elapsed := time.monotonic() - begin) < total - 0.05:
                        meter = procstat.CpuMeter([gateway.pid])
                        meter.start()
                        seconds = min(args.interval, total - elapsed)
                        result = loader.call("run", "mix", args.concurrency, seconds, NO_CAP)
                        sample(time.monotonic() - begin, result, meter.stop())
                finally:
                    loader.close()
            finally:
                gateway.stop()
            versions = {"redis": redis.version}
        finally:
            redis.stop()

    loaded = [s for s in samples if s["ops_per_s"] is not None]
    warm = [s for s in loaded if s["t_s"] >= args.warmup] or loaded[-1:]
    load_seconds = sum(s["elapsed_s"] for s in loaded)
    summary = {
        "start_rss_mib": warm[0]["rss_mib"] if warm else None,
        "end_rss_mib": samples[-1]["rss_mib"],
        "max_rss_mib": max(s["rss_mib"] for s in samples),
        "slope_mib_per_min": (
            None
            if (slope := slope_per_minute([(s["t_s"], s["rss_mib"]) for s in warm])) is None
            else round(slope, 3)
        ),
        "slope_samples": len(warm),
        "mean_ops_per_s": (
            round(sum(s["requests"] for s in loaded) / load_seconds, 1) if load_seconds else None
        ),
        "errors": sum(s["errors"] for s in loaded),
    }
    return {
        "settings": {
            "minutes": args.minutes,
            "concurrency": args.concurrency,
            "state_bytes": args.size,
            "interval_s": args.interval,
            "warmup_s": args.warmup,
            "ops": list(loadgen.MIX_OPS),
            "list_limit": loadgen.LIST_LIMIT,
        },
        "versions": {"python": platform.python_version(), "grpcio": grpc.__version__, **versions},
        "samples": samples,
        "summary": summary,
    }


def _report(summary: dict[str, Any], warmup: float) -> str:
    def mib(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} MiB"

    slope = summary["slope_mib_per_min"]
    slope_text = "-" if slope is None else f"{slope:+.3f} MiB/min"
    return "\n".join(
        [
            f"start RSS (after the {warmup:g} s warm-up): {mib(summary['start_rss_mib'])}",
            f"end RSS:   {mib(summary['end_rss_mib'])}",
            f"max RSS:   {mib(summary['max_rss_mib'])}",
            f"slope:     {slope_text} (least squares over {summary['slope_samples']} samples "
            "after the warm-up)",
            f"mean load: {summary['mean_ops_per_s'] or 0:.0f} ops/s, {summary['errors']} errors",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    begin = time.monotonic()
    document = soak(args)
    print(_report(document["summary"], args.warmup))
    invocation = ["-m", "bench.soak", *sys.argv[1:]] if __package__ else sys.argv
    document = {
        "command": shlex.join([sys.executable, *invocation]),
        "started": started.isoformat(timespec="seconds"),
        "wall_seconds": round(time.monotonic() - begin, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        **document,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
