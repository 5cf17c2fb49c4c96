"""Render the chart with the real Helm engine (helm-python-sdk embeds Helm's Go SDK)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "checkpoint-gateway"
GRAFANA = ROOT / "grafana"
KUBE_VERSION = "1.30.0"
RELEASE = "cg"
NAMESPACE = "agents"
FULLNAME = f"{RELEASE}-checkpoint-gateway"

helm.disable_logging()  # the loader logs each symlink it follows; findings are data anyway


def values_file(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "ci" / name).read_text())
    return loaded


def render(values: dict[str, Any] | None = None, *, chart: Path = CHART) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` produces (schema checked)."""
    with helm.Chart.load(chart) as loaded:
        return loaded.render(values or {}, name=RELEASE, namespace=NAMESPACE, is_install=True)


def objects(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object in the rendered templates (NOTES.txt left out)."""
    found: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        found.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return found


class Manifests:
    """The objects of one render, looked up by kind (and name)."""

    def __init__(self, rendered: dict[str, str]) -> None:
        self.rendered = rendered
        self.all = objects(rendered)
        self.notes = next((t for p, t in rendered.items() if p.endswith("NOTES.txt")), "")

    def kinds(self) -> list[str]:
        return sorted(o["kind"] for o in self.all)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.all if o["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        matches = [o for o in self.of(kind) if name is None or o["metadata"]["name"] == name]
        assert len(matches) == 1, f"{len(matches)} {kind} objects named {name}: {self.kinds()}"
        return matches[0]

    def container(self) -> dict[str, Any]:
        containers = self.one("Deployment")["spec"]["template"]["spec"]["containers"]
        assert len(containers) == 1
        c: dict[str, Any] = containers[0]
        return c

    def config(self) -> dict[str, str]:
        data: dict[str, str] = self.one("ConfigMap", FULLNAME)["data"]
        return data
