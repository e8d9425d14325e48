"""One log format for the application and uvicorn: JSON lines or text; a request id on every
request (taken from X-Request-ID or made, echoed back) and one line per request, without the
query string."""

from __future__ import annotations

import io
import json
import logging

import pytest

from addon.base.core.logs import (
    QUIET_LIBRARIES,
    chosen_format,
    configure_logging,
    log_config,
    field_of,
    log_fields,
    request_id_from,
)
from addon.base.core.settings import Settings, SettingsError

pytestmark = pytest.mark.anyio


@pytest.fixture
def configured():
    """configure_logging on a stream of its own; the process's logging is put back afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate,
                                                   logging.getLogger(n).disabled, logging.getLogger(n).level)
                                               for n in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx")})

    def configure(log_format: str, level: str = "INFO") -> io.StringIO:
        stream = io.StringIO()
        configure_logging(level, log_format, stream, replace=True)
        return stream

    yield configure
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handlers, level, loggers = saved
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, (kept, propagate, disabled, logger_level) in loggers.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = kept
        logger.propagate, logger.disabled = propagate, disabled
        logger.setLevel(logger_level)


def test_json_lines_for_the_app_and_uvicorn_alike(configured):
    stream = configured("json")
    with log_fields(request_id="r-1"):
        logging.getLogger("addon.base.example").info("hello %s", "there", extra={"grant_id": 7})
        logging.getLogger("uvicorn.error").info("Application startup complete.")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /graphql?token=abc HTTP/1.1" 200')
    logging.getLogger("httpx").info("HTTP Request: GET https://api.resivo.io/v8/x")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("addon.base.example", "hello there"), ("uvicorn.error", "Application startup complete.")], \
        "uvicorn's access log (with query strings) and httpx's per-request lines are off"
    assert lines[0]["request_id"] == "r-1" and lines[0]["grant_id"] == 7 and lines[0]["level"] == "info"
    assert lines[1]["request_id"] == "r-1" and {"time", "pid"} <= set(lines[1])


def test_text_format_and_the_default_by_terminal(configured):
    stream = configured("text")
    logging.getLogger("addon.x").warning("careful", extra={"attempt": 2})
    line = stream.getvalue().strip()
    assert " WARNING addon.x: careful attempt=2" in line and not line.startswith("{")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert chosen_format(None, Terminal()) == "text" and chosen_format(None, io.StringIO()) == "json"
    assert chosen_format("text", io.StringIO()) == "text"


def test_the_format_setting_is_checked():
    assert Settings.from_env({"IRESERVE_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="IRESERVE_LOG_FORMAT"):
        Settings.from_env({"IRESERVE_LOG_FORMAT": "xml"})


def test_bearer_tokens_and_secrets_are_redacted_even_when_a_library_quotes_them(configured):
    stream = configured("json")
    logging.getLogger("somelib").info("sent Authorization: Bearer abcdef123456 with client_secret=s3cr3t-value")
    assert "abcdef123456" not in stream.getvalue() and "s3cr3t-value" not in stream.getvalue()


def test_at_debug_protocol_chatter_and_statement_parameters_stay_out(configured):
    """uvicorn (and the websockets library through its logger) logs each connection's headers and
    frames at DEBUG; aiosqlite and SQLAlchemy every statement's parameters. Our own DEBUG stays."""
    stream = configured("json", "DEBUG")
    logging.getLogger("uvicorn.error").setLevel(logging.DEBUG)  # as uvicorn does for --log-level debug
    logging.getLogger("uvicorn.error").debug("< Cookie: ireserve_session=s3ss10n-v4lue")
    logging.getLogger("uvicorn.error").debug("< TEXT '{\"type\":\"connection_init\",\"payload\":{...}}' [92 bytes]")
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    logging.getLogger("aiosqlite").debug("executing functools.partial(... ('Anna Smith', 'anna@example.com'))")
    logging.getLogger("sqlalchemy.engine.Engine").info("[cached since 0.1s ago] ('Anna Smith', '+31 6 1234')")
    logging.getLogger("asyncpg.pool").debug("connection acquired")
    logging.getLogger("websockets.client").debug("> Authorization: Bearer irs_abc")
    logging.getLogger("addon.base.example").debug("our own detail")
    messages = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
    assert messages == ["Application startup complete.", "our own detail"]
    # serve --workers gives each process the same rules
    config = log_config("DEBUG", "json")
    assert config["handlers"]["stderr"]["filters"] == ["protocol_chatter", "outage"]
    assert all(config["loggers"][name] == {"level": "WARNING"} for name in QUIET_LIBRARIES)
    assert {"aiosqlite", "asyncpg", "sqlalchemy", "websockets", "httpx", "httpcore"} <= set(QUIET_LIBRARIES)


