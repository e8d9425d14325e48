"""Throwaway PostgreSQL server for tests.

Usage::

    with running_postgres() as pg:
        engine = create_async_engine(pg.url())          # postgresql+asyncpg://...
        pg.create_database("scratch")                   # extra, empty database
        other = create_async_engine(pg.url(database="scratch"))

The server lives in a private temp directory, listens on a free port on
127.0.0.1 with trust auth, has durability switched off for speed, and is
stopped (and its directory deleted) when the ``with`` block exits.

PostgreSQL refuses to run as root, so when we are root every server-side
command (initdb, pg_ctl) runs as the ``postgres`` system user.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_DATABASE",
    "PostgresServer",
    "PostgresUnavailable",
    "find_pg_bin",
    "running_postgres",
]

DEFAULT_DATABASE = "ireserve_test"
SUPERUSER = "postgres"  # database role created by initdb -U
OS_USER = "postgres"  # system account used for the server when we are root
HOST = "127.0.0.1"

_START_ATTEMPTS = 3  # a free port can be taken between probing and binding
_LOG_TAIL_LINES = 40


class PostgresUnavailable(RuntimeError):
    """A test PostgreSQL server cannot be provided (missing binaries, failed start, ...)."""


# --------------------------------------------------------------------------- binaries


def _is_exe(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _version_key(bin_dir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,); unparsable names sort first.
    return tuple(int(n) for n in re.findall(r"\d+", Path(bin_dir).parent.name)) or (0,)


def find_pg_bin() -> Path:
    """Directory holding ``initdb`` and ``pg_ctl``.

    Looks at ``initdb`` on PATH first, then the Debian/Ubuntu layout
    ``/usr/lib/postgresql/<version>/bin`` (newest version first).
    """
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        # /usr/local/bin/initdb is often a symlink into /usr/lib/postgresql/N/bin.
        # Prefer the real directory so createdb & co. come from the same install
        # (the /usr/bin ones on Debian are pg_wrapper scripts, not the tools).
        candidates += [Path(on_path).resolve().parent, Path(on_path).parent]
    candidates += [
        Path(d) for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    ]
    for bin_dir in candidates:
        if _is_exe(bin_dir / "initdb") and _is_exe(bin_dir / "pg_ctl"):
            return bin_dir
    looked = ", ".join(str(c) for c in candidates) or "nothing found"
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: not on PATH and not in "
        f"/usr/lib/postgresql/*/bin (checked: {looked}). Install e.g. the 'postgresql-15' package."
    )


# --------------------------------------------------------------------------- running commands


class _Runner:
    """Runs commands either directly or, when we are root, as the postgres OS user."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.prefix: list[str] = []
        self.os_user: pwd.struct_passwd | None = None
        if os.geteuid() != 0:
            return
        try:
            self.os_user = pwd.getpwnam(OS_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root, but PostgreSQL refuses to run as root and there is no "
                f"'{OS_USER}' system user to run it as (create one, or run the tests unprivileged)"
            ) from None
        runuser = shutil.which("runuser") or next(
            (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if _is_exe(Path(p))), None
        )
        if runuser is None:
            raise PostgresUnavailable("running as root, but 'runuser' (util-linux) is not available")
        self.prefix = [runuser, "-u", OS_USER, "--"]

    @staticmethod
    def env() -> dict[str, str]:
        # Stray PGHOST/PGPORT/PGDATA/... from the developer's shell must not redirect our tools.
        return {k: v for k, v in os.environ.items() if not k.startswith("PG")}

    def run(self, *cmd: str | Path, as_server: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = [str(c) for c in cmd]
        if as_server:
            argv = self.prefix + argv
        try:
            return subprocess.run(
                argv,
                # cwd must be readable by the postgres user (root's cwd often is not).
                cwd=self.cwd,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"could not run {' '.join(argv)}: {exc}") from exc


def _fail(what: str, proc: subprocess.CompletedProcess[str], log: Path | None = None) -> PostgresUnavailable:
    parts = [f"{what} failed (exit {proc.returncode})"]
    output = (proc.stdout + proc.stderr).strip()
    if output:
        parts.append(output)
    if log is not None:
        parts.append(f"--- server log, last lines ---\n{_log_tail(log)}")
    return PostgresUnavailable("\n".join(parts))


def _log_tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(log not readable: {exc})"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(log is empty)"


# --------------------------------------------------------------------------- temp directory


def _traversable_by_others(path: Path) -> bool:
    # The postgres user must be able to walk down to our temp dir.
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _make_temp_dir(runner: _Runner) -> Path:
    base = Path(tempfile.gettempdir()).resolve()
    if runner.os_user is not None and not _traversable_by_others(base):
        base = Path("/tmp")  # e.g. TMPDIR=/root/tmp: unreachable for postgres
    # Short prefix: the unix socket path below it must stay under ~107 bytes.
    tmp = Path(tempfile.mkdtemp(prefix="pgtest-", dir=base))
    if runner.os_user is not None:
        # mkdtemp gives 0700 root:root; hand the directory itself to postgres.
        os.chown(tmp, runner.os_user.pw_uid, runner.os_user.pw_gid)
        check = runner.run("test", "-w", tmp, "-a", "-x", tmp)
        if check.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise PostgresUnavailable(
                f"the '{OS_USER}' user cannot use the temp directory {tmp}; "
                "make its parent directories world-traversable or point TMPDIR elsewhere"
            )
    return tmp


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- server


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    database: str
    data_dir: Path
    bin_dir: Path
    socket_dir: Path

    def url(self, driver: str | None = "asyncpg", database: str | None = None) -> str:
        """SQLAlchemy URL, e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5433/ireserve_test``.

        ``driver=None`` gives a plain ``postgresql://`` DSN (what asyncpg.connect wants).
        """
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{database or self.database}"

    def restart(self, mode: str = "fast") -> float:
        """Restart the server as an operator does (``pg_ctl restart``, as the postgres user when we
        are root): every open connection is cut, and it listens again on the same port. Returns
        the seconds the restart took."""
        runner = _Runner(cwd=self.data_dir.parent)
        log = self.data_dir.parent / "postgres.log"
        started = time.monotonic()
        proc = runner.run(self.bin_dir / "pg_ctl", "restart", "-D", self.data_dir, "-m", mode, "-w", "-t", "60",
                          "-l", log, timeout=90)
        if proc.returncode != 0:
            raise _fail("restarting PostgreSQL (pg_ctl restart)", proc, log)
        return time.monotonic() - started

    def create_database(self, name: str) -> None:
        """Create another (empty) database on this server."""
        createdb = self.bin_dir / "createdb"
        if not _is_exe(createdb):
            found = shutil.which("createdb")
            createdb = Path(found) if found else None
        if createdb is None:
            _create_database_asyncpg(self.url(driver=None, database="postgres"), name)
            return
        # Trust auth over TCP: no need to switch user for a client tool.
        proc = subprocess.run(
            [str(createdb), "-h", self.host, "-p", str(self.port), "-U", self.user, name],
            env=_Runner.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise _fail(f"createdb {name}", proc)


def _create_database_asyncpg(dsn: str, name: str) -> None:
    import asyncpg  # only needed when no createdb binary exists

    async def create() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            quoted = '"' + name.replace('"', '""') + '"'
            await conn.execute(f"CREATE DATABASE {quoted}")
        finally:
            await conn.close()

    # A worker thread, so this also works when called from inside a running event loop.
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(create())
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


class _Cleanup:
    """Idempotent stop-and-delete, used by ``finally`` and as an ``atexit`` backstop."""

    def __init__(self, runner: _Runner, bin_dir: Path, tmp: Path) -> None:
        self.runner, self.bin_dir, self.tmp = runner, bin_dir, tmp
        self.owner_pid = os.getpid()  # a forked child must not tear down the parent's server
        self.done = False

    @property
    def data_dir(self) -> Path:
        return self.tmp / "data"

    def __call__(self) -> None:
        if self.done or os.getpid() != self.owner_pid:
            return
        self.done = True
        try:
            self._stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _stop(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None
        with contextlib.suppress(PostgresUnavailable):
            self.runner.run(
                self.bin_dir / "pg_ctl", "stop", "-D", self.data_dir, "-m", "immediate", "-w", "-t", "30", timeout=60
            )
        # If pg_ctl could not do it, make sure the postmaster does not outlive us.
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, 0)
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _sigterm_runs_cleanup() -> Iterator[None]:
    # Default SIGTERM (e.g. a CI timeout) kills Python without running finally/atexit;
    # turn it into SystemExit while the server is up. Leave custom handlers alone.
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start(runner: _Runner, bin_dir: Path, data_dir: Path, socket_dir: Path, log: Path) -> int:
    """Start the postmaster on a free port; return the port."""
    for attempt in range(1, _START_ATTEMPTS + 1):
        port = _free_port()
        options = " ".join(
            [
                f"-c listen_addresses={HOST}",
                f"-p {port}",
                f"-k {shlex.quote(str(socket_dir))}",  # pg_ctl passes -o through a shell
                # Throwaway data: durability only costs time.
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            ]
        )
        proc = runner.run(
            bin_dir / "pg_ctl", "-D", data_dir, "-o", options, "-w", "-t", "60", "-l", log, "start", timeout=90
        )
        if proc.returncode == 0:
            return port
        # Lost the race for the port to another process: try another one.
        if attempt < _START_ATTEMPTS and "already in use" in _log_tail(log):
            continue
        raise _fail("starting PostgreSQL (pg_ctl start)", proc, log)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_postgres(database: str = DEFAULT_DATABASE) -> Iterator[PostgresServer]:
    """Start a private PostgreSQL server with ``database`` created; stop and delete it on exit.

    Raises PostgresUnavailable if the server cannot be provided.
    """
    bin_dir = find_pg_bin()
    runner = _Runner(cwd=Path("/"))
    tmp = _make_temp_dir(runner)
    runner.cwd = tmp
    cleanup = _Cleanup(runner, bin_dir, tmp)
    atexit.register(cleanup)  # backstop if the generator is never resumed
    try:
        with _sigterm_runs_cleanup():
            data_dir, socket_dir, log = tmp / "data", tmp / "sock", tmp / "postgres.log"
            socket_dir.mkdir()
            if runner.os_user is not None:
                os.chown(socket_dir, runner.os_user.pw_uid, runner.os_user.pw_gid)

            proc = runner.run(
                bin_dir / "initdb",
                "-D", data_dir,
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",  # nothing here needs to survive a crash
            )  # fmt: skip
            if proc.returncode != 0:
                raise _fail("initdb", proc)

            port = _start(runner, bin_dir, data_dir, socket_dir, log)
            server = PostgresServer(
                host=HOST,
                port=port,
                user=SUPERUSER,
                database=database,
                data_dir=data_dir,
                bin_dir=bin_dir,
                socket_dir=socket_dir,
            )
            server.create_database(database)
            yield server
    finally:
        cleanup()
        atexit.unregister(cleanup)
