"""The SDK harness itself: its gateways require the token, and the TLS one serves TLS.

The Python client is the reference here, so a failure in another language's runner is
that SDK's, not the harness's.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from checkpoint_client import Checkpoint, CheckpointClient, Unauthenticated

from .conftest import TOKEN, SdkGateway


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_gateways_require_the_token_and_share_the_backend(
    sdk_gateway: Callable[..., SdkGateway], backend: str
) -> None:
    gw = sdk_gateway(backend, tls=True)
    env = gw.env()
    assert gw.ca is not None
    with (
        CheckpointClient(env["CHECKPOINT_GATEWAY_TARGET"], timeout=10) as anonymous,
        pytest.raises(Unauthenticated),
    ):
        anonymous.latest("harness")
    with CheckpointClient(env["CHECKPOINT_GATEWAY_TARGET"], token=TOKEN, timeout=10) as client:
        saved = client.save(Checkpoint("harness", {"n": 1}))
    secure = grpc.ssl_channel_credentials(root_certificates=gw.ca.read_bytes())
    with CheckpointClient(
        env["CHECKPOINT_GATEWAY_TLS_TARGET"], credentials=secure, token=TOKEN, timeout=10
    ) as client:
        if backend == "memory":
            # Each memory gateway has its own store.
            assert client.list("harness").checkpoints == []
        else:
            assert client.load("harness", saved.checkpoint_id).state == {"n": 1}
