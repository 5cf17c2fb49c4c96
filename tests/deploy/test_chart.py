"""The Helm chart, rendered by the real Helm engine and checked against Kubernetes 1.30."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import os
import re
import shlex
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from checkpoint_gateway import config
from checkpoint_gateway.auth.principals import PrincipalsFile, dump_example
from tests.gateway_process import GatewayProcess

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
from .test_probe import SERVER_NAME, make_cert, run

CRD_GROUPS = ("monitoring.coreos.com/",)  # prometheus-operator kinds: no schema in the set
VALUES_FILES = {
    "default": {},
    "production": values_file("production-values.yaml"),
    "redis": values_file("redis-values.yaml"),
    "auth": values_file("auth-values.yaml"),
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


@pytest.fixture(scope="module")
def auth() -> Manifests:
    return Manifests(render(VALUES_FILES["auth"]))


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


def assert_valid_kubernetes(manifests: Manifests) -> None:
    core = [o for o in manifests.all if not o["apiVersion"].startswith(CRD_GROUPS)]
    assert len(core) >= 7  # at least ConfigMap, Deployment, PDB, 2 Services, SA, Secret
    for obj in core:
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} at {path}: {exc.message}")


@pytest.mark.parametrize("name", VALUES_FILES)
def test_every_core_manifest_is_valid_kubernetes_1_30(name: str) -> None:
    assert_valid_kubernetes(Manifests(render(VALUES_FILES[name])))


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
        "Secret",
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
    # The URL comes from the user's Secret; the chart's holds only the page token key.
    env = {e["name"]: e for e in production.container()["env"]}
    assert env["CHECKPOINT_GATEWAY_BACKEND"]["valueFrom"]["secretKeyRef"] == {
        "name": "checkpoint-gateway-backend",
        "key": "backend-url",
    }
    assert set(production.one("Secret")["data"]) == {"CHECKPOINT_GATEWAY_PAGE_TOKEN_KEY"}
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


# -- Authentication, tenants and the page token key ----------------------------------------

JWKS_URL = "https://idp.example/.well-known/jwks.json"
JWT_CLAIMS = {"issuer": "https://idp.example/", "audience": "checkpoint-gateway"}
PRINCIPALS = {"principals": {"existingSecret": "cg-principals"}}
PAGE_KEY = "CHECKPOINT_GATEWAY_PAGE_TOKEN_KEY"
BEARER = {"name": "prom-token", "key": "token"}

#: Each feature on its own (ci/auth-values.yaml has them together).
AUTH_FEATURES: dict[str, dict[str, Any]] = {
    "principals": {"auth": PRINCIPALS},
    "principals-own-key": {
        "auth": {"principals": {"existingSecret": "who", "existingSecretKey": "who.yaml"}}
    },
    "jwks-secret": {"auth": {"jwt": {"jwksExistingSecret": "cg-jwks", **JWT_CLAIMS}}},
    "jwks-url": {
        "auth": {
            "jwt": {
                "jwksUrl": JWKS_URL,
                **JWT_CLAIMS,
                "leewaySeconds": 0,
                "tenantClaim": "org",
                "rolesClaim": "scope",
            }
        }
    },
    "limits": {"auth": {**PRINCIPALS, "limits": {"inFlight": "off", "requestsPerSecond": 2.5}}},
    "reflection-off": {"config": {"reflection": "off"}},
    "metrics-auth": {
        "auth": PRINCIPALS,
        "metrics": {"auth": True, "serviceMonitor": {"enabled": True, "bearerTokenSecret": BEARER}},
    },
    "page-key-secret": {"auth": {"pageTokenKey": {"existingSecret": "cg-page-key"}}},
    "mutual-tls": {
        "auth": PRINCIPALS,
        "tls": {"enabled": True, "secretName": "cg-tls", "clientAuth": True},
    },
    "console": {
        "auth": PRINCIPALS,
        "console": {"enabled": True, "sessionSeconds": 600},
        "networkPolicy": {"enabled": True},
    },
}


def pod_spec(manifests: Manifests) -> dict[str, Any]:
    spec: dict[str, Any] = manifests.one("Deployment")["spec"]["template"]["spec"]
    return spec


def secret_volume(manifests: Manifests, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The volume called ``name`` and the container's mount of it."""
    volume = next(v for v in pod_spec(manifests)["volumes"] if v["name"] == name)
    mount = next(m for m in manifests.container()["volumeMounts"] if m["name"] == name)
    return volume, mount


