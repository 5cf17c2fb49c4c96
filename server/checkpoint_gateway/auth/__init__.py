"""Authentication, authorization and per-principal limits (see ``interceptor``).

Off by default: a gateway started without ``--auth-principals-file`` and without JWT
settings serves anyone who reaches it, as before, and says so in its start-up log line.
"""

from .interceptor import ROLE_OF, TENANT_HEADER, Authenticator, AuthInterceptor
from .jwt import JwtSettings, JwtVerifier
from .limits import Limiter
from .principals import (
    Principal,
    PrincipalsFile,
    check_tenant,
    hash_token,
    metrics_authorizer,
    new_token,
)

__all__ = [
    "ROLE_OF",
    "TENANT_HEADER",
    "AuthInterceptor",
    "Authenticator",
    "JwtSettings",
    "JwtVerifier",
    "Limiter",
    "Principal",
    "PrincipalsFile",
    "check_tenant",
    "hash_token",
    "metrics_authorizer",
    "new_token",
]
