"""Structured JSON logging on the standard library, one line per record.

Each line carries the trace and span id of the span current when it was logged, and the id
of the ticket or incident being handled (`handling`), so an operator goes from a log line to
its trace and to the ticket's other lines.
"""

import json
import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from opentelemetry import trace

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_NOTHING: Mapping[str, str] = MappingProxyType({})
_HANDLING: ContextVar[Mapping[str, str]] = ContextVar("switchboard_handling", default=_NOTHING)


class handling:
    """Log lines within name what is handled (`ticket_id=`, `incident_id=`), nested ones too.

    A class rather than a generator: it is entered once per message on the hot path."""

    __slots__ = ("_ids", "_token")

    def __init__(self, **ids: str) -> None:
        self._ids = ids
        self._token: Token[Mapping[str, str]] | None = None

    def __enter__(self) -> None:
        outer = _HANDLING.get()
        self._token = _HANDLING.set({**outer, **self._ids} if outer else self._ids)

    def __exit__(self, *_exc: object) -> None:
        if self._token is not None:
            _HANDLING.reset(self._token)


def correlation() -> dict[str, str]:
    """The ids a log line carries: the current trace and span, and what is being handled."""
    ids = dict(_HANDLING.get())
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        ids["trace_id"] = f"{span_context.trace_id:032x}"
        ids["span_id"] = f"{span_context.span_id:016x}"
    return ids


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(correlation())
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    # httpx logs every request's URL at INFO; some URLs (a chat webhook's) are secrets.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger(service).setLevel(level.upper())
