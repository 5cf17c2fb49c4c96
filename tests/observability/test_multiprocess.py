"""Metrics of ``serve --workers N``: the supervisor's /metrics merges its workers' and
exports the same series one process would (tests/system/test_workers.py counts calls)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.gateway_process import GatewayProcess

from .harness import poll, sample_value, scrape

_METRICS_LINE = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")


def _gateway(cwd: Path, *args: str) -> tuple[GatewayProcess, int]:
    gw = GatewayProcess(
        ["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", *args], cwd=cwd
    )
    gw.wait_listening()
    m = _METRICS_LINE.search(gw.output())
    assert m, gw.output()
    return gw, int(m.group(1))


def _series(families: dict[str, Any]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {(s.name, tuple(sorted(s.labels.items()))) for f in families.values() for s in f.samples}


def test_one_worker_or_two_export_the_same_series(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/gw.db"
    one, one_port = _gateway(tmp_path, "--backend", url)
    two, two_port = _gateway(tmp_path, "--backend", url, "--workers", "2")
    try:
        assert _series(scrape(one_port)) == _series(scrape(two_port))
    finally:
        assert one.stop() == 0, one.output()
        assert two.stop() == 0, two.output()


def test_pool_gauges_add_up_over_the_workers(redis_url: str, tmp_path: Path) -> None:
    # Each worker has a pool of its own: what the gateway may open is the sum.
    gw, port = _gateway(
        tmp_path,
        "--backend",
        redis_url,
        "--workers",
        "2",
        "--redis-max-connections",
        "7",
        "--redis-key-prefix",
        f"t{uuid.uuid4().hex[:8]}:",
    )
    try:

        def pool(gauge: str) -> float | None:
            name = f"checkpoint_gateway_pool_{gauge}"
            return sample_value(scrape(port), name, name, backend="redis")

        assert poll(lambda: pool("connections_max") == 14, 30, "both pools in the sum")
        assert pool("waiting") == 0
        # The health probes of both workers have opened a connection each, at least.
        poll(lambda: (pool("connections") or 0) >= 2, 30, "a connection per worker")
        breaker = "checkpoint_gateway_circuit_breaker_state"
        assert sample_value(scrape(port), breaker, breaker, backend="redis") == 0
    finally:
        assert gw.stop() == 0, gw.output()


def test_multiprocess_metrics_need_their_directory_before_the_import() -> None:
    # prometheus_client picks its value class at import: too late here (no variable set).
    from checkpoint_gateway.metrics import Metrics

    with pytest.raises(RuntimeError, match="PROMETHEUS_MULTIPROC_DIR"):
        Metrics(multiprocess=True)
