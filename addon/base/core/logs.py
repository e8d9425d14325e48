"""One log format for the application and uvicorn alike: JSON lines or plain text.

``IRESERVE_LOG_FORMAT`` chooses (``json`` or ``text``); unset, a terminal gets text and anything
else (a container, a file, journald) JSON lines. Fields that belong to whatever is being done —
the request id of the request that caused it, the grant and attempt a vendor call is for — come
from :func:`log_fields` (a contextvar), so a line written deep in the engine still names the
request that started it, and background tasks started by a request inherit it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from .outage import QuietOutageTracebacks

FORMATS = ("json", "text")

_FIELDS: ContextVar[Mapping[str, Any]] = ContextVar("ireserve_log_fields", default={})

# Attributes every LogRecord has; anything else on a record was passed with ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def field_of(record: logging.LogRecord, name: str) -> Any:
    """A field of a record: passed with ``extra=`` or taken from the context it was logged in."""
    return getattr(record, name, (getattr(record, "context_fields", None) or {}).get(name))

# Belt and braces: the code never logs a credential, but a library's message might quote one —
# a bearer token, a secret or password, a session or CSRF cookie (by name, or a whole Cookie,
# Set-Cookie or Authorization header), or one of our API tokens anywhere.
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}")
_SECRET_PAIR = re.compile(r"(?i)((?:client_secret|password|password_hash|access_token|token|ireserve_session"
                          r"|ireserve_csrf|csrf_token)[\"']?\s*[=:]\s*[\"']?)[^\s;&\"',}]+")
_HEADER = re.compile(r"(?im)((?:^|[\s<>\"'(,{])(?:cookie|set-cookie|authorization|x-csrf-token)"
                     r"(?:[\"']?\s*:|[\"']\s*,)\s*)(?:b?[\"'])?[^\r\n\"')]+")
_API_TOKEN = re.compile(r"\birs_[A-Za-z0-9_-]{6,}")

# A request id a client sends is echoed back and logged: keep it short and harmless.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def redact(text: str) -> str:
    text = _HEADER.sub(r"\1[redacted]", text)
    text = _BEARER.sub(r"\1[redacted]", text)
    text = _API_TOKEN.sub("irs_[redacted]", text)
    return _SECRET_PAIR.sub(r"\1[redacted]", text)


def current_fields() -> Mapping[str, Any]:
    return _FIELDS.get()


@contextmanager
def log_fields(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every line logged inside the block (and in tasks started from it)."""
    token = _FIELDS.set({**_FIELDS.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _FIELDS.reset(token)


def bind_fields(**fields: Any) -> None:
    """Add ``fields`` for the rest of the current context (a request's task, a worker's loop)."""
    _FIELDS.set({**_FIELDS.get(), **{k: v for k, v in fields.items() if v is not None}})


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a sensible one, else a new id."""
    if header and _REQUEST_ID.match(header.strip()):
        return header.strip()
    return uuid.uuid4().hex


def _with_context(factory):
    """A LogRecord factory that copies the context's fields onto each record when it is made,
    so they hold whenever and wherever the record is formatted."""
    if getattr(factory, "adds_log_fields", False):
        return factory

    def make(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.context_fields = _FIELDS.get()  # one attribute: never in the way of a call's extra=
        return record

    make.adds_log_fields = True
    return make


logging.setLogRecordFactory(_with_context(logging.getLogRecordFactory()))


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    fields = dict(getattr(record, "context_fields", None) or {})
    fields.update({k: v for k, v in vars(record).items()
                   if k not in _STANDARD and k != "context_fields" and not k.startswith("_")})
    fields.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the context's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # several processes share one stream (serve --workers)
            "message": redact(record.getMessage()),
        }
        for key, value in _extras(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value …`` for people at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        pairs = " ".join(f"{key}={value}" for key, value in _extras(record).items())
        first, _, rest = text.partition("\n")
        return redact(f"{first} {pairs}".rstrip() + (f"\n{rest}" if rest else ""))


def chosen_format(value: str | None, stream=None) -> str:
    if value:
        return value
    stream = stream or sys.stderr
    return "text" if getattr(stream, "isatty", lambda: False)() else "json"


def configure_logging(level: str, log_format: str, stream=None, *, replace: bool = False) -> None:
    """Send every logger (ours, uvicorn's, libraries') to one handler in one format.

    uvicorn is started with ``log_config=None`` so that it keeps this; its access log is off
    because the application writes its own line per request (without the query string). Like
    ``logging.basicConfig``, it leaves a root logger that already has handlers alone (the CLI
    called inside a test run) unless ``replace``."""
    root = logging.getLogger()
    if root.handlers and not replace:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ProtocolChatter())
    handler.addFilter(QuietOutageTracebacks())  # a database outage is told once, not per traceback
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)  # uvicorn.Config sets its level from IRESERVE_LOG_LEVEL
    logging.getLogger("uvicorn.access").disabled = True
    quiet_libraries()


def log_config(level: str, log_format: str) -> dict:
    """:func:`configure_logging` as a ``logging.config.dictConfig`` mapping: what each child of
    ``serve --workers`` is given (uvicorn applies it in the child before anything logs)."""
    formatter = f"{__name__}.{'JsonFormatter' if log_format == 'json' else 'TextFormatter'}"
    passing = {"handlers": [], "propagate": True, "level": "NOTSET"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"application": {"()": formatter}},
        "filters": {"protocol_chatter": {"()": f"{__name__}.ProtocolChatter"},
                    "outage": {"()": f"{QuietOutageTracebacks.__module__}.QuietOutageTracebacks"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "application",
                                "stream": "ext://sys.stderr", "filters": ["protocol_chatter", "outage"]}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": passing, "uvicorn.error": passing,
            "uvicorn.access": {**passing, "propagate": False},  # the application writes its own line
            **{name: {"level": "WARNING"} for name in QUIET_LIBRARIES},
        },
    }


# Libraries that below WARNING write what no line may carry, or say again what our own lines say:
# httpx logs every request with its full URL at INFO (the vendor call line says it once);
# aiosqlite (every call with its arguments), SQLAlchemy's engine (every statement with its
# parameters: names, e-mail addresses, phone numbers, password hashes) and asyncpg at DEBUG; the
# websockets library each handshake header and frame (cookies, bearer tokens) when it logs
# through a logger of its own.
QUIET_LIBRARIES = ("httpx", "httpcore", "aiosqlite", "asyncpg", "sqlalchemy", "websockets", "hpack")


def quiet_libraries() -> None:
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


class ProtocolChatter(logging.Filter):
    """Drops uvicorn's lines below INFO. At DEBUG uvicorn, and the websockets library writing
    through uvicorn's logger, log each connection's handshake headers and frames — the session
    cookie, a bearer token in ``connection_init``, whatever a frame carries. uvicorn sets its
    loggers' levels itself (from ``--log-level``), so this is a filter on our handler, which it
    leaves alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or not record.name.startswith("uvicorn")
