"""The Helm chart, rendered by the real Helm engine and checked against Kubernetes 1.30."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import shlex
import tarfile
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from checkpoint_gateway import config

from .chart import (
    CHART,
    FULLNAME,
    GRAFANA,
    KUBE_VERSION,
    NAMESPACE,
    ROOT,
    Manifests,
    render,
    values_file,
)

CRD_GROUPS = ("monitoring.coreos.com/",)  # prometheus-operator kinds: no schema in the set
VALUES_FILES = {
    "default": {},
    "production": values_file("production-values.yaml"),
    "redis": values_file("redis-values.yaml"),
}


@pytest.fixture(scope="module")
def default() -> Manifests:
    return Manifests(render())


@pytest.fixture(scope="module")
def production() -> Manifests:
    return Manifests(render(VALUES_FILES["production"]))


@pytest.fixture(scope="module")
def redis() -> Manifests:
    return Manifests(render(VALUES_FILES["redis"]))


def selected_by(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# -- Helm's own checks ---------------------------------------------------------------------


@pytest.mark.parametrize("name", VALUES_FILES)
def test_helm_lint_strict_passes(name: str) -> None:
    report = helm.lint(
        CHART, VALUES_FILES[name] or None, strict=True, kube_version=f"v{KUBE_VERSION}"
    )
    assert report["errors"] == []
    # Severity 1 is INFO (e.g. "icon is recommended"); strict fails on WARNING (2) and up.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_lint_reports_a_broken_template(tmp_path: Path) -> None:
    """The lint above can fail: the same call flags a chart with a template error."""
    broken = tmp_path / "broken"
    (broken / "templates").mkdir(parents=True)
    (broken / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (broken / "templates" / "cm.yaml").write_text("kind: ConfigMap\n{{ .Values.nope.deeper }}\n")
    report = helm.lint(broken, strict=True, kube_version=f"v{KUBE_VERSION}")
    assert report["errors"] or [m for m in report["messages"] if m["severity"] >= 2]


# -- Kubernetes 1.30 schemas, strict (unknown fields are errors) ---------------------------


@pytest.mark.parametrize("name", VALUES_FILES)
def test_every_core_manifest_is_valid_kubernetes_1_30(name: str) -> None:
    manifests = Manifests(render(VALUES_FILES[name]))
    core = [o for o in manifests.all if not o["apiVersion"].startswith(CRD_GROUPS)]
    assert len(core) >= 7  # at least ConfigMap, Deployment, PDB, 2 Services, SA, Secret
    for obj in core:
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} at {path}: {exc.message}")


def test_the_validator_rejects_a_bad_manifest(default: Manifests) -> None:
    bad = copy.deepcopy(default.one("Deployment"))
    bad["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["grpc"]["portt"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBE_VERSION, strict=True)


# -- What each values file renders ---------------------------------------------------------


def test_default_values_render_a_single_sqlite_replica_on_a_claim(default: Manifests) -> None:
    assert default.kinds() == [
        "ConfigMap",
        "Deployment",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "Service",
        "ServiceAccount",
    ]
    deployment = default.one("Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    claim = default.one("PersistentVolumeClaim")
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    mount = next(m for m in default.container()["volumeMounts"] if m["name"] == "data")
    url = base64.b64decode(default.one("Secret")["data"]["CHECKPOINT_GATEWAY_BACKEND"]).decode()
    assert url == f"sqlite:///{mount['mountPath']}/checkpoints.db"


def test_production_values_render_the_full_set(production: Manifests) -> None:
    assert production.kinds() == [
        "ConfigMap",
        "ConfigMap",
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "PrometheusRule",
        "Service",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
    ]
    deployment = production.one("Deployment")
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    hpa = production.one("HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] == 3
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    # The URL comes from the user's Secret; the chart creates none and no claim.
    env = {e["name"]: e for e in production.container()["env"]}
    assert env["CHECKPOINT_GATEWAY_BACKEND"]["valueFrom"]["secretKeyRef"] == {
        "name": "checkpoint-gateway-backend",
        "key": "backend-url",
    }
    assert production.of("Secret") == []
    assert production.of("PersistentVolumeClaim") == []
    assert production.config()["CHECKPOINT_GATEWAY_POSTGRES_MAX_SIZE"] == "10"


def test_pdb_selects_the_gateway_pods(default: Manifests, production: Manifests) -> None:
    for manifests in (default, production):
        pdb = manifests.one("PodDisruptionBudget")
        labels = manifests.one("Deployment")["spec"]["template"]["metadata"]["labels"]
        assert selected_by(pdb["spec"]["selector"]["matchLabels"], labels)
        assert pdb["spec"]["maxUnavailable"] == 1


# -- The Pod -------------------------------------------------------------------------------


def test_probes_are_native_grpc_health_on_the_grpc_port(default: Manifests) -> None:
    container = default.container()
    grpc_port = next(p for p in container["ports"] if p["name"] == "grpc")["containerPort"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["grpc"] == {"port": grpc_port, "service": ""}, probe
    # The startup probe gives a slow start (migrations) a minute before liveness counts.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_with_tls_the_probes_run_the_same_check_over_tls(production: Manifests) -> None:
    container = production.container()
    config_map = production.one("ConfigMap", f"{FULLNAME}-probe")
    script = (CHART / "files" / "grpc-health-probe.py").read_text()
    assert config_map["data"]["grpc-health-probe.py"] == script.rstrip("\n")
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        command = container[probe]["exec"]["command"]
        assert command[:2] == ["python", f"{mounts['probe']}/grpc-health-probe.py"]
        assert command[2] == "127.0.0.1:50051"
        assert f"--tls-dir={mounts['tls']}" in command
    data = production.config()
    assert data["CHECKPOINT_GATEWAY_TLS_CERT_FILE"] == f"{mounts['tls']}/tls.crt"
    assert data["CHECKPOINT_GATEWAY_TLS_KEY_FILE"] == f"{mounts['tls']}/tls.key"
    pod = production.one("Deployment")["spec"]["template"]["spec"]
    tls = next(v for v in pod["volumes"] if v["name"] == "tls")
    assert tls["secret"]["secretName"] == "checkpoint-gateway-tls"


@pytest.mark.parametrize("name", VALUES_FILES)
def test_pod_runs_non_root_read_only_without_capabilities(name: str) -> None:
    manifests = Manifests(render(VALUES_FILES[name]))
    pod = manifests.one("Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    sc = manifests.container()["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "limits" in manifests.container()["resources"]
    assert "requests" in manifests.container()["resources"]


@pytest.mark.parametrize("name", VALUES_FILES)
def test_termination_grace_outlasts_the_drain(name: str) -> None:
    manifests = Manifests(render(VALUES_FILES[name]))
    pod = manifests.one("Deployment")["spec"]["template"]["spec"]
    drain = float(manifests.config()["CHECKPOINT_GATEWAY_GRACE_SECONDS"])
    pre_stop = manifests.container()["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + drain


def test_settings_come_from_the_config_map_and_the_url_from_a_secret(default: Manifests) -> None:
    data = default.config()
    assert data["CHECKPOINT_GATEWAY_LISTEN"] == "0.0.0.0:50051"
    assert data["CHECKPOINT_GATEWAY_METRICS_LISTEN"] == "0.0.0.0:9464"
    assert data["CHECKPOINT_GATEWAY_LOG_FORMAT"] == "json"
    assert "CHECKPOINT_GATEWAY_BACKEND" not in data
    refs = default.container()["envFrom"]
    assert {"configMapRef": {"name": FULLNAME}} in refs
    assert {"secretRef": {"name": FULLNAME}} in refs
    # Every variable the chart sets is a gateway setting (a typo would be silently ignored).
    known = {variable for _, variable, _, _ in config.describe()}
    for name in VALUES_FILES:
        assert set(Manifests(render(VALUES_FILES[name])).config()) <= known


def test_a_password_in_the_url_is_only_in_the_secret(redis: Manifests) -> None:
    secret = redis.one("Secret")
    url = base64.b64decode(secret["data"]["CHECKPOINT_GATEWAY_BACKEND"]).decode()
    assert url == "redis://:change-me@redis-master.db.svc:6379/0"
    for path, text in redis.rendered.items():
        if not path.endswith("secret.yaml"):
            assert "change-me" not in text, path
    assert redis.one("Deployment")["spec"]["replicas"] == 2
    assert redis.config()["CHECKPOINT_GATEWAY_REDIS_KEY_PREFIX"] == "cp:"


def test_replicas_spread_over_nodes_and_zones(production: Manifests) -> None:
    template = production.one("Deployment")["spec"]["template"]
    constraints = {c["topologyKey"]: c for c in template["spec"]["topologySpreadConstraints"]}
    assert set(constraints) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert constraints["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    for c in constraints.values():
        assert selected_by(c["labelSelector"]["matchLabels"], template["metadata"]["labels"])


# -- Services ------------------------------------------------------------------------------


def test_services_name_their_ports_and_one_is_headless(default: Manifests) -> None:
    labels = default.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    main = default.one("Service", FULLNAME)
    ports = {p["name"]: p for p in main["spec"]["ports"]}
    assert ports["grpc"]["appProtocol"] == "grpc"
    assert ports["grpc"]["targetPort"] == "grpc"
    assert ports["metrics"]["targetPort"] == "metrics"
    assert main["spec"]["type"] == "ClusterIP"
    headless = default.one("Service", f"{FULLNAME}-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert [p["name"] for p in headless["spec"]["ports"]] == ["grpc"]
    assert headless["spec"]["ports"][0]["appProtocol"] == "grpc"
    for service in (main, headless):
        assert selected_by(service["spec"]["selector"], labels)
    container_ports = {p["name"] for p in default.container()["ports"]}
    assert container_ports == {"grpc", "metrics"}


def test_notes_tell_how_to_reach_the_service(default: Manifests) -> None:
    notes = default.notes
    assert f"dns:///{FULLNAME}-headless.{NAMESPACE}.svc.cluster.local:50051" in notes
    assert "round_robin" in notes
    assert f"port-forward service/{FULLNAME} 50051:50051" in notes
    assert "single-replica only" in notes


# -- Monitoring: one source of truth in grafana/ -------------------------------------------


def test_chart_files_are_symlinks_into_grafana_not_copies() -> None:
    for name in ("alerts.yaml", "dashboard.json"):
        link = CHART / "files" / name
        assert link.is_symlink(), f"{link} must be a symlink to grafana/{name}"
        assert link.resolve() == (GRAFANA / name).resolve()
        assert (GRAFANA / name).is_file(), f"grafana/{name} is missing"


def test_prometheus_rule_is_grafana_alerts_yaml(production: Manifests) -> None:
    rule = production.one("PrometheusRule")
    source = yaml.safe_load((GRAFANA / "alerts.yaml").read_text())
    assert source["groups"], "grafana/alerts.yaml has no groups"
    assert rule["spec"] == source
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_dashboard_config_map_is_grafana_dashboard_json(production: Manifests) -> None:
    config_map = production.one("ConfigMap", f"{FULLNAME}-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    text = config_map["data"]["checkpoint-gateway.json"]
    assert text == (GRAFANA / "dashboard.json").read_text()
    assert json.loads(text)  # the sidecar loads it as JSON


def test_service_monitor_scrapes_the_metrics_port(production: Manifests) -> None:
    monitor = production.one("ServiceMonitor")
    main = production.one("Service", FULLNAME)
    assert selected_by(monitor["spec"]["selector"]["matchLabels"], main["metadata"]["labels"])
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    assert "metrics" in {p["name"] for p in main["spec"]["ports"]}
    # The headless Service matches the selector too, but has no metrics port: no double scrape.
    headless = production.one("Service", f"{FULLNAME}-headless")
    assert "metrics" not in {p["name"] for p in headless["spec"]["ports"]}
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_packaged_chart_carries_the_grafana_files(tmp_path: Path) -> None:
    archive = helm.package(CHART, destination=tmp_path)
    with tarfile.open(archive) as tar:
        for name in ("alerts.yaml", "dashboard.json"):
            member = tar.extractfile(f"checkpoint-gateway/files/{name}")
            assert member is not None
            assert member.read() == (GRAFANA / name).read_bytes()


def test_network_policy_opens_only_the_gateway_ports(production: Manifests) -> None:
    policy = production.one("NetworkPolicy")
    labels = production.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selected_by(policy["spec"]["podSelector"]["matchLabels"], labels)
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ports = [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]]
    assert ports == ["grpc", "metrics"]
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert egress_ports == {53, 5432}


# -- Values that must not render -----------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"replicaCount": 3},
            "backend.type=sqlite is single-replica only (its data lives in one Pod's volume "
            "or memory): replicaCount=3 needs backend.type=postgresql or redis",
        ),
        (
            {"autoscaling": {"enabled": True}},
            "backend.type=sqlite is single-replica only: autoscaling.enabled=true",
        ),
        ({"backend": {"type": "file"}, "replicaCount": 2}, "backend.type=file is single-replica"),
        ({"backend": {"type": "postgresql"}}, "backend.type=postgresql needs backend.url"),
        (
            {"backend": {"type": "postgresql", "url": "redis://h:6379/0"}},
            "backend.url does not match backend.type=postgresql",
        ),
        ({"tls": {"enabled": True}}, "tls.enabled=true needs tls.secretName"),
        (
            {"config": {"graceSeconds": 30}},
            "terminationGracePeriodSeconds=30 must be longer than preStopSleepSeconds + "
            "config.graceSeconds = 35",
        ),
    ],
)
def test_bad_combinations_fail_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmRenderError) as caught:
        render(values)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"replicaCount": "three"}, "/replicaCount"),
        ({"service": {"grpcPort": "50051"}}, "/service/grpcPort"),
        ({"tls": {"enabled": "yes"}}, "/tls/enabled"),
        ({"backend": {"type": "mysql"}}, "/backend/type"),
        ({"config": {"logFormat": "xml"}}, "/config/logFormat"),
        ({"config": {"maxStateBytes": "16 megs"}}, "/config/maxStateBytes"),
        ({"replicaCont": 2}, "additional properties 'replicaCont'"),
    ],
)
def test_wrong_types_are_rejected_by_the_schema(values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        render(values)
    assert where in str(caught.value)


# -- values.yaml is documented, the README's install lines render --------------------------


def test_values_yaml_is_documented_line_by_line() -> None:
    """Every key has a comment right above it, or sits inside a key that has one, or is a
    section whose keys all are documented."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    keys: list[tuple[int, str, bool]] = []  # (indent, key, has a comment right above)
    for i, line in enumerate(lines):
        m = re.match(r"^( *)([A-Za-z_][A-Za-z0-9_]*):", line)
        if m:
            above = lines[i - 1].strip() if i else ""
            keys.append((len(m.group(1)), m.group(2), above.startswith("#")))

    def children(i: int) -> list[int]:
        found, depth = [], None
        for j in range(i + 1, len(keys)):
            if keys[j][0] <= keys[i][0]:
                break
            depth = keys[j][0] if depth is None else depth
            if keys[j][0] == depth:
                found.append(j)
        return found

    def documented(i: int) -> bool:
        kids = children(i)
        return keys[i][2] or (bool(kids) and all(documented(j) for j in kids))

    def inside_documented(i: int) -> bool:
        indent = keys[i][0]
        for j in range(i - 1, -1, -1):
            if keys[j][0] < indent:
                if keys[j][2]:
                    return True
                indent = keys[j][0]
        return False

    undocumented = [k[1] for i, k in enumerate(keys) if not (documented(i) or inside_documented(i))]
    assert undocumented == []
    assert len(keys) > 100


def readme_install_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Deploy on Kubernetes", 1)[1].split("\n## ", 1)[0]
    joined = section.replace("\\\n", " ")
    return [shlex.split(line.strip()) for line in joined.splitlines() if "helm install" in line]


def test_readme_install_lines_cover_each_backend_and_render() -> None:
    commands = readme_install_commands()
    rendered_backends = set()
    for argv in commands:
        assert argv[:2] == ["helm", "install"]
        assert argv[3] == "helm/checkpoint-gateway"
        values: dict[str, Any] = {}
        for flag, value in itertools.pairwise(argv):
            if flag in ("-f", "--values"):
                values = _merge(values, helm.values_from_yaml((ROOT / value).read_text()))
            elif flag == "--set":
                values = _merge(values, helm.parse_set_string(value))
        manifests = Manifests(render(values))
        assert manifests.one("Deployment")
        rendered_backends.add(values.get("backend", {}).get("type", "sqlite"))
    assert rendered_backends == {"sqlite", "postgresql", "redis"}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
