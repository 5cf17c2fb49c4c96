"""Log set-up: one line per event, as text or JSON."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from .secrets import MaskingFormatter

# What every LogRecord has; anything else on a record came from ``extra=`` and is a field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the fields a call passed in
    ``extra=`` (a failed request's grpc_method, grpc_code, duration_ms, trace_id...),
    and exc when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(
    level: str, fmt: str, *, worker: int | None = None, secrets: Sequence[str] = ()
) -> None:
    """Log to stderr at ``level`` in ``fmt`` (``text`` or ``json``). ``worker``: this is
    worker process N of ``serve --workers``; every line says so (``worker`` field, or
    ``[worker N]`` after the logger name), as the workers share the supervisor's stderr.
    ``secrets`` (the backend's passwords) are masked in every line, whoever logs it."""
    handler = logging.StreamHandler(sys.stderr)
    name = "%(name)s" if worker is None else f"%(name)s[worker {worker}]"
    formatter: logging.Formatter
    if fmt == "json":
        formatter = JsonFormatter()
        if worker is not None:
            handler.addFilter(_WorkerField(worker))
    else:
        formatter = logging.Formatter(f"%(asctime)s %(levelname)s {name}: %(message)s")
    handler.setFormatter(MaskingFormatter(formatter, secrets) if secrets else formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # grpc's Cython layer logs every event-loop hand-over at debug; at --log-level debug
    # that flood would hide the gateway's own lines. Its warnings and errors still show.
    logging.getLogger("grpc").setLevel(max(logging.WARNING, root.level))


class _WorkerField(logging.Filter):
    """Adds ``worker`` (its number) to every record, a field of the JSON line."""

    def __init__(self, worker: int) -> None:
        super().__init__()
        self._worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self._worker
        return True
