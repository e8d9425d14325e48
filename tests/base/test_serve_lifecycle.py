"""`ireserve serve` and `ireserve worker` as real processes: they refuse a database behind the
code's head (saying to run `ireserve db upgrade`), and a stop by Ctrl-C (SIGINT) or SIGTERM is quiet:
status 0, no traceback — so `make run` reports no error either."""

from __future__ import annotations

import shutil
import signal

import httpx
import pytest

from tests.conftest import base_environ
from tests.support.processes import free_port, run, start, stop, until_serving

pytestmark = pytest.mark.anyio


@pytest.fixture
def migrated_sqlite(sqlite_template, tmp_path) -> str:
    target = tmp_path / "served.sqlite3"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.mark.parametrize("arguments", [["serve"], ["worker"]], ids=["serve", "worker"])
def test_a_database_behind_the_code_is_refused_with_what_to_do(arguments, tmp_path):
    environ = base_environ(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.sqlite3'}",
                           IRESERVE_PORT=str(free_port()))
    finished = run(arguments, environ, timeout=60)
    assert finished.returncode == 2, finished
    assert "run 'ireserve db upgrade' first" in finished.stderr and "Traceback" not in finished.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_a_stop_signal_ends_serve_quietly_with_status_0(sig, migrated_sqlite, tmp_path):
    port = free_port()
    environ = base_environ(tmp_path, migrated_sqlite, IRESERVE_PORT=str(port), IRESERVE_LOG_FORMAT="text")
    log = tmp_path / "serve.log"
    server = start(["serve"], environ, log)
    try:
        await until_serving(f"http://127.0.0.1:{port}", server, log, path="/readyz")
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "probe-1"})
        assert answer.headers["x-request-id"] == "probe-1"
    finally:
        status = stop(server, sig)
    output = log.read_text()
    assert status == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output and "CancelledError" not in output
    assert "Application shutdown complete" in output, "uvicorn's lines come through our logging"