@pytest.mark.parametrize("message, secret", [
    ("> Cookie: ireserve_session=Zx9kPq2mW7; ireserve_csrf=Hf3Lm8Qa1", "Zx9kPq2mW7"),
    ("> Cookie: ireserve_session=Zx9kPq2mW7; ireserve_csrf=Hf3Lm8Qa1", "Hf3Lm8Qa1"),
    ("headers: [(b'cookie', b'ireserve_session=Zx9kPq2mW7')]", "Zx9kPq2mW7"),
    ("cookies {'ireserve_session': 'Zx9kPq2mW7'}", "Zx9kPq2mW7"),
    ("Set-Cookie: ireserve_session=Zx9kPq2mW7; HttpOnly", "Zx9kPq2mW7"),
    ('payload {"Authorization": "Bearer irs_AbCdEfGhIjKlMn"}', "AbCdEfGhIjKlMn"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("the token irs_AbCdEfGhIjKlMnOp was used", "AbCdEfGhIjKlMnOp"),
    ("x-csrf-token: Hf3Lm8Qa1", "Hf3Lm8Qa1"),
])
def test_sessions_cookies_and_tokens_are_redacted_wherever_a_library_quotes_them(configured, message, secret):
    for log_format in ("json", "text"):
        stream = configured(log_format)
        logging.getLogger("some.library").warning(message)
        assert secret not in stream.getvalue() and "[redacted]" in stream.getvalue()


def test_a_request_id_is_taken_when_sensible_and_made_otherwise():
    assert request_id_from("abc-123") == "abc-123"
    made = request_id_from("evil\nline")
    assert made != "evil\nline" and len(made) == 32
    assert request_id_from(None) != request_id_from(None)


async def test_every_request_has_an_id_and_one_line_without_its_query_string(http, tokens, caplog):
    caplog.set_level(logging.INFO, logger="addon.base.request")
    sent = await http.get("/graphql?query={viewer{name}}&secret=xyz", headers={
        "X-Request-ID": "abc-1", "Authorization": f"Bearer {tokens['staff']}", "Accept": "application/json"})
    made = await http.post("/graphql", json={"query": "query Me { viewer { name } }"},
                           headers={"Authorization": f"Bearer {tokens['frontend']}"})
    await http.post("/graphql", json={"query": "query Broken { nothing }"})
    assert sent.headers["x-request-id"] == "abc-1"
    assert len(made.headers["x-request-id"]) == 32
    lines = [r for r in caplog.records if r.name == "addon.base.request"]
    assert len(lines) == 3, "one line per request"
    first, second, third = lines
    assert field_of(first, "request_id") == "abc-1" and field_of(second, "request_id") == made.headers["x-request-id"]
    assert first.path == "/graphql" and "xyz" not in first.getMessage() and "secret" not in str(vars(first))
    assert (second.operation, second.role, second.outcome, second.status) == ("Me", "frontend", "ok", 200)
    assert (third.operation, third.role, third.outcome) == ("Broken", "anonymous", "graphql_error")
    assert second.duration_ms >= 0
