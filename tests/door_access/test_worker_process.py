"""``ireserve worker``: the access worker as a process of its own."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import base_environ

IRESERVE = Path(sys.executable).with_name("ireserve")


def command() -> list[str]:
    return [str(IRESERVE)] if IRESERVE.exists() else [sys.executable, "-m", "addon.base.runtime.cli"]


def test_ireserve_worker_runs_until_sigterm(tmp_path, sqlite_template):
    database = tmp_path / "worker.sqlite3"
    shutil.copyfile(sqlite_template, database)
    env = base_environ(tmp_path, f"sqlite+aiosqlite:///{database}", IRESERVE_WORKER_INTERVAL="0.1",
                       IRESERVE_LOG_LEVEL="INFO")
    process = subprocess.Popen(command() + ["worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    output = rest = ""
    try:
        deadline = time.monotonic() + 30
        while "started" not in output and time.monotonic() < deadline and process.poll() is None:
            output += process.stdout.readline()
        assert "access worker" in output and "started" in output, output
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output + rest
    assert "stopped" in rest


def test_ireserve_worker_help(tmp_path):
    result = subprocess.run(command() + ["worker", "--help"], capture_output=True, text=True,
                            env=base_environ(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "worker" in result.stdout
