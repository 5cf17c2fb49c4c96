"""Export and import throughput, SQLite -> PostgreSQL, as an operator runs them.

    python -m bench.export_import [--checkpoints 20000] [--executions 100]
                                  [--state-bytes 1024] [--postgres-url URL]

Seeds a SQLite file with lineages of checkpoints (JSON states of about ``--state-bytes``,
a pending write on every tenth), then times the CLI as subprocesses:
``checkpoint-gateway export FILE --backend sqlite:///...`` and ``checkpoint-gateway
import FILE --backend postgresql://...`` (which reads every checkpoint back to verify
it), and ``copy-store`` (export, import, verification and the second export of the
target, in one process). Reports checkpoints/s and MB/s of the export file. PostgreSQL
is a throwaway server (the test harness's) unless ``--postgres-url`` names one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

from checkpoint_client import Checkpoint, PendingWrite
from checkpoint_gateway.backends import open_backend
from tests.gateway_process import CLI, clean_env

from .servers import Postgres, scratch


async def seed(url: str, checkpoints: int, executions: int, state_bytes: int) -> None:
    """``checkpoints`` checkpoints in ``executions`` lineages, saved in batches."""
    store = await open_backend(url)
    try:
        per = max(1, checkpoints // executions)
        batch: list[Checkpoint] = []
        for e in range(executions):
            eid = f"thread-{e:05d}"
            parent = ""
            for i in range(per):
                cid = f"{eid}-{i:07d}"
                batch.append(
                    Checkpoint(
                        eid,
                        {"step": i, "messages": ["x" * (state_bytes // 4)] * 4},
                        checkpoint_id=cid,
                        parent_id=parent,
                        node="agent",
                        next_nodes=["tools"],
                        metadata={"source": "loop", "step": i},
                    )
                )
                parent = cid
                if len(batch) == 500:
                    await store.save_many(batch)
                    batch = []
            if batch:
                await store.save_many(batch)
                batch = []
            for i in range(0, per, 10):
                await store.put_writes(
                    eid, f"{eid}-{i:07d}", [PendingWrite("task", 0, "messages", {"i": i})]
                )
    finally:
        await store.close()


def timed(*args: str) -> tuple[float, dict[str, Any]]:
    """Run the CLI with ``--output json``; (seconds, its JSON)."""
    start = time.perf_counter()
    done = subprocess.run(
        [*CLI, *args, "--output", "json"],
        env=clean_env(),
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:2])} failed: {done.stderr.decode()}")
    return elapsed, json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export_import", description=__doc__)
    parser.add_argument("--checkpoints", type=int, default=20_000)
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--state-bytes", type=int, default=1024)
    parser.add_argument("--postgres-url", help="an existing server (default: a throwaway one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    server = None if args.postgres_url else Postgres()
    pg_url = args.postgres_url or (server.url if server else "")
    figures: dict[str, Any] = {}
    try:
        with scratch() as tmp:
            sqlite = f"sqlite:///{tmp / 'source.db'}"
            start = time.perf_counter()
            asyncio.run(seed(sqlite, args.checkpoints, args.executions, args.state_bytes))
            figures["seed_seconds"] = round(time.perf_counter() - start, 2)
            export = tmp / "export.jsonl"
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            target = [pg_url, "--backend-setting", f"postgres-schema={schema}"]
            export_s, manifest = timed("export", str(export), "--backend", sqlite)
            import_s, report = timed("import", str(export), "--backend", *target)
            copy_s, copied = timed(
                "copy-store",
                "--from",
                sqlite,
                "--to",
                pg_url,
                "--to-setting",
                f"postgres-schema={schema}_copy",
            )
            size = export.stat().st_size
            n = manifest["checkpoints"]
            if report["verified"] != n or not copied["same"]:
                sys.exit(f"not verified: {report} {copied}")
            figures.update(
                checkpoints=n,
                executions=manifest["executions"],
                file_mb=round(size / 1e6, 2),
                cpus=os.cpu_count(),
                load_average=os.getloadavg()[0],
            )
            for name, seconds in (("export", export_s), ("import", import_s), ("copy", copy_s)):
                figures[name] = {
                    "seconds": round(seconds, 2),
                    "checkpoints_per_s": round(n / seconds),
                    "mb_per_s": round(size / 1e6 / seconds, 2),
                }
    finally:
        if server is not None:
            server.stop()
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"{figures['checkpoints']} checkpoints in {figures['executions']} executions, "
        f"export file {figures['file_mb']} MB; {figures['cpus']} CPUs, "
        f"load average {figures['load_average']:.1f} at the end"
    )
    for name, label in (
        ("export", "export  sqlite -> file      "),
        ("import", "import  file -> postgresql  "),
        ("copy", "copy-store sqlite -> pg     "),
    ):
        f = figures[name]
        print(
            f"{label}{f['seconds']:7.2f} s  {f['checkpoints_per_s']:8,} checkpoints/s  "
            f"{f['mb_per_s']:6.2f} MB/s"
        )
    print("(import and copy-store include reading every checkpoint back to verify it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
