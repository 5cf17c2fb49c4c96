"""Passwords in backend URLs: masked wherever the gateway shows one.

A backend can be given a password in several ways, and each must be masked the same way
in every log line, error message and metric:

    postgresql://user:PASSWORD@host/db          user information of a URL
    redis://:PASSWORD@host:6379/0               (also redis+cluster://, rediss://...)
    redis://host:6379/0?password=PASSWORD       a query option (redis-py, libpq URIs)
    host=db user=gw password=PASSWORD           a libpq conninfo string ('quoted' too)

``mask_url`` rewrites such a string with ``***`` for each password, keeping everything an
operator needs to recognise it (scheme, user, hosts, database). ``secrets_of`` returns
the passwords themselves, as written and decoded, so that ``scrub`` can remove them from
any text: a driver's error message, a traceback, a log line (``MaskingFormatter``).
Options whose name says they hold a secret (``password``, ``sslpassword``, ``token``,
``secret``...) count as passwords.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote

__all__ = ["MASK", "MaskingFormatter", "mask_url", "redact", "scrub", "secrets_of"]

MASK = "***"

# Option names that carry a secret, in URL queries and conninfo strings.
_SECRET_NAME = r"[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token)[A-Za-z0-9_.-]*"  # noqa: S105
_QUERY_SECRET = re.compile(rf"(?i)([?&]{_SECRET_NAME}=)([^&#]*)")
# libpq: key = value, the value bare or in single quotes with backslash escapes.
_CONNINFO_SECRET = re.compile(
    rf"(?i)(?<![\w.-])({_SECRET_NAME}\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']\S*)"
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")

#: Secrets shorter than this are not scrubbed from every log line (every "a" would go);
#: ``mask_url`` masks passwords of any length where they stand in a URL, and messages
#: about the backend are scrubbed of any length.
MIN_SCRUBBED_IN_LOGS = 4


def _userinfo_span(url: str) -> tuple[int, int] | None:
    """Where the password of ``scheme://user:password@hosts...`` is, if it has one.

    The user information ends at the last ``@`` before the path or query, so a password
    holding ``@`` (or, sloppily, ``/``) is found whole.
    """
    scheme = _SCHEME.match(url)
    if scheme is None:
        return None
    start = scheme.end()
    query = url.find("?", start)
    head = url[start:] if query < 0 else url[start:query]
    at = head.rfind("@")
    if at < 0:
        return None
    colon = head.find(":", 0, at)
    if colon < 0:
        return None
    return start + colon + 1, start + at


def mask_url(url: str) -> str:
    """``url`` (a backend URL or a libpq conninfo string) with every password ``***``.

    Example:
        >>> mask_url("postgresql://gw:s3cret@db:5432/cp?sslpassword=k3y")
        'postgresql://gw:***@db:5432/cp?sslpassword=***'
        >>> mask_url("host=db password='a b' dbname=cp")
        'host=db password=*** dbname=cp'
    """
    span = _userinfo_span(url)
    if span is not None and span[1] > span[0]:
        url = url[: span[0]] + MASK + url[span[1] :]
    if _SCHEME.match(url):
        return _QUERY_SECRET.sub(lambda m: m.group(1) + (MASK if m.group(2) else ""), url)
    return _CONNINFO_SECRET.sub(lambda m: m.group(1) + MASK, url)


def secrets_of(url: str) -> list[str]:
    """Every password ``url`` holds, as written and as decoded, longest first."""
    found: set[str] = set()
    span = _userinfo_span(url)
    if span is not None:
        found.add(url[span[0] : span[1]])
    if _SCHEME.match(url):
        found.update(m.group(2) for m in _QUERY_SECRET.finditer(url))
    else:
        for m in _CONNINFO_SECRET.finditer(url):
            value = m.group(2)
            found.add(value)
            if value.startswith("'"):
                found.add(re.sub(r"\\(.)", r"\1", value[1:-1]))
    decoded = {unquote(s) for s in found}
    # As a JSON log line shows them (quotes and backslashes escaped).
    escaped = {json.dumps(s, ensure_ascii=False)[1:-1] for s in found | decoded}
    return sorted((s for s in found | decoded | escaped if s), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str], *, min_length: int = 1) -> str:
    """``text`` with each of ``secrets`` (``min_length`` characters or more) masked."""
    for secret in secrets:
        if len(secret) >= min_length and secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(text: str, url: str) -> str:
    """``text`` with ``url`` shown masked and its passwords removed wherever they appear."""
    masked = mask_url(url)
    if masked != url:
        text = text.replace(url, masked)
    return scrub(text, secrets_of(url))


class MaskingFormatter(logging.Formatter):
    """Formats with ``inner``, then removes ``secrets`` from the whole line.

    The last line of defence: whatever a library logs (a driver's message quoting its
    connection string, a traceback) leaves the process without the passwords.
    """

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        self._secrets = sorted(
            (s for s in secrets if len(s) >= MIN_SCRUBBED_IN_LOGS), key=len, reverse=True
        )

    def format(self, record: logging.LogRecord) -> str:
        return scrub(self._inner.format(record), self._secrets)
