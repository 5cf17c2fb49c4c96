"""The dashboard and the alert rules, proven against a real Prometheus scraping a real gateway.

One gateway (the real CLI, Redis backend so pool metrics exist, tracing to a real OTLP
receiver so exemplars carry trace ids) serves a short, bounded load with failures while a
throwaway Prometheus scrapes it every second and evaluates grafana/alerts.yaml. Then every
dashboard query and every alert expression goes through Prometheus's HTTP API: each must
parse and return data, and every metric they name must be one the gateway exports.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from checkpoint_client import (
    AsyncCheckpointClient,
    Checkpoint,
    Conflict,
    InvalidArgument,
    NotFound,
    PendingWrite,
)
from tests.gateway_process import GatewayProcess

from .harness import ALERTS, DASHBOARD, OtlpReceiver, Prometheus, poll, scrape

pytestmark = pytest.mark.slow

_METRICS_LINE = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")

# How the test stands in for Grafana's variables: every backend and operation, and a
# rate window that covers the whole (short) load.
_VARIABLES = {"$__rate_interval": "1m", "$backend": ".*", "$operation": ".*"}

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, expression) of every target of every panel."""
    board = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def substitute(expr: str) -> str:
    for name, value in _VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unknown dashboard variable in {expr}"
    return expr