def page_key(manifests: Manifests) -> str:
    return base64.b64decode(manifests.one("Secret")["data"][PAGE_KEY]).decode()


@pytest.mark.parametrize("feature", AUTH_FEATURES)
def test_each_auth_feature_renders_valid_kubernetes_1_30(feature: str) -> None:
    manifests = Manifests(render(AUTH_FEATURES[feature]))
    assert_valid_kubernetes(manifests)
    # Every variable is a gateway setting, and every mounted Secret a read-only directory.
    known = {variable for _, variable, _, _ in config.describe()}
    assert set(manifests.config()) <= known
    secrets = {v["name"] for v in pod_spec(manifests)["volumes"] if "secret" in v}
    for mount in manifests.container()["volumeMounts"]:
        assert not {"subPath", "subPathExpr"} & set(mount), mount
        if mount["name"] in secrets:
            assert mount["readOnly"] is True, mount


@pytest.mark.parametrize(
    ("principals", "key"),
    [
        ({"existingSecret": "cg-principals"}, "principals.yaml"),
        ({"existingSecret": "who", "existingSecretKey": "who.yaml"}, "who.yaml"),
    ],
    ids=["default-key", "own-key"],
)
def test_the_principals_secret_is_mounted_as_a_read_only_directory(
    principals: dict[str, str], key: str
) -> None:
    manifests = Manifests(render({"auth": {"principals": principals}}))
    volume, mount = secret_volume(manifests, "principals")
    assert volume["secret"] == {
        "secretName": principals["existingSecret"],
        "defaultMode": 0o440,  # group-readable: fsGroup 10001 is the gateway's group
        "items": [{"key": key, "path": key}],
    }
    # A directory (subPath mounts never receive a Secret's updates), read-only.
    assert mount == {"name": "principals", "mountPath": mount["mountPath"], "readOnly": True}
    path = manifests.config()["CHECKPOINT_GATEWAY_AUTH_PRINCIPALS_FILE"]
    assert path == f"{mount['mountPath']}/{key}"
    assert "CHECKPOINT_GATEWAY_JWT_JWKS_FILE" not in manifests.config()
    assert "Authentication ON" in manifests.notes


def test_the_jwks_secret_is_mounted_the_same_way() -> None:
    manifests = Manifests(render(AUTH_FEATURES["jwks-secret"]))
    volume, mount = secret_volume(manifests, "jwks")
    assert volume["secret"]["secretName"] == "cg-jwks"
    assert volume["secret"]["items"] == [{"key": "jwks.json", "path": "jwks.json"}]
    assert mount == {"name": "jwks", "mountPath": mount["mountPath"], "readOnly": True}
    data = manifests.config()
    assert data["CHECKPOINT_GATEWAY_JWT_JWKS_FILE"] == f"{mount['mountPath']}/jwks.json"
    assert data["CHECKPOINT_GATEWAY_JWT_ISSUER"] == "https://idp.example/"
    assert data["CHECKPOINT_GATEWAY_JWT_AUDIENCE"] == "checkpoint-gateway"
    assert "CHECKPOINT_GATEWAY_JWT_JWKS_URL" not in data
    # Unset claims and leeway are left to the gateway's defaults.
    assert not {
        "CHECKPOINT_GATEWAY_JWT_LEEWAY_SECONDS",
        "CHECKPOINT_GATEWAY_JWT_TENANT_CLAIM",
    } & set(data)
    assert "CHECKPOINT_GATEWAY_AUTH_PRINCIPALS_FILE" not in data


