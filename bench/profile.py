"""Where the gateway's CPU goes: py-spy attached to a real gateway under the bench's load.

    .venv/bin/python -m bench.profile --backend redis              # save, 1 KiB, 64 callers
    .venv/bin/python -m bench.profile --backend postgresql --seconds 15 --op save

Starts the backend (a throwaway server from the test harness), ``checkpoint-gateway
serve`` on it, and a load generator (``bench.loadgen``) in its own process, then records
the gateway with ``py-spy record --format raw`` (collapsed stacks, sampled at 200 Hz,
GIL-holding samples only when ``--gil``) while the load runs. Prints the functions with
the most samples on top of the stack (self) and anywhere on it (inclusive), as shares of
all samples, and writes the raw stacks next to ``--out`` for a flame graph
(``py-spy``'s own format, readable by speedscope and inferno).

Needs py-spy (``pip install py-spy``) and the permission to ptrace the gateway (root,
or ``kernel.yama.ptrace_scope=0``).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import loadgen
from bench.run import Loader
from bench.servers import Gateway, Postgres, Redis, scratch
from checkpoint_gateway.config import parse_size

RATE = 200  # samples per second


def _frame_name(frame: str) -> str:
    """``func (path/to/module.py:123)`` -> ``func (module.py)``: lines differ per sample."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if len(parts) > 1 else path
    return f"{name} ({short})"


def summarize(raw: str, top: int) -> str:
    """The top functions by self and inclusive samples, from py-spy's raw output."""
    self_count: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";")[1:]]  # [0] is the thread
        if not frames:
            continue
        total += count
        self_count[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if total == 0:
        return "no samples"
    lines = [f"{total} samples"]
    for title, counter in (("self", self_count), ("inclusive", inclusive)):
        lines.append(f"\ntop {top} by {title}:")
        for name, count in counter.most_common(top):
            lines.append(f"  {100 * count / total:5.1f}%  {name}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--backend", default="redis", choices=("memory", "postgresql", "redis"))
    parser.add_argument("--op", default="save", choices=loadgen.OPS)
    parser.add_argument("--size", default="1KiB")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    parser.add_argument("--native", action="store_true", help="include C frames (slower)")
    parser.add_argument("--gateway-arg", action="append", default=[], help="extra serve flag")
    parser.add_argument("--out", type=Path, default=Path("bench/results/profile.txt"))
    args = parser.parse_args(argv)
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        parser.error("py-spy is not installed: pip install py-spy")
    size = parse_size(args.size)
    with scratch() as work:
        database: Postgres | Redis | None = None
        if args.backend == "postgresql":
            database = Postgres()
            url = database.url
        elif args.backend == "redis":
            database = Redis()
            url = database.url
        else:
            url = "memory://"
        try:
            gateway = Gateway(url, cwd=work, extra=args.gateway_arg)
            try:
                loader = Loader(loadgen.Spec("grpc", gateway.target), size)
                try:
                    loader.call("run", args.op, args.concurrency, 1.0, 10**9)  # warm-up
                    raw_path = args.out.with_suffix(".raw")
                    raw_path.parent.mkdir(parents=True, exist_ok=True)
                    command = [pyspy, "record", "--pid", str(gateway.pid), "--rate", str(RATE)]
                    command += ["--duration", str(int(args.seconds)), "--format", "raw"]
                    command += ["--output", str(raw_path)]
                    if args.gil:
                        command.append("--gil")
                    # Native unwinding needs the process paused per sample; plain
                    # sampling does not, so it leaves the gateway's speed alone.
                    command.append("--native" if args.native else "--nonblocking")
                    result: dict[str, object] = {}

                    def load() -> None:
                        result.update(
                            loader.call("run", args.op, args.concurrency, args.seconds, 10**9)
                        )

                    thread = threading.Thread(target=load)
                    thread.start()
                    subprocess.run(command, check=True, capture_output=True)
                    thread.join()
                finally:
                    loader.close()
            finally:
                gateway.stop()
        finally:
            if database is not None:
                database.stop()
    summary = summarize(raw_path.read_text(), args.top)
    head = (
        f"gateway-{args.backend} {args.op} {args.size} c={args.concurrency}: "
        f"{result.get('ops_per_s')} ops/s, p50 {result.get('p50_ms')} ms "
        f"(py-spy {RATE} Hz, {args.seconds:g} s{', GIL only' if args.gil else ''})"
    )
    text = head + "\n" + summary + "\n"
    args.out.write_text(text)
    print(text)
    print(f"wrote {args.out} and {raw_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
