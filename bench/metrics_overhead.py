"""What metrics cost on the hot path: saves/s and p50 with metrics on vs off.

Two measurements, figures not pass/fail:

1. Through a real gateway (the CLI as a subprocess, memory backend, so the gateway itself
   is what is measured): the same saves with ``--metrics-listen 127.0.0.1:0`` and with
   ``--metrics-listen off``, alternating runs, the median of each.
2. In process, the store chain alone (``chain.build`` with and without ``Metrics``): the
   time one save spends in the two instrumented layers, without gRPC around it.

    .venv/bin/python bench/metrics_overhead.py [--saves 3000] [--concurrency 8] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkpoint_client import AsyncCheckpointClient, Checkpoint
from checkpoint_gateway import chain
from checkpoint_gateway.backends import MemoryStore
from checkpoint_gateway.config import Settings
from checkpoint_gateway.metrics import Metrics
from tests.gateway_process import GatewayProcess

STATE = {"messages": ["hello"] * 20, "step": 1}


async def _drive(target: str, saves: int, concurrency: int) -> tuple[float, float]:
    """(saves per second, p50 latency in ms) of ``saves`` saves from ``concurrency`` tasks."""
    latencies: list[float] = []
    async with AsyncCheckpointClient(target, service_config=None) as client:
        for i in range(50):  # warm-up: connections, caches, first-label-lookups
            await client.save(Checkpoint(f"warm-{i}", STATE))

        async def worker(w: int) -> None:
            for i in range(saves // concurrency):
                start = time.perf_counter()
                await client.save(Checkpoint(f"exec-{w}-{i % 10}", STATE))
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, statistics.median(latencies) * 1000


def through_gateway(
    saves: int, concurrency: int, runs: int
) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            for mode, listen in (("on", "127.0.0.1:0"), ("off", "off")):
                args = ["--listen", "127.0.0.1:0", "--backend", "memory://"]
                gw = GatewayProcess([*args, "--metrics-listen", listen], cwd=Path(tmp))
                try:
                    gw.wait_listening()
                    results[mode].append(asyncio.run(_drive(gw.target, saves, concurrency)))
                finally:
                    gw.stop()
    return results


async def in_process(saves: int) -> dict[str, float]:
    """Microseconds per save through the chain, metrics on vs off."""
    per_save: dict[str, float] = {}
    for mode in ("off", "on", "off", "on"):
        metrics = Metrics(process=False) if mode == "on" else None
        store = chain.build(MemoryStore(), Settings(), metrics=metrics)
        for i in range(200):
            await store.save(Checkpoint(f"warm-{i}", STATE))
        start = time.perf_counter()
        for i in range(saves):
            await store.save(Checkpoint(f"exec-{i % 50}", STATE))
        us = (time.perf_counter() - start) / saves * 1e6
        per_save[mode] = min(per_save.get(mode, us), us)
        await store.close()
    return per_save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    print(f"through a gateway: {args.saves} saves, {args.concurrency} concurrent, memory backend")
    results = through_gateway(args.saves, args.concurrency, args.runs)
    # Medians over alternating runs: on a shared machine single runs swing by tens of
    # percent, more than metrics could cost.
    median = {
        mode: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        for mode, runs in results.items()
    }
    for mode in ("off", "on"):
        runs = ", ".join(f"{rate:.0f}/s" for rate, _ in results[mode])
        rate, p50 = median[mode]
        print(f"  metrics {mode:3}: median {rate:7.0f} saves/s, p50 {p50:.3f} ms  (runs: {runs})")
    cost = 1 - median["on"][0] / median["off"][0]
    print(f"  throughput cost of metrics (medians): {cost * 100:.1f}%")

    per_save = asyncio.run(in_process(args.saves * 5))
    print("in process, the store chain alone (memory backend):")
    print(f"  metrics off: {per_save['off']:.1f} us/save")
    print(f"  metrics on:  {per_save['on']:.1f} us/save")
    print(f"  metrics add: {per_save['on'] - per_save['off']:.1f} us/save")


if __name__ == "__main__":
    main()
