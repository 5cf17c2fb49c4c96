"""Per-call context shared by the layers of the store chain (see ``chain``).

The layers are independent ``CheckpointStore`` wrappers; what one of them knows about the
current call and another needs travels here, in context variables, not in the interface.
"""

from __future__ import annotations

from contextvars import ContextVar

#: Monotonic time (``time.monotonic()``) by which the current RPC must finish; None when
#: the caller set no deadline and no server default applies.
deadline: ContextVar[float | None] = ContextVar("checkpoint_gateway_deadline", default=None)

#: Monotonic time at which an enclosing scope (the servicer's, around the whole RPC)
#: cancels the current call; None when nothing does. The resilient layer needs no timer
#: of its own for a deadline that is not earlier: one timer per call instead of two.
cancelled_at: ContextVar[float | None] = ContextVar("checkpoint_gateway_cancelled_at", default=None)

#: Which attempt at the backend this is: 1 for the first try, 2 for the first retry...
attempt: ContextVar[int] = ContextVar("checkpoint_gateway_attempt", default=1)

#: The execution-id prefix of the caller's tenant ("" without tenants): what the
#: operations across executions (search, executions, delete_where) are confined to. Set by
#: the tenant layer (``tenancy``) around each call it forwards.
execution_prefix: ContextVar[str] = ContextVar("checkpoint_gateway_execution_prefix", default="")

#: The authenticated caller's name and tenant (None without authentication), set by the
#: authentication interceptor for the call (``auth.interceptor``); logs name the principal,
#: never its credential.
principal_name: ContextVar[str | None] = ContextVar("checkpoint_gateway_principal", default=None)
tenant: ContextVar[str] = ContextVar("checkpoint_gateway_tenant", default="")