def with_bool(expr: str) -> str:
    """Every comparison outside label matchers made a ``bool`` one: the expression then
    returns its operands' series (as 0 or 1) whether or not the alert would fire."""
    out: list[str] = []
    i, braces, quote = 0, 0, ""
    while i < len(expr):
        ch = expr[i]
        if quote:
            out.append(ch)
            if ch == "\\":
                out.append(expr[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
            out.append(ch)
        elif ch == "{":
            braces += 1
            out.append(ch)
        elif ch == "}":
            braces -= 1
            out.append(ch)
        elif braces == 0 and expr[i : i + 2] in ("==", "!=", ">=", "<="):
            out.append(expr[i : i + 2] + " bool")
            i += 1
        elif braces == 0 and ch in "<>":
            out.append(ch + " bool")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = m.group(0)
        after = text[m.end() :].lstrip()
        if word.lower() in _KEYWORDS or after.startswith("("):
            continue
        if re.fullmatch(r"\d+[smhdwy]", word) or text[m.start() - 1 : m.start()].isdigit():
            continue
        names.add(word)
    return names


def exported_names(families: dict[str, Any]) -> set[str]:
    names = set()
    for family in families.values():
        names.add(family.name)
        names.update(s.name for s in family.samples)
        # A family with no sample yet (no pool on this backend) still names its series.
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_sum", "_count"),
            "info": ("_info",),
        }.get(family.type, ())
        names.update(family.name + suffix for suffix in suffixes)
    return names


@dataclass
class Scraped:
    prometheus: Prometheus
    gateway: GatewayProcess
    metrics_port: int
    receiver: OtlpReceiver
    operations: int
    started: float


async def drive_load(target: str, rounds: int, wait_scraped: Any) -> int:
    """A bounded load, with failures, in rounds that Prometheus sees one by one.

    Returns how many store operations the gateway counted (the failures included).
    """
    done = 0
    async with AsyncCheckpointClient(target, timeout=10) as client:
        for r in range(rounds):
            run = f"exec-{r}"
            saved = [
                await client.save(Checkpoint(run, {"step": i, "pad": "x" * (200 * i)}))
                for i in range(12)
            ]
            await asyncio.gather(
                *(client.load(run, cp.checkpoint_id) for cp in saved),
                *(client.latest(run) for _ in range(4)),
                client.list(run, limit=5),
                client.put_writes(run, saved[-1].checkpoint_id, [PendingWrite("t", 0, "c", 1)]),
            )
            done += len(saved) + len(saved) + 4 + 1 + 1
            for i in range(3):
                with pytest.raises(NotFound):
                    await client.load(run, f"missing-{i}")
            with pytest.raises(InvalidArgument):
                await client.save(Checkpoint("", {"no": "execution id"}))
            with pytest.raises(Conflict):
                await client.save(Checkpoint(run, {"b": 2}, checkpoint_id=saved[0].checkpoint_id))
            await client.delete(run, saved[0].checkpoint_id)
            done += 3 + 1 + 1 + 1
            if r == rounds - 1:
                await client.clear(run)
                done += 1
            await asyncio.to_thread(wait_scraped, done)
    return done


@pytest.fixture(scope="module")
def scraped(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    receiver = OtlpReceiver()
    env = {
        "CHECKPOINT_GATEWAY_REDIS_KEY_PREFIX": f"obs{uuid.uuid4().hex[:8]}:",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    args = ["--listen", "127.0.0.1:0", "--backend", redis_url, "--metrics-listen", "127.0.0.1:0"]
    gateway = GatewayProcess(args, cwd=tmp_path_factory.mktemp("gw"), env=env)
    prometheus: Prometheus | None = None
    try:
        gateway.wait_listening()
        m = _METRICS_LINE.search(gateway.output())
        assert m, gateway.output()
        metrics_port = int(m.group(1))
        prometheus = Prometheus([f"127.0.0.1:{metrics_port}"], rule_files=[ALERTS])
        prometheus.wait_ready()
        prometheus.wait_targets_up()
        started = time.time()
        prom = prometheus

        def wait_scraped(count: int) -> None:
            def seen() -> bool:
                answer = prom.query("sum(checkpoint_gateway_operations_total)")
                result = answer["data"]["result"]
                return bool(result) and float(result[0]["value"][1]) >= count

            poll(seen, 20, f"Prometheus to scrape {count} operations")

        operations = asyncio.run(drive_load(gateway.target, 3, wait_scraped))
        yield Scraped(prometheus, gateway, metrics_port, receiver, operations, started)
    finally:
        if prometheus is not None:
            prometheus.stop()
        code = gateway.stop(signal.SIGTERM)
        receiver.stop()
        assert code == 0, gateway.output()


def test_prometheus_counted_every_operation(scraped: Scraped) -> None:
    answer = scraped.prometheus.query("sum(checkpoint_gateway_operations_total)")
    assert float(answer["data"]["result"][0]["value"][1]) == scraped.operations


@pytest.mark.parametrize(("title", "expr"), dashboard_queries())
def test_every_dashboard_query_returns_data(scraped: Scraped, title: str, expr: str) -> None:
    query = substitute(expr)
    answer = scraped.prometheus.query(query)
    assert answer["status"] == "success", f"{title}: {query}: {answer.get('error')}"
    assert answer["data"]["result"], f"{title}: no data for {query}"
    exported = exported_names(scrape(scraped.metrics_port))
    missing = metric_names(query) - exported
    assert not missing, f"{title}: the gateway exports no {sorted(missing)}"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_every_alert_expression_returns_data(scraped: Scraped, rule: dict[str, Any]) -> None:
    expr = rule["expr"]
    answer = scraped.prometheus.query(expr)
    assert answer["status"] == "success", f"{rule['alert']}: {answer.get('error')}"
    # The alert is quiet (nothing is wrong); with bool comparisons the same expression
    # shows the series it watches, which must exist.
    answer = scraped.prometheus.query(with_bool(expr))
    assert answer["status"] == "success", f"{rule['alert']}: {answer.get('error')}"
    assert answer["data"]["result"], f"{rule['alert']}: no data for {with_bool(expr)}"
    exported = exported_names(scrape(scraped.metrics_port)) | {"up"}  # up: Prometheus's own
    missing = metric_names(expr) - exported
    assert not missing, f"{rule['alert']}: the gateway exports no {sorted(missing)}"


def test_prometheus_evaluates_every_rule_without_error(scraped: Scraped) -> None:
    def evaluated() -> list[dict[str, Any]] | None:
        groups = scraped.prometheus.get("/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        if all(r.get("lastEvaluation", "").startswith("0001") is False for r in rules):
            return rules
        return None

    rules = poll(evaluated, 20, "every rule to be evaluated")
    assert {r["name"] for r in rules} == {r["alert"] for r in alert_rules()}
    assert all(r["health"] == "ok" for r in rules), rules
    assert not [r for r in rules if r["state"] != "inactive"], "an alert fires on a healthy gateway"


def test_latency_exemplars_link_to_exported_traces(scraped: Scraped) -> None:
    def exemplars() -> list[dict[str, Any]] | None:
        answer = scraped.prometheus.get(
            "/api/v1/query_exemplars",
            query="checkpoint_gateway_operation_duration_seconds_bucket",
            start=str(scraped.started - 60),
            end=str(time.time() + 60),
        )
        found = [e for series in answer["data"] for e in series["exemplars"]]
        return found or None

    found = poll(exemplars, 20, "exemplars in Prometheus")
    trace_ids = {e["labels"]["trace_id"] for e in found}
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in trace_ids)

    def exported() -> set[str] | None:
        received = {s.trace_id.hex() for _, s in scraped.receiver.spans()}
        return trace_ids & received or None

    # The traces the exemplars point at are the ones the gateway exported.
    poll(exported, 20, "an exemplar's trace at the OTLP receiver")


def test_the_alert_rules_pass_promtool() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: `apt-get install prometheus`", pytrace=False)
    proc = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in proc.stdout


def test_the_alerts_cover_what_operators_need() -> None:
    exprs = {r["alert"]: r["expr"] for r in alert_rules()}
    assert "checkpoint_gateway_operations_total" in exprs["CheckpointGatewayHighErrorRatio"]
    assert "histogram_quantile(0.99" in exprs["CheckpointGatewayHighLatency"]
    assert "circuit_breaker_state" in exprs["CheckpointGatewayCircuitBreakerOpen"]
    assert "pool_connections_in_use" in exprs["CheckpointGatewayPoolSaturated"]
    assert "up{" in exprs["CheckpointGatewayDown"]
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_the_dashboard_is_importable_and_filterable() -> None:
    board = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("backend", "operation"):
        assert variables[name]["includeAll"]
        assert variables[name]["multi"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows == [
        "Overview",
        "Traffic",
        "Errors",
        "Latency",
        "Backend: attempts, retries, circuit breaker",
        "Connection pool",
        "Payload",
        "Process",
        "Security",
    ]
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            # Filters apply wherever a series has the label.
            if "operation=" in target["expr"] or "operation!" in target["expr"]:
                assert 'operation=~"$operation"' in target["expr"], panel["title"]


def test_with_bool_and_metric_names_parse_what_they_should() -> None:
    expr = 'sum(rate(a_total{x=~"1|2", y!="z"}[5m])) / b > 0.05 or up == 0'
    assert with_bool(expr) == (
        'sum(rate(a_total{x=~"1|2", y!="z"}[5m])) / b > bool 0.05 or up == bool 0'
    )
    assert metric_names(expr) == {"a_total", "b", "up"}
    assert metric_names("histogram_quantile(0.99, sum by (le, op) (rate(h_bucket[1m])))") == {
        "h_bucket"
    }