def test_a_jwks_url_needs_no_volume() -> None:
    manifests = Manifests(render(AUTH_FEATURES["jwks-url"]))
    data = manifests.config()
    assert data["CHECKPOINT_GATEWAY_JWT_JWKS_URL"] == JWKS_URL
    assert data["CHECKPOINT_GATEWAY_JWT_LEEWAY_SECONDS"] == "0"  # 0 is a value, not unset
    assert data["CHECKPOINT_GATEWAY_JWT_TENANT_CLAIM"] == "org"
    assert data["CHECKPOINT_GATEWAY_JWT_ROLES_CLAIM"] == "scope"
    names = {v["name"] for v in pod_spec(manifests)["volumes"]}
    assert not {"jwks", "principals"} & names


def test_the_console_has_a_port_on_the_pod_the_service_and_the_policy(default: Manifests) -> None:
    assert "CHECKPOINT_GATEWAY_CONSOLE_LISTEN" not in default.config()
    assert "console" not in [p["name"] for p in default.container()["ports"]]
    on = Manifests(render(AUTH_FEATURES["console"]))
    assert on.config()["CHECKPOINT_GATEWAY_CONSOLE_LISTEN"] == "0.0.0.0:8080"
    assert on.config()["CHECKPOINT_GATEWAY_CONSOLE_SESSION_SECONDS"] == "600"
    assert {"name": "console", "containerPort": 8080, "protocol": "TCP"} in on.container()["ports"]
    service = on.one("Service", FULLNAME)
    console = next(p for p in service["spec"]["ports"] if p["name"] == "console")
    assert (console["port"], console["targetPort"], console["appProtocol"]) == (
        8080,
        "console",
        "http",
    )
    policy = on.one("NetworkPolicy")
    ports = [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]]
    assert ports == ["grpc", "metrics", "console"]
    with_tls = Manifests(
        render({**AUTH_FEATURES["console"], "tls": {"enabled": True, "secretName": "t"}})
    )
    service = with_tls.one("Service", FULLNAME)
    assert (
        next(p for p in service["spec"]["ports"] if p["name"] == "console")["appProtocol"]
        == "https"
    )


def test_limits_reflection_and_metrics_auth_reach_the_config_map(default: Manifests) -> None:
    data = Manifests(render(AUTH_FEATURES["limits"])).config()
    assert data["CHECKPOINT_GATEWAY_LIMIT_IN_FLIGHT"] == "off"
    assert data["CHECKPOINT_GATEWAY_LIMIT_REQUESTS_PER_SECOND"] == "2.5"
    assert (
        Manifests(render(AUTH_FEATURES["reflection-off"])).config()["CHECKPOINT_GATEWAY_REFLECTION"]
        == "off"
    )
    assert (
        Manifests(render(AUTH_FEATURES["metrics-auth"])).config()["CHECKPOINT_GATEWAY_METRICS_AUTH"]
        == "true"
    )
    # By default: the gateway's own defaults, said out loud where the chart has a key.
    data = default.config()
    assert data["CHECKPOINT_GATEWAY_REFLECTION"] == "auth"
    assert data["CHECKPOINT_GATEWAY_METRICS_AUTH"] == "false"
    assert not [name for name in data if "_LIMIT_" in name or "_JWT_" in name or "_AUTH_" in name]
    assert "Authentication OFF" in default.notes


