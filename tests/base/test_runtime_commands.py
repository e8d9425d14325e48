"""Commands an operator runs beside the server: `ireserve db backup` (SQLite's online backup, a
consistent copy while writes go on), `ireserve serve --workers` refused where one process is the
rule (SQLite, the sandbox), and `ireserve probe` — a light HTTP client that loads nothing of the
application."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from addon.base.runtime.cli import main
from tests.conftest import base_environ
from tests.support.processes import command, free_port


@pytest.fixture
def environ(tmp_path, monkeypatch):
    """Settings for an in-process `ireserve` (main() reads the process environment)."""

    def use(database_url: str, **values: str) -> dict[str, str]:
        chosen = base_environ(tmp_path, database_url, **values)
        for name in list(os.environ):
            if name.startswith(("IRESERVE_", "RESIVO_", "DATABASE_")):
                monkeypatch.delenv(name)
        for name, value in chosen.items():
            monkeypatch.setenv(name, value)
        return chosen

    return use


# -- ireserve db backup


def rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute("SELECT count(*) FROM booking_customer").fetchone()[0]


def test_db_backup_copies_the_database_consistently_while_it_is_written(environ, sqlite_template, tmp_path, capsys):
    database = tmp_path / "served.sqlite3"
    database.write_bytes(sqlite_template.read_bytes())
    environ(f"sqlite+aiosqlite:///{database}")
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")  # as the application runs it
    stop, written = threading.Event(), []

    def writer() -> None:  # a server's writes going on meanwhile, each in a transaction of its own
        connection = sqlite3.connect(database, timeout=30, isolation_level=None)
        while not stop.is_set():
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO booking_customer (name, email) VALUES ('W', 'w@x')")
            connection.execute("COMMIT")
            written.append(1)
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(written) < 20:
            assert thread.is_alive() and time.monotonic() < deadline, "the writer does not write"
            time.sleep(0.01)
        copies = [tmp_path / f"backup-{n}.sqlite3" for n in range(3)]
        for copy in copies:
            assert main(["db", "backup", str(copy)]) == 0
    finally:
        stop.set()
        thread.join()
    assert "checked" in capsys.readouterr().out
    counts = [rows(copy) for copy in copies]
    assert counts == sorted(counts) and 0 < counts[0] and counts[-1] <= rows(database)
    for copy in copies:
        with contextlib.closing(sqlite3.connect(copy)) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete", "one file, no -wal"
        assert copy.stat().st_mode & 0o777 == 0o600, "it holds personal data: its owner's only"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".backup", "backup"))) == \
        [c.name for c in copies], "nothing half-written left behind"

    before = copies[0].read_bytes()
    assert main(["db", "backup", str(copies[0])]) == 2
    assert "exists already" in capsys.readouterr().err
    assert copies[0].read_bytes() == before, "a backup never overwrites a file"


def test_db_backup_of_postgresql_names_pg_dump(environ, tmp_path, capsys):
    environ(f"postgresql+asyncpg://ireserve@127.0.0.1:{free_port()}/ireserve")
    assert main(["db", "backup", str(tmp_path / "copy")]) == 2
    said = capsys.readouterr().err
    assert "pg_dump" in said and "Traceback" not in said
    assert not (tmp_path / "copy").exists()


# -- serve: one process where one is the rule


def test_serve_refuses_several_processes_on_sqlite(environ, tmp_path, capsys):
    environ(f"sqlite+aiosqlite:///{tmp_path / 'one-writer.sqlite3'}")
    assert main(["serve", "--workers", "2"]) == 2
    said = capsys.readouterr().err
    assert "SQLite has one writer" in said and "PostgreSQL" in said
    assert not (tmp_path / "one-writer.sqlite3").exists(), "refused before anything ran"


def test_serve_refuses_several_processes_with_the_sandbox(environ, tmp_path, capsys):
    environ(f"postgresql+asyncpg://ireserve@127.0.0.1:{free_port()}/ireserve", IRESERVE_SANDBOX="true")
    assert main(["serve", "--workers", "2"]) == 2
    said = capsys.readouterr().err
    assert "sandbox" in said and "one process" in said


# -- probe: a light client


class _Health(http.server.BaseHTTPRequestHandler):
    answers = {"/healthz": 200, "/readyz": 503}

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.send_response(self.answers.get(self.path, 404))
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def health_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def probe(*arguments: str, **environ: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IRESERVE_", "DATABASE_"))}
    return subprocess.run(command(["probe", *arguments]), env={**clean, **environ}, capture_output=True, text=True,
                          timeout=60)


def test_probe_checks_the_paths_on_the_health_port(health_server):
    assert probe("/healthz", IRESERVE_HEALTH_PORT=str(health_server)).returncode == 0
    both = probe(IRESERVE_PORT=str(health_server))  # default paths: /healthz and /readyz
    assert both.returncode == 1 and "/readyz: HTTP 503" in both.stderr
    assert probe("/healthz", "--port", str(health_server), IRESERVE_HEALTH_PORT="1").returncode == 0
    refused = probe("/healthz", IRESERVE_HEALTH_PORT=str(free_port()))
    assert refused.returncode == 1 and "Connection refused" in refused.stderr
    bad = probe(IRESERVE_HEALTH_PORT="eighty")
    assert bad.returncode == 2 and "IRESERVE_HEALTH_PORT must be a whole number" in bad.stderr


def test_probe_loads_nothing_of_the_application(health_server):
    """A container runs it every few seconds: no addons, no schema, no database driver."""
    script = ("import sys; from addon.base.runtime.cli import main; status = main(['probe', '/healthz']); "
              "import json; print(json.dumps({'status': status, 'modules': sorted(sys.modules)}))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "IRESERVE_HEALTH_PORT": str(health_server)})
    report = json.loads(done.stdout)
    assert report["status"] == 0, done.stderr
    heavy = [m for m in report["modules"] if m.split(".")[0] in ("strawberry", "sqlalchemy", "sqlmodel", "starlette",
                                                                   "uvicorn", "graphql", "babel", "prometheus_client",
                                                                   "alembic", "asyncpg", "httpx", "cryptography")]
    ours = [m for m in report["modules"] if m.startswith("addon.") and m not in (
        "addon.base", "addon.base.runtime", "addon.base.runtime.cli", "addon.base.runtime.probe")]
    assert heavy == [] and ours == [], (heavy, ours)
