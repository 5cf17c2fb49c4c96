"""What authentication costs per call: saves/s, p50 and gateway CPU per call with it off,
with a bearer token from the principals file, and with a JWT, in one run.

Figures, not pass/fail. Each run starts a fresh gateway (the CLI as a subprocess, on the
memory backend so that the gateway itself is what is measured) and makes the same saves
from ``--concurrency`` tasks; the three modes take turns over ``--runs`` rounds, so that
a drift of the machine weighs on each alike. Printed: every run, the median of each mode,
and each mode's ratio to "off". With authentication on, every call also passes the
tenant layer (ids prefixed and unprefixed), so the cost shown is the whole of it.

    .venv/bin/python -m bench.auth_overhead [--saves 5000] [--concurrency 16] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: bench/auth_overhead.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import procstat
from checkpoint_client import AsyncCheckpointClient, Checkpoint
from checkpoint_gateway.auth import hash_token
from tests.auth.harness import Keys
from tests.gateway_process import GatewayProcess

STATE = {"messages": ["hello"] * 20, "step": 1}
TOKEN = "cpg_bench_token_0123456789abcdefghijklmnopqrstuvwxyz"
MODES = ("off", "token", "jwt")


async def _drive(
    target: str, token: str | None, saves: int, concurrency: int
) -> tuple[float, float]:
    latencies: list[float] = []
    prefix = uuid.uuid4().hex[:8]
    async with AsyncCheckpointClient(target, token=token, service_config=None) as client:
        for i in range(50):  # warm-up: connections, key caches
            await client.save(Checkpoint(f"{prefix}-warm-{i}", STATE))

        async def worker(w: int) -> None:
            for i in range(saves // concurrency):
                start = time.perf_counter()
                await client.save(Checkpoint(f"{prefix}-{w}-{i % 10}", STATE))
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, statistics.median(latencies) * 1000


def run_once(mode: str, work: Path, keys: Keys, saves: int, concurrency: int) -> dict[str, Any]:
    args = ["--listen", "127.0.0.1:0", "--backend", "memory://", "--metrics-listen", "off"]
    token: str | None = None
    if mode != "off":
        principals = work / "principals.yaml"
        principals.write_text(
            json.dumps(
                {
                    "principals": [
                        {
                            "name": "bench",
                            "tenant": "team-a",
                            "roles": ["read", "write"],
                            "tokens": [hash_token(TOKEN)],
                        }
                    ]
                }
            )
        )
        args += ["--auth-principals-file", str(principals), "--limit-in-flight", "off"]
        token = TOKEN
    if mode == "jwt":
        args += [
            "--jwt-jwks-file",
            str(keys.jwks_file),
            "--jwt-issuer",
            keys.issuer,
            "--jwt-audience",
            keys.audience,
        ]
        token = keys.token(exp=int(time.time()) + 3600)
    gateway = GatewayProcess(args, cwd=work)
    try:
        gateway.wait_listening(timeout=60)
        cpu_before = procstat.cpu_seconds(gateway.proc.pid)
        rate, p50 = asyncio.run(_drive(gateway.target, token, saves, concurrency))
        cpu = procstat.cpu_seconds(gateway.proc.pid) - cpu_before
    finally:
        gateway.stop()
    return {
        "mode": mode,
        "saves_per_s": round(rate),
        "p50_ms": round(p50, 3),
        "gateway_cpu_us_per_call": round(cpu / (saves + 50) * 1e6),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.auth_overhead")
    parser.add_argument("--saves", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results/auth_overhead.json"))
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cp-bench-auth-") as tmp:
        work = Path(tmp)
        keys = Keys.make(work)
        for round_ in range(args.runs):
            order = MODES if round_ % 2 == 0 else MODES[::-1]
            for mode in order:
                row = run_once(mode, work, keys, args.saves, args.concurrency)
                print(json.dumps(row))
                rows.append(row)
    summary = {}
    for mode in MODES:
        mine = [r for r in rows if r["mode"] == mode]
        summary[mode] = {
            key: statistics.median(r[key] for r in mine)
            for key in ("saves_per_s", "p50_ms", "gateway_cpu_us_per_call")
        }
    for mode in MODES:
        s = summary[mode]
        ratio = s["saves_per_s"] / summary["off"]["saves_per_s"]
        print(
            f"{mode:>5}: {s['saves_per_s']:.0f} saves/s ({ratio:.2f}x off), "
            f"p50 {s['p50_ms']:.3f} ms, gateway CPU {s['gateway_cpu_us_per_call']:.0f} µs/call"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"runs": rows, "median": summary}, indent=2))


if __name__ == "__main__":
    main()
