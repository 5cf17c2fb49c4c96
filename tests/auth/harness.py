"""A gateway with authentication and tenants, built as `checkpoint-gateway serve` builds
one, on any backend; principals, tokens and JWTs to call it with."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from checkpoint_client import AsyncCheckpointClient
from checkpoint_gateway import chain, config
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.auth import hash_token
from checkpoint_gateway.backends import Backend
from checkpoint_gateway.metrics import Metrics
from checkpoint_gateway.serving import _auth_interceptor
from checkpoint_gateway.tenancy import TENANT_ID_ROOM

MakeBackend = Callable[..., Awaitable[Backend]]

TOKENS = {
    "alice": "tok-alice-0123456789abcdef",  # team-a, read + write
    "bob": "tok-bob-0123456789abcdef",  # team-b, read + write
    "reader": "tok-reader-0123456789abcdef",  # team-a, read only
    "ops": "tok-ops-0123456789abcdef",  # ops, admin
    "scraper": "tok-scraper-0123456789abcdef",  # metrics only
}


def principals_yaml(tokens: Mapping[str, str] = TOKENS, **extra: Any) -> str:
    entries = [
        {"name": "alice", "tenant": "team-a", "roles": ["read", "write"]},
        {"name": "bob", "tenant": "team-b", "roles": ["read", "write"]},
        {"name": "reader", "tenant": "team-a", "roles": ["read"]},
        {"name": "ops", "tenant": "ops", "roles": ["admin"]},
        {"name": "scraper", "tenant": "ops", "roles": ["metrics"]},
    ]
    for entry in entries:
        token = tokens.get(entry["name"])
        entry["tokens"] = [hash_token(token)] if token else []
        entry.update(extra.get(entry["name"], {}))
    return json.dumps({"principals": entries})


@dataclass
class Keys:
    """An RSA key pair, its JWKS file, and JWTs signed with it."""

    private: rsa.RSAPrivateKey
    jwks_file: Path
    issuer: str = "https://issuer.test"
    audience: str = "checkpoint-gateway"

    @classmethod
    def make(cls, directory: Path) -> Keys:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
        jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
        path = directory / "jwks.json"
        path.write_text(json.dumps({"keys": [jwk]}))
        return cls(private, path)

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "sub": "agent-7",
            "tenant": "team-a",
            "roles": ["read", "write"],
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now - 1,
            "exp": now + 300,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.private, algorithm="RS256", headers={"kid": "k1"})


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


@dataclass
class Secured:
    gateway: Gateway
    backend: Backend
    metrics: Metrics
    principals_file: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.gateway.port}"

    def client(self, token: str | None = None, **kw: Any) -> AsyncCheckpointClient:
        metadata = bearer(token) if token else []
        metadata += kw.pop("metadata", [])
        return AsyncCheckpointClient(self.target, metadata=metadata, timeout=30, **kw)


@asynccontextmanager
async def secured(
    make_backend: MakeBackend,
    tmp_path: Path,
    *,
    keys: Keys | None = None,
    env: Mapping[str, str] | None = None,
    credentials: Any = None,
    principals: str | None = None,
) -> AsyncIterator[Secured]:
    """A gateway as `serve` builds it with these settings (and a principals file)."""
    path = tmp_path / "principals.yaml"
    path.write_text(principals or principals_yaml())
    environ = {
        "CHECKPOINT_GATEWAY_AUTH_PRINCIPALS_FILE": str(path),
        "CHECKPOINT_GATEWAY_BACKEND": "memory://",
        **(
            {
                "CHECKPOINT_GATEWAY_JWT_JWKS_FILE": str(keys.jwks_file),
                "CHECKPOINT_GATEWAY_JWT_ISSUER": keys.issuer,
                "CHECKPOINT_GATEWAY_JWT_AUDIENCE": keys.audience,
            }
            if keys
            else {}
        ),
        **(env or {}),
    }
    settings = config.load(environ=environ)
    backend = await make_backend()
    # As serving._open does with tenants: room for the tenant prefix below the tenant layer.
    backend.limits = replace(backend.limits, max_id_length=settings.max_id_length + TENANT_ID_ROOM)
    metrics = Metrics()
    store = chain.build(backend, settings, metrics=metrics)
    gateway = await Gateway.start(
        store,
        listen="127.0.0.1:0",
        interceptors=[_auth_interceptor(settings, metrics)],
        credentials=credentials,
    )
    try:
        yield Secured(gateway, backend, metrics, path)
    finally:
        await gateway.stop(grace=1.0)
