"""Authentication, roles, tenants and per-principal limits, through a real gateway built
as `serve` builds it. Authentication and the tenant wall run on every backend."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from checkpoint_client import (
    AsyncCheckpointClient,
    Channel,
    Checkpoint,
    NotFound,
    PendingWrite,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from checkpoint_gateway.backends import Backend, MemoryStore
from tests.certs import self_signed
from tests.system.test_client_options import make_cert

from .harness import TOKENS, Keys, MakeBackend, bearer, principals_yaml, secured

Rpc = Callable[[AsyncCheckpointClient], Awaitable[Any]]

#: One call of every RPC of the service.
RPCS: dict[str, Rpc] = {
    "Save": lambda c: c.save(Checkpoint("run", {"x": 1}, checkpoint_id="x")),
    "SaveMany": lambda c: c.save_many([Checkpoint("run", {"y": 1}, checkpoint_id="y")]),
    "Load": lambda c: c.load("run", "x"),
    "Latest": lambda c: c.latest("run"),
    "List": lambda c: c.list("run"),
    "Search": lambda c: c.search({"run_id": "r1"}),
    "ListNamespaces": lambda c: c.namespaces("run"),
    "ListExecutions": lambda c: c.executions(),
    "Ancestors": lambda c: c.ancestors("run", "x"),
    "Delete": lambda c: c.delete("run", "x"),
    "Clear": lambda c: c.clear("run"),
    "PutWrites": lambda c: c.put_writes("run", "x", [PendingWrite("t", 0, "c", b"w")]),
    "DeleteWhere": lambda c: c.delete_where({"run_id": "r1"}),
    "CopyExecution": lambda c: c.copy_execution("run", "run-copy"),
    "Prune": lambda c: c.prune(["run"]),
}
WRITES = {
    "Save",
    "SaveMany",
    "Delete",
    "Clear",
    "PutWrites",
    "DeleteWhere",
    "CopyExecution",
    "Prune",
}


async def _memory(**options: Any) -> Backend:
    return MemoryStore(**options)


async def test_every_rpc_needs_a_valid_credential(
    make_backend: MakeBackend, tmp_path: Path
) -> None:
    keys = Keys.make(tmp_path)
    bad = {
        "none": None,
        "unknown token": "tok-nobody",
        "expired JWT": keys.token(exp=int(time.time()) - 120, nbf=None),
        "foreign-audience JWT": keys.token(aud="someone-else"),
        "foreign-issuer JWT": keys.token(iss="https://evil.test"),
        "JWT valid only later": keys.token(nbf=int(time.time()) + 600),
        "JWT signed by another key": Keys.make(tmp_path / "..").token(),
        "JWT without a tenant": keys.token(tenant=None),
    }
    async with secured(make_backend, tmp_path, keys=keys) as gw:
        refused = 0
        for token in bad.values():
            async with gw.client(token) as client:
                for rpc in RPCS.values():
                    with pytest.raises(Unauthenticated):
                        await rpc(client)
                    refused += 1
        assert refused == len(bad) * len(RPCS)
        # Nothing reached the backend.
        assert (await gw.backend.executions()).executions == []
        # The health service stays open to probes, which carry no credentials.
        async with grpc.aio.insecure_channel(gw.target) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(  # type: ignore[no-untyped-call]
                health_pb2.HealthCheckRequest(service="")
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        # Valid credentials pass: a token, and a JWT.
        async with gw.client(TOKENS["alice"]) as alice:
            await alice.save(Checkpoint("run", {}))
        async with gw.client(keys.token()) as agent:
            assert (await agent.latest("run")).execution_id == "run"  # the same tenant


async def test_a_revoked_token_is_refused_after_the_file_is_reloaded(tmp_path: Path) -> None:
    async with secured(_memory, tmp_path) as gw:
        async with gw.client(TOKENS["alice"]) as alice:
            await alice.save(Checkpoint("run", {}))
            # Revoke alice's token: the file is read again within a second, no restart.
            gw.principals_file.write_text(principals_yaml({**TOKENS, "alice": ""}))
            deadline = time.monotonic() + 10
            while True:
                try:
                    await alice.latest("run")
                except Unauthenticated:
                    break
                assert time.monotonic() < deadline, "the revoked token still works"
                await asyncio.sleep(0.05)  # polling the gateway for the reload
        async with gw.client(TOKENS["bob"]) as bob:  # the others are untouched
            await bob.save(Checkpoint("run", {}))


async def test_tenants_never_see_or_touch_each_others_data(
    make_backend: MakeBackend, tmp_path: Path
) -> None:
    async with secured(make_backend, tmp_path) as gw:
        async with gw.client(TOKENS["alice"]) as a, gw.client(TOKENS["bob"]) as b:
            # Team A's data, in executions whose names team B uses too.
            await a.save(
                Checkpoint(
                    "run",
                    {"a": 1},
                    checkpoint_id="x",
                    metadata={"run_id": "r1"},
                    channels={"m": Channel("1", "secret")},
                )
            )
            await a.save(Checkpoint("run", {"a": 2}, checkpoint_id="z", parent_id="x"))
            await a.put_writes("run", "x", [PendingWrite("t", 0, "c", b"a-write")])
            await a.save(Checkpoint("a-only", {}, metadata={"run_id": "r1"}))
            before = await a.list("run", all_namespaces=True, with_writes=True)

            # Every RPC, as team B, on the same names.
            crossed = 0
            attempts = 0
            for name, rpc in RPCS.items():
                attempts += 1
                try:
                    result = await rpc(b)
                except NotFound:
                    continue
                # What B got must be B's own (or nothing of A's).
                if name in ("Load", "Latest") and "a" in result.state:
                    crossed += 1
                if name in ("List", "Ancestors", "Search") and any(
                    "a" in cp.state for cp in result.checkpoints if isinstance(cp.state, dict)
                ):
                    crossed += 1
                if name == "ListExecutions" and "a-only" in {
                    x.execution_id for x in result.executions
                }:
                    crossed += 1
            assert attempts == len(RPCS)
            assert crossed == 0
            for probe in (
                lambda: b.load("run", "z"),
                lambda: b.load("a-only", "x"),
                lambda: b.latest("a-only"),
                lambda: b.ancestors("run", "z"),
            ):
                with pytest.raises(NotFound):
                    await probe()
            with pytest.raises(NotFound):
                await b.copy_execution("a-only", "stolen")
            await b.save(Checkpoint("run", {"y": 1}))
            assert [x.execution_id for x in (await b.executions()).executions] == ["run"]
            assert (await b.search({"run_id": "r1"})).checkpoints == []
            assert await b.delete_where({"run_id": "r1"}) == 0
            assert await b.prune(["a-only"]) == 0
            # A's data is exactly as it was, and the same name in B is B's alone.
            after = await a.list("run", all_namespaces=True, with_writes=True)
            assert after == before
            assert (await a.load("run", "x")).channels["m"].value == "secret"
            assert len((await a.search({"run_id": "r1"})).checkpoints) == 2
            assert (await b.latest("run")).state == {"y": 1}
            # A page token of one tenant is refused in the other.
            token = (await a.executions(limit=1)).next_page_token
            assert token is not None
            with pytest.raises(Exception, match="page_token"):
                await b.executions(page_token=token)
        # The backend holds both tenants' "run", apart.
        stored = {x.execution_id for x in (await gw.backend.executions()).executions}
        assert {"team-a/run", "team-b/run", "team-a/a-only"} <= stored


async def test_roles_and_the_admins_tenant_header(tmp_path: Path) -> None:
    async with secured(_memory, tmp_path) as gw:
        async with gw.client(TOKENS["alice"]) as alice:
            await alice.save(Checkpoint("run", {"v": 1}, checkpoint_id="x"))
        async with gw.client(TOKENS["reader"]) as reader:
            assert (await reader.latest("run")).state == {"v": 1}  # same tenant, reads
            for name in sorted(WRITES):
                with pytest.raises(PermissionDenied, match="write"):
                    await RPCS[name](reader)
        async with gw.client(TOKENS["scraper"]) as scraper:
            with pytest.raises(PermissionDenied):
                await scraper.latest("run")
        # An admin may act in another tenant, by naming it; nobody else may.
        async with gw.client(TOKENS["ops"], metadata=[("x-checkpoint-tenant", "team-a")]) as ops:
            assert (await ops.latest("run")).state == {"v": 1}
        async with gw.client(TOKENS["ops"]) as ops:
            with pytest.raises(NotFound):
                await ops.latest("run")  # its own tenant: ops
        async with gw.client(TOKENS["bob"], metadata=[("x-checkpoint-tenant", "team-a")]) as bob:
            with pytest.raises(PermissionDenied, match="another tenant"):
                await bob.latest("run")
        denied = gw.metrics.auth_denied
        assert denied.labels("role")._value.get() == len(WRITES) + 1
        assert denied.labels("tenant")._value.get() == 1


async def test_a_jwt_principal_acts_in_its_claimed_tenant(tmp_path: Path) -> None:
    keys = Keys.make(tmp_path)
    async with secured(_memory, tmp_path, keys=keys) as gw:
        async with gw.client(TOKENS["bob"]) as bob:
            await bob.save(Checkpoint("run", {"team": "b"}))
        async with gw.client(keys.token(tenant="team-b", roles="read")) as agent:
            assert (await agent.latest("run")).state == {"team": "b"}
            with pytest.raises(PermissionDenied):
                await agent.save(Checkpoint("run", {}))


async def test_limits_per_principal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="checkpoint_gateway.auth")
    env = {"CHECKPOINT_GATEWAY_LIMIT_REQUESTS_PER_SECOND": "3"}
    async with secured(_memory, tmp_path, env=env) as gw:
        async with gw.client(TOKENS["alice"]) as alice, gw.client(TOKENS["bob"]) as bob:
            refused = None
            for _ in range(10):
                try:
                    await alice.executions()
                except ResourceExhausted as exc:
                    refused = exc
                    break
            assert refused is not None, "the rate limit never refused"
            assert "retry after" in str(refused)
            # One fleet's excess does not starve another.
            await bob.executions()
        assert gw.metrics.limited.labels("rate")._value.get() >= 1
        # The log names the principal, never its token.
        text = caplog.text
        assert "alice" in text
        assert all(token not in text for token in TOKENS.values())


async def test_calls_in_flight_are_bounded_per_principal(tmp_path: Path) -> None:
    gate = asyncio.Event()
    entered = asyncio.Event()

    class Held(MemoryStore):
        async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
            if execution_id == "team-a/held":  # not the gateway's own health probe
                entered.set()
                await gate.wait()
            return await super()._latest(execution_id, namespace)

    async def held(**options: Any) -> Backend:
        return Held(**options)

    extra = {"alice": {"limits": {"in_flight": 1}}}
    async with (
        secured(held, tmp_path, principals=principals_yaml(**extra)) as gw,
        gw.client(TOKENS["alice"]) as alice,
        gw.client(TOKENS["bob"]) as bob,
    ):
        first = asyncio.create_task(alice.latest("held"))
        await entered.wait()
        with pytest.raises(ResourceExhausted, match="in flight"):
            await alice.executions()
        await bob.executions()  # another principal is not held up
        gate.set()
        with pytest.raises(NotFound):
            await first
        await alice.executions()  # the slot is free again


async def test_a_client_certificate_names_its_principal(tmp_path: Path) -> None:
    key, cert = make_cert(tmp_path, "server")
    client_key, client_cert = _spiffe_cert(tmp_path, "spiffe://example.org/ns/a/sa/agent")
    other_key, other_cert = _spiffe_cert(tmp_path, "spiffe://example.org/ns/x/sa/stranger")
    credentials = grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_cert + other_cert, require_client_auth=True
    )
    extra = {"alice": {"certificates": ["spiffe://example.org/ns/a/sa/agent"]}}
    async with secured(
        _memory, tmp_path, credentials=credentials, principals=principals_yaml(**extra)
    ) as gw:
        agent = grpc.ssl_channel_credentials(cert, client_key, client_cert)
        async with gw.client(credentials=agent) as client:
            await client.save(Checkpoint("run", {"by": "cert"}))
        async with gw.client(TOKENS["alice"], credentials=agent) as alice:
            assert (await alice.latest("run")).state == {"by": "cert"}  # alice's tenant
        stranger = grpc.ssl_channel_credentials(cert, other_key, other_cert)
        async with gw.client(credentials=stranger) as client:
            with pytest.raises(Unauthenticated):
                await client.latest("run")


def _spiffe_cert(directory: Path, uri: str) -> tuple[bytes, bytes]:
    key, pem = self_signed(directory, uri.rsplit("/", 1)[-1], san=f"URI:{uri}")
    return key.read_bytes(), pem.read_bytes()


async def test_reflection_is_behind_authentication(tmp_path: Path) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async with (
        secured(_memory, tmp_path) as gw,
        grpc.aio.insecure_channel(gw.target) as channel,
    ):
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def ask(metadata: list[tuple[str, str]]) -> Any:
            call = stub.ServerReflectionInfo(metadata=metadata)
            await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
            await call.done_writing()
            return [reply async for reply in call]

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ask([])
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
        replies = await ask(bearer(TOKENS["reader"]))
        names = {s.name for s in replies[0].list_services_response.service}
        assert "checkpoint_gateway.v1.CheckpointService" in names


async def test_clients_take_a_token_or_a_function_that_refreshes_it(tmp_path: Path) -> None:
    from checkpoint_client import CheckpointClient
    from checkpoint_client.langgraph import GatewaySaver

    async with secured(_memory, tmp_path) as gw:
        current = [TOKENS["alice"]]
        async with AsyncCheckpointClient(gw.target, token=lambda: current[0]) as client:
            await client.save(Checkpoint("run", {"v": 1}))
            current[0] = TOKENS["bob"]  # refreshed: the next call carries the new one
            with pytest.raises(NotFound):
                await client.latest("run")  # bob's tenant
            current[0] = "expired-token"
            with pytest.raises(Unauthenticated):
                await client.latest("run")
        sync = await asyncio.to_thread(CheckpointClient, gw.target, token=TOKENS["alice"])
        try:
            assert (await asyncio.to_thread(sync.latest, "run")).state == {"v": 1}
        finally:
            await asyncio.to_thread(sync.close)
        config = {"configurable": {"thread_id": "lg", "checkpoint_ns": ""}}
        async with GatewaySaver(gw.target, token=TOKENS["alice"]) as saver:
            assert await saver.aget_tuple(config) is None  # type: ignore[arg-type]
        async with GatewaySaver(gw.target, token="wrong") as saver:
            with pytest.raises(Unauthenticated):
                await saver.aget_tuple(config)  # type: ignore[arg-type]


async def test_a_remembered_jwt_still_expires_and_goes_with_its_key(tmp_path: Path) -> None:
    keys = Keys.make(tmp_path)
    env = {"CHECKPOINT_GATEWAY_JWT_LEEWAY_SECONDS": "0"}
    async with secured(_memory, tmp_path, keys=keys, env=env) as gw:
        short = keys.token(exp=int(time.time()) + 2)
        async with gw.client(short) as client:
            await client.executions()
            await client.executions()  # the second call is served from memory
            deadline = time.monotonic() + 10
            while True:
                try:
                    await client.executions()
                except Unauthenticated:
                    break
                assert time.monotonic() < deadline, "an expired JWT is still accepted"
                await asyncio.sleep(0.1)  # polling the gateway until the token expires
        # Rotating the key (a new JWKS file) retires tokens signed by the old one.
        lasting = keys.token()
        async with gw.client(lasting) as client:
            await client.executions()
            Keys.make(tmp_path)  # writes a new jwks.json over the old one
            deadline = time.monotonic() + 10
            while True:
                try:
                    await client.executions()
                except Unauthenticated:
                    break
                assert time.monotonic() < deadline, "a token of a removed key is still accepted"
                await asyncio.sleep(0.1)
