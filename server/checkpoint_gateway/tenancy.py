"""The tenant wall: every call confined to the caller's tenant, once, above the backend.

With authentication on, each call acts in one tenant (``context.tenant``, set by the
authentication interceptor). This layer, the outermost of the store chain, makes the
tenant part of every execution id the backend sees: ``<tenant>/<execution_id>``. A
tenant name holds no ``/`` (``auth.check_tenant``), so no two tenants' keys can meet,
and two tenants may use the same execution ids. Answers come back with the prefix taken
off (checkpoints, execution lists, error messages). The operations across executions
(search, executions, delete_where) are confined to the prefix by the backend, which reads
it from ``context.execution_prefix``; page tokens are bound to it, so a token of one
tenant is refused in another. Retention and TTL act within lineages, which now belong to
one tenant each.

Without authentication the tenant is "" and this layer is not in the chain: ids are
stored as they come, as before.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from checkpoint_client import (
    Checkpoint,
    CheckpointError,
    CheckpointPage,
    CheckpointStore,
    ExecutionInfo,
    ExecutionPage,
    NamespacePage,
    PendingWrite,
    PruneStrategy,
)

from . import context as call_context
from . import validation as v
from .layer import StoreLayer

__all__ = ["TENANT_ID_ROOM", "TenantStore"]

_R = TypeVar("_R")

#: How much longer than a caller's execution ids the backend's must be allowed to be: a
#: tenant name (63 at most) and its separator.
TENANT_ID_ROOM = 64


class TenantStore(StoreLayer):
    """Confines every call to ``context.tenant``; see the module docstring.

    Args:
        inner: the rest of the chain.
        limits: the limits callers see (ids are checked against them before the tenant
            prefix makes them longer).
    """

    def __init__(self, inner: CheckpointStore, *, limits: v.Limits) -> None:
        super().__init__(inner)
        self._limits = limits

    @staticmethod
    def _prefix() -> str:
        tenant = call_context.tenant.get()
        return f"{tenant}/" if tenant else ""

    def _id(self, execution_id: object, prefix: str, field: str = "execution_id") -> str:
        return prefix + v.check_name(execution_id, field, self._limits)

    async def _call(
        self, operation: str, execution_id: str, call: Callable[[], Awaitable[_R]]
    ) -> _R:
        prefix = self._prefix()
        token = call_context.execution_prefix.set(prefix)
        try:
            return await call()
        except CheckpointError as exc:
            if not prefix:
                raise
            # Messages quote ids with repr(): take the tenant off the ones they name.
            text = str(exc).replace(f"'{prefix}", "'").replace(f'"{prefix}', '"')
            raise type(exc)(text) from None
        finally:
            call_context.execution_prefix.reset(token)

    @staticmethod
    def _out(cp: Checkpoint, prefix: str) -> Checkpoint:
        return cp.replace(execution_id=cp.execution_id.removeprefix(prefix))

    def _page(self, page: CheckpointPage, prefix: str) -> CheckpointPage:
        if not prefix:
            return page
        return CheckpointPage(
            [self._out(cp, prefix) for cp in page.checkpoints], page.next_page_token
        )

    # -- every method: execution ids in with the prefix, out without it ---------------------

    async def save(
        self, checkpoint: Checkpoint, *, expected_version: int | None = None
    ) -> Checkpoint:
        prefix = self._prefix()
        if not isinstance(checkpoint, Checkpoint):
            return await super().save(checkpoint, expected_version=expected_version)
        inside = checkpoint.replace(execution_id=self._id(checkpoint.execution_id, prefix))
        return self._out(await super().save(inside, expected_version=expected_version), prefix)

    async def save_many(
        self,
        checkpoints: Sequence[Checkpoint],
        *,
        expected_versions: Sequence[int | None] | None = None,
    ) -> builtins.list[Checkpoint | CheckpointError]:
        prefix = self._prefix()
        if isinstance(checkpoints, str | bytes) or not isinstance(checkpoints, Sequence):
            return await super().save_many(checkpoints, expected_versions=expected_versions)
        out: builtins.list[Checkpoint | CheckpointError | None] = [None] * len(checkpoints)
        inside: builtins.list[Checkpoint] = []
        versions: builtins.list[int | None] = []
        where: builtins.list[int] = []
        given = builtins.list(expected_versions) if expected_versions is not None else None
        for i, cp in enumerate(checkpoints):
            try:
                if not isinstance(cp, Checkpoint):
                    inside.append(cp)
                else:
                    inside.append(cp.replace(execution_id=self._id(cp.execution_id, prefix)))
            except CheckpointError as exc:  # this item's id is bad: it fails alone
                out[i] = exc
                continue
            where.append(i)
            versions.append(given[i] if given is not None and i < len(given) else None)
        results = await super().save_many(
            inside, expected_versions=versions if given is not None else None
        )
        for i, result in zip(where, results, strict=True):
            out[i] = self._out(result, prefix) if isinstance(result, Checkpoint) else result
        return [r for r in out if r is not None]

    async def load(
        self, execution_id: str, checkpoint_id: str, *, namespace: str = ""
    ) -> Checkpoint:
        prefix = self._prefix()
        found = await super().load(
            self._id(execution_id, prefix), checkpoint_id, namespace=namespace
        )
        return self._out(found, prefix)

    async def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        prefix = self._prefix()
        return self._out(
            await super().latest(self._id(execution_id, prefix), namespace=namespace), prefix
        )

    async def list(
        self,
        execution_id: str,
        *,
        namespace: str = "",
        limit: int | None = None,
        page_token: str | None = None,
        before: str | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        all_namespaces: bool = False,
        with_writes: bool = False,
    ) -> CheckpointPage:
        prefix = self._prefix()
        page = await super().list(
            self._id(execution_id, prefix),
            namespace=namespace,
            limit=limit,
            page_token=page_token,
            before=before,
            metadata_filter=metadata_filter,
            all_namespaces=all_namespaces,
            with_writes=with_writes,
        )
        return self._page(page, prefix)

    async def search(
        self,
        metadata_filter: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
        with_writes: bool = False,
    ) -> CheckpointPage:
        prefix = self._prefix()
        page = await super().search(
            metadata_filter, limit=limit, page_token=page_token, with_writes=with_writes
        )
        return self._page(page, prefix)

    async def namespaces(
        self, execution_id: str, *, limit: int | None = None, page_token: str | None = None
    ) -> NamespacePage:
        prefix = self._prefix()
        return await super().namespaces(
            self._id(execution_id, prefix), limit=limit, page_token=page_token
        )

    async def executions(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ExecutionPage:
        prefix = self._prefix()
        page = await super().executions(limit=limit, page_token=page_token)
        if not prefix:
            return page
        return ExecutionPage(
            [
                ExecutionInfo(x.execution_id.removeprefix(prefix), x.updated_at)
                for x in page.executions
            ],
            page.next_page_token,
        )

    async def delete_where(
        self, metadata_filter: Mapping[str, Any], *, execution_id: str | None = None
    ) -> int:
        prefix = self._prefix()
        inside = None if execution_id is None else self._id(execution_id, prefix)
        return await super().delete_where(metadata_filter, execution_id=inside)

    async def copy_execution(self, source_execution_id: str, target_execution_id: str) -> int:
        prefix = self._prefix()
        return await super().copy_execution(
            self._id(source_execution_id, prefix, "source_execution_id"),
            self._id(target_execution_id, prefix, "target_execution_id"),
        )

    async def prune(
        self, execution_ids: Sequence[str], *, strategy: PruneStrategy = "keep_latest"
    ) -> int:
        prefix = self._prefix()
        ids = v.check_execution_ids(execution_ids, self._limits)
        return await super().prune([prefix + e for e in ids], strategy=strategy)

    async def ancestors(
        self,
        execution_id: str,
        checkpoint_id: str,
        *,
        namespace: str = "",
        include_self: bool = False,
        channels: Sequence[str] | None = None,
        include_state: bool = False,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> CheckpointPage:
        prefix = self._prefix()
        page = await super().ancestors(
            self._id(execution_id, prefix),
            checkpoint_id,
            namespace=namespace,
            include_self=include_self,
            channels=channels,
            include_state=include_state,
            limit=limit,
            page_token=page_token,
        )
        return self._page(page, prefix)

    async def delete(self, execution_id: str, checkpoint_id: str, *, namespace: str = "") -> bool:
        prefix = self._prefix()
        return await super().delete(
            self._id(execution_id, prefix), checkpoint_id, namespace=namespace
        )

    async def clear(self, execution_id: str, *, namespace: str | None = None) -> int:
        prefix = self._prefix()
        return await super().clear(self._id(execution_id, prefix), namespace=namespace)

    async def put_writes(
        self,
        execution_id: str,
        checkpoint_id: str,
        writes: Sequence[PendingWrite],
        *,
        namespace: str = "",
    ) -> int:
        prefix = self._prefix()
        return await super().put_writes(
            self._id(execution_id, prefix), checkpoint_id, writes, namespace=namespace
        )