def test_the_service_monitor_sends_the_metrics_token() -> None:
    monitor = Manifests(render(AUTH_FEATURES["metrics-auth"])).one("ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    # Prometheus Operator: authorization.credentials is a SecretKeySelector in this namespace.
    assert endpoint["authorization"] == {"type": "Bearer", "credentials": BEARER}
    assert "bearerTokenSecret" not in endpoint  # the deprecated field
    # The token can be in place before metrics.auth is turned on; without one, none is sent.
    ahead = {"metrics": {"serviceMonitor": {"enabled": True, "bearerTokenSecret": BEARER}}}
    (endpoint,) = Manifests(render(ahead)).one("ServiceMonitor")["spec"]["endpoints"]
    assert endpoint["authorization"]["credentials"] == BEARER
    (endpoint,) = Manifests(render({"metrics": {"serviceMonitor": {"enabled": True}}})).one(
        "ServiceMonitor"
    )["spec"]["endpoints"]
    assert "authorization" not in endpoint


def test_the_page_token_key_is_random_on_install(default: Manifests) -> None:
    key = page_key(default)
    assert re.fullmatch(r"[A-Za-z0-9]{48}", key), key
    assert len(set(key)) > 15  # random-looking, not a constant
    # helm template has no cluster to read the key back from: each render makes a new one.
    assert page_key(Manifests(render())) != key
    # All replicas read it from the one Secret.
    assert {"secretRef": {"name": FULLNAME}} in default.container()["envFrom"]
    assert PAGE_KEY not in default.config()


#: The page token key of a Secret already in the cluster.
KEPT_KEY = "kept0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"


@pytest.fixture(scope="module")
def chart_in_a_cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the chart whose one cluster read (the chart's Secret, cg.liveSecretData)
    finds a Secret already holding a page token key, as `helm upgrade` does."""
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    live = re.search(
        r'(\{\{- define "cg\.liveSecretData" -\}\}\n)(.*?)(\{\{- end \}\})', helpers, re.S
    )
    assert live, "cg.liveSecretData is gone from _helpers.tpl"
    # It reads the chart's own Secret, in the release's namespace.
    assert 'lookup "v1" "Secret" .Release.Namespace (include "cg.fullname" .)' in live.group(2)
    copy_ = tmp_path_factory.mktemp("chart") / "checkpoint-gateway"
    shutil.copytree(CHART, copy_)  # symlinks into grafana/ are copied as files
    stored = base64.b64encode(KEPT_KEY.encode()).decode()
    body = f"{{{{- dict {PAGE_KEY!r} {stored!r} | toYaml }}}}\n".replace("'", '"')
    (copy_ / "templates" / "_helpers.tpl").write_text(
        helpers[: live.start(2)] + body + helpers[live.end(2) :]
    )
    return copy_


def test_the_page_token_key_is_kept_on_upgrade(chart_in_a_cluster: Path) -> None:
    first = Manifests(render(chart=chart_in_a_cluster))
    assert page_key(first) == KEPT_KEY
    # So an upgrade changes neither the key nor, for it, the Pods' checksum.
    second = Manifests(render(chart=chart_in_a_cluster))
    annotations = [
        m.one("Deployment")["spec"]["template"]["metadata"]["annotations"] for m in (first, second)
    ]
    assert annotations[0]["checksum/secret"] == annotations[1]["checksum/secret"]


def test_the_page_token_key_can_come_from_your_secret() -> None:
    manifests = Manifests(render(AUTH_FEATURES["page-key-secret"]))
    env = {e["name"]: e for e in manifests.container().get("env", [])}
    assert env[PAGE_KEY]["valueFrom"]["secretKeyRef"] == {
        "name": "cg-page-key",
        "key": "page-token-key",
    }
    assert PAGE_KEY not in manifests.one("Secret")["data"]  # the backend URL is still there
    # With the backend URL in a Secret of yours too, the chart makes no Secret at all.
    both = Manifests(
        render(
            {
                "backend": {"type": "postgresql", "existingSecret": "db"},
                "auth": {"pageTokenKey": {"existingSecret": "cg-page-key"}},
            }
        )
    )
    assert both.of("Secret") == []
    assert both.container()["envFrom"] == [{"configMapRef": {"name": FULLNAME}}]
    assert {e["name"] for e in both.container()["env"]} == {"CHECKPOINT_GATEWAY_BACKEND", PAGE_KEY}


class _NoDuplicateKeys(yaml.SafeLoader):
    """Refuses a key repeated in one mapping (PyYAML would keep the last one silently)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys = [loader.construct_object(k) for k, _ in node.value]
    assert len(keys) == len(set(keys)), f"a key twice: {sorted(keys)}"
    return loader.construct_mapping(node)


_NoDuplicateKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def test_extra_env_replaces_a_setting_instead_of_repeating_it() -> None:
    rendered = render(
        {
            "extraEnv": {
                "CHECKPOINT_GATEWAY_REFLECTION": "on",
                "CHECKPOINT_GATEWAY_LOG_LEVEL": "debug",
            },
            "extraSecretEnv": {PAGE_KEY: "chosen-by-hand"},
        }
    )
    for path, text in rendered.items():
        if not path.endswith("NOTES.txt"):
            list(yaml.load_all(text, Loader=_NoDuplicateKeys))
    manifests = Manifests(rendered)
    assert manifests.config()["CHECKPOINT_GATEWAY_REFLECTION"] == "on"
    assert manifests.config()["CHECKPOINT_GATEWAY_LOG_LEVEL"] == "debug"
    assert page_key(manifests) == "chosen-by-hand"


def test_auth_values_render_three_authenticated_replicas_on_postgresql(auth: Manifests) -> None:
    deployment = auth.one("Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    data = auth.config()
    _, principals = secret_volume(auth, "principals")
    assert data["CHECKPOINT_GATEWAY_AUTH_PRINCIPALS_FILE"] == (
        f"{principals['mountPath']}/principals.yaml"
    )
    assert data["CHECKPOINT_GATEWAY_JWT_JWKS_URL"].startswith("https://")
    assert data["CHECKPOINT_GATEWAY_JWT_ISSUER"] == "https://login.example.com/"
    assert data["CHECKPOINT_GATEWAY_JWT_AUDIENCE"] == "checkpoint-gateway"
    assert data["CHECKPOINT_GATEWAY_LIMIT_IN_FLIGHT"] == "64"
    assert data["CHECKPOINT_GATEWAY_METRICS_AUTH"] == "true"
    assert data["CHECKPOINT_GATEWAY_TLS_CLIENT_CA_FILE"].endswith("/ca.crt")
    # The three replicas share one page token key: the chart's Secret, read by every Pod.
    assert set(auth.one("Secret")["data"]) == {PAGE_KEY}
    assert {"secretRef": {"name": FULLNAME}} in auth.container()["envFrom"]
    (endpoint,) = auth.one("ServiceMonitor")["spec"]["endpoints"]
    assert endpoint["authorization"]["credentials"]["name"] == "checkpoint-gateway-metrics-token"
    # Mutual TLS: the probes present tls.crt and need no principal (health is open).
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert "--client-cert" in auth.container()[probe]["exec"]["command"]
    assert "bearer tokens and client certificates of the principals file" in auth.notes
    assert "WARNING" not in auth.notes


def test_notes_warn_when_tokens_would_cross_in_clear() -> None:
    notes = Manifests(render(AUTH_FEATURES["principals"])).notes
    assert "WARNING: TLS is off, so tokens cross the network in clear" in notes


def test_a_secret_update_reaches_the_gateway_through_the_directory_mount(tmp_path: Path) -> None:
    """The kubelet updates a Secret volume by writing the new files into a new hidden
    directory and swapping the ..data symlink; the key's file is a symlink through it."""
    mount = tmp_path / "principals"
    mount.mkdir()

    def publish(version: str, text: str) -> None:
        (mount / version).mkdir()
        (mount / version / "principals.yaml").write_text(text)
        (mount / "..data_tmp").symlink_to(version)
        os.replace(mount / "..data_tmp", mount / "..data")  # atomic, as the kubelet does

    def entry(token: str) -> str:
        return dump_example("agent", "team-a", ["read", "write"], token)

    publish("..v1", entry("tok-old-0123456789abcdef"))
    (mount / "principals.yaml").symlink_to("..data/principals.yaml")
    now = [0.0]
    principals = PrincipalsFile(mount / "principals.yaml", clock=lambda: now[0])
    assert principals.by_token("tok-old-0123456789abcdef") is not None

    publish("..v2", entry("tok-new-0123456789abcdef"))
    now[0] += 1.0  # the gateway looks at the file at most once a second
    assert principals.by_token("tok-new-0123456789abcdef") is not None
    assert principals.by_token("tok-old-0123456789abcdef") is None


def test_rendered_auth_settings_start_a_gateway_whose_probe_passes(tmp_path: Path) -> None:
    """ci/auth-values.yaml's ConfigMap and Secret, as the Pod gets them (paths moved to
    tmp_path, the backend in memory): the gateway accepts every setting, turns
    authentication on, and the rendered mutual-TLS probe passes without a credential."""
    tls_dir = tmp_path / "tls"
    make_cert(tls_dir, SERVER_NAME)
    (tls_dir / "ca.crt").write_bytes((tls_dir / "tls.crt").read_bytes())
    values = copy.deepcopy(VALUES_FILES["auth"])
    values["tls"]["mountPath"] = str(tls_dir)
    manifests = Manifests(render(values))
    _, principals = secret_volume(manifests, "principals")
    (tmp_path / "principals").mkdir()
    (tmp_path / "principals" / "principals.yaml").write_text(
        dump_example("prometheus", "ops", ["metrics"], "tok-prometheus-0123456789")
    )
    env = {
        name: value.replace(principals["mountPath"], str(tmp_path / "principals"))
        for name, value in manifests.config().items()
    }
    assert env["CHECKPOINT_GATEWAY_CONSOLE_LISTEN"] == "0.0.0.0:8080"
    env.update(
        CHECKPOINT_GATEWAY_LISTEN="127.0.0.1:0",
        CHECKPOINT_GATEWAY_METRICS_LISTEN="127.0.0.1:0",
        CHECKPOINT_GATEWAY_CONSOLE_LISTEN="127.0.0.1:0",
        CHECKPOINT_GATEWAY_BACKEND="memory://",
        CHECKPOINT_GATEWAY_PAGE_TOKEN_KEY=page_key(manifests),
    )
    env = {k: v for k, v in env.items() if not k.startswith("CHECKPOINT_GATEWAY_POSTGRES_")}
    gateway = GatewayProcess([], cwd=tmp_path, env=env)
    try:
        port = gateway.wait_listening()
        assert (
            "authentication on (bearer tokens and client certificates of the principals file, JWTs)"
            in gateway.output()
        )
        assert "mutual TLS" in gateway.output()
        assert "console on https://127.0.0.1:" in gateway.output()  # the gateway's certificate
        command = manifests.container()["readinessProbe"]["exec"]["command"]
        command = [
            sys.executable,
            str(CHART / "files" / "grpc-health-probe.py"),
            f"127.0.0.1:{port}",
            *command[3:],
        ]
        passed = run(command)
        assert passed.returncode == 0, passed.stderr
        assert passed.stdout.strip() == "SERVING"
    finally:
        assert gateway.stop() == 0


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
        (
            {"auth": {"jwt": {**JWT_CLAIMS, "jwksExistingSecret": "jwks", "jwksUrl": JWKS_URL}}},
            "auth.jwt: give jwksExistingSecret or jwksUrl, not both",
        ),
        (
            {"auth": {"jwt": {"jwksUrl": JWKS_URL, "audience": "checkpoint-gateway"}}},
            "auth.jwt with a JWKS needs auth.jwt.issuer and auth.jwt.audience: without them "
            "any token signed by those keys, whoever it was issued to, would be accepted",
        ),
        (
            {"auth": {"jwt": {"jwksExistingSecret": "jwks", "issuer": "https://idp.example/"}}},
            "auth.jwt with a JWKS needs auth.jwt.issuer and auth.jwt.audience",
        ),
        (
            {"auth": {"jwt": {"issuer": "https://idp.example/"}}},
            "auth.jwt settings are set but no JWKS: set auth.jwt.jwksExistingSecret or "
            "auth.jwt.jwksUrl",
        ),
        (
            {"metrics": {"auth": True}},
            "metrics.auth=true needs auth.principals.existingSecret: the scraper's bearer "
            "token is looked up in the principals file",
        ),
        (
            {"auth": PRINCIPALS, "metrics": {"auth": True, "serviceMonitor": {"enabled": True}}},
            "metrics.auth=true with metrics.serviceMonitor.enabled=true needs "
            "metrics.serviceMonitor.bearerTokenSecret.name: a Secret in namespace agents "
            "holding the token of a principal with the metrics role",
        ),
        (
            {"auth": PRINCIPALS, "metrics": {"enabled": False, "auth": True}},
            "metrics.auth=true needs metrics.enabled=true",
        ),
        (
            {"console": {"enabled": True}},
            "console.enabled=true needs authentication (auth.principals.existingSecret or "
            "auth.jwt): without it the console serves loopback only, which no Service reaches",
        ),
        (
            {"extraEnv": {"CHECKPOINT_GATEWAY_PAGE_TOKEN_KEY": "k"}},
            "extraEnv.CHECKPOINT_GATEWAY_PAGE_TOKEN_KEY: a secret does not go in the ConfigMap",
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
        (
            {"auth": {"principals": {"existingSecrett": "p"}}},
            "additional properties 'existingSecrett'",
        ),
        ({"auth": {"principals": {"existingSecret": "Team_A"}}}, "/auth/principals/existingSecret"),
        (
            {"auth": {"principals": {"existingSecretKey": "a/b"}}},
            "/auth/principals/existingSecretKey",
        ),
        ({"auth": {"jwt": {"jwksUrl": "ftp://idp.example/jwks"}}}, "/auth/jwt/jwksUrl"),
        ({"auth": {"jwt": {"leewaySeconds": 301}}}, "/auth/jwt/leewaySeconds"),
        ({"auth": {"limits": {"inFlight": 0}}}, "/auth/limits/inFlight"),
        ({"auth": {"limits": {"requestsPerSecond": "lots"}}}, "/auth/limits/requestsPerSecond"),
        ({"auth": {"pageTokenKey": {"value": "k"}}}, "additional properties 'value'"),
        ({"config": {"reflection": "yes"}}, "/config/reflection"),
        ({"metrics": {"auth": "true"}}, "/metrics/auth"),
        (
            {"metrics": {"serviceMonitor": {"bearerTokenSecret": {"name": "t", "keys": "t"}}}},
            "additional properties 'keys'",
        ),
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


def test_state_storage_values_reach_the_config_map(default: Manifests) -> None:
    data = Manifests(
        render(
            {
                "config": {
                    "stateCompression": False,
                    "stateSnapshotEvery": 32,
                    "stateCacheBytes": "128MiB",
                }
            }
        )
    ).config()
    assert data["CHECKPOINT_GATEWAY_STATE_COMPRESSION"] == "false"
    assert data["CHECKPOINT_GATEWAY_STATE_SNAPSHOT_EVERY"] == "32"
    assert data["CHECKPOINT_GATEWAY_STATE_CACHE_BYTES"] == "128MiB"
    # Unset: the gateway's defaults (compression on), not a key of the chart's own.
    assert not [name for name in default.config() if "_STATE_" in name]
    with pytest.raises(Exception, match="stateSnapshotEvery"):
        render({"config": {"stateSnapshotEvery": 0}})
