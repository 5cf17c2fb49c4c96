"""What a gateway shows anyone who connects can be turned off: server reflection
(``--reflection false``) and /metrics (``--metrics-listen off``)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from checkpoint_client import Checkpoint, CheckpointClient
from tests.gateway_process import GatewayProcess


def _services(target: str) -> set[str]:
    with grpc.insecure_channel(target) as channel:
        return set(ProtoReflectionDescriptorDatabase(channel).get_services())


@pytest.mark.parametrize("via", ["flag", "env"])
def test_reflection_and_metrics_can_be_turned_off(tmp_path: Path, via: str) -> None:
    args = ["--listen", "127.0.0.1:0", "--backend", "memory://"]
    env = {}
    if via == "flag":
        args += ["--reflection", "false", "--metrics-listen", "off"]
    else:
        env = {"CHECKPOINT_GATEWAY_REFLECTION": "off", "CHECKPOINT_GATEWAY_METRICS_LISTEN": "off"}
    gw = GatewayProcess(args, cwd=tmp_path, env=env)
    try:
        gw.wait_listening()
        with pytest.raises(grpc.RpcError) as err:
            _services(gw.target)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED  # type: ignore[attr-defined]
        with CheckpointClient(gw.target) as client:  # the API itself is served
            assert client.save(Checkpoint("run", {})).version == 1
    finally:
        assert gw.stop() == 0, gw.output()
    assert "metrics on" not in gw.output()


def test_reflection_is_on_by_default(tmp_path: Path) -> None:
    gw = GatewayProcess(["--listen", "127.0.0.1:0", "--backend", "memory://"], cwd=tmp_path)
    try:
        gw.wait_listening()
        assert "checkpoint_gateway.v1.CheckpointService" in _services(gw.target)
        assert "metrics on http://127.0.0.1:" in gw.output()
    finally:
        assert gw.stop() == 0, gw.output()
