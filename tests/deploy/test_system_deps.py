"""tools/system-deps.sh, which `make test` and `.ci/run` run first: with nothing missing it does
nothing; with something missing it installs it with apt-get as root, and otherwise stops at once
with one line naming the command to run. Run against a PATH of stand-ins (a fake apt-get that
records its calls, fake binaries): nothing is installed or removed for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from addon.base.public import REPO_ROOT

SCRIPT = REPO_ROOT / "tools" / "system-deps.sh"
BASH = shutil.which("bash") or "/bin/bash"
# The fake apt-get: records each call; `install` makes the commands the package would bring.
FAKE_APT_GET = """#!{bash}
PATH=/usr/bin:/bin  # its own tools; the script's PATH stays the stand-ins'
echo "$*" >> "{log}"
if [ "$1" = install ]; then
  for package in "$@"; do
    case $package in
      postgresql) mkdir -p "{root}/pg/16/bin"; for tool in initdb pg_ctl; do
                    printf '#!/bin/true\\n' > "{root}/pg/16/bin/$tool"; chmod +x "{root}/pg/16/bin/$tool"; done ;;
      chromium|prometheus) tool=$package; [ $package = prometheus ] && tool=promtool
                    printf '#!/bin/true\\n' > "{root}/bin/$tool"; chmod +x "{root}/bin/$tool" ;;
    esac
  done
fi
"""


@pytest.fixture
def sandbox() -> Iterator[Path]:
    """A directory any user may read: the script, a bin/ for PATH, a pg/ for the Debian layout."""
    root = Path(tempfile.mkdtemp(prefix="system-deps-"))
    try:
        (root / "bin").mkdir()
        (root / "pg").mkdir()
        shutil.copy2(SCRIPT, root / "system-deps.sh")
        for path in (root, root / "bin", root / "pg"):
            path.chmod(0o755)
        yield root
    finally:
        shutil.rmtree(root)


def stand_in(root: Path, name: str, body: str = "#!/bin/true\n") -> None:
    path = root / "bin" / name
    path.write_text(body)
    path.chmod(0o755)


def fake_apt_get(root: Path) -> Path:
    log = root / "apt-get.log"
    stand_in(root, "apt-get", FAKE_APT_GET.format(bash=BASH, log=log, root=root))
    return log


def run(root: Path, as_user: str | None = None) -> subprocess.CompletedProcess:
    environ = {"PATH": str(root / "bin"), "SYSTEM_DEPS_PG_BIN_DIRS": str(root / "pg" / "*" / "bin")}
    command = [BASH, str(root / "system-deps.sh")]
    if as_user is not None:
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        command = [runuser, "-u", as_user, "--", "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in environ.items()),
                   *command]
    # Seconds at most: the whole point is to stop at once, not halfway through the suite.
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=10)


def test_nothing_missing_does_nothing(sandbox):
    log = fake_apt_get(sandbox)
    for name in ("initdb", "pg_ctl", "chromium", "promtool"):
        stand_in(sandbox, name)
    done = run(sandbox, as_user="nobody" if os.geteuid() == 0 else None)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not log.exists(), "apt-get was not asked"


def test_missing_without_root_stops_at_once_naming_the_command(sandbox):
    """PostgreSQL's binaries, Chromium and promtool all missing, and not root: one line, status 1."""
    log = fake_apt_get(sandbox)
    done = run(sandbox, as_user="nobody" if os.geteuid() == 0 else None)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("make test needs the Debian packages postgresql chromium prometheus: run "
                           "'sudo tools/system-deps.sh' (or 'sudo apt-get install postgresql chromium prometheus'), "
                           "then make test again\n")
    assert not log.exists(), "apt-get was not run"


def test_only_what_is_missing_is_named(sandbox):
    fake_apt_get(sandbox)
    for name in ("initdb", "pg_ctl", "promtool"):
        stand_in(sandbox, name)
    done = run(sandbox, as_user="nobody" if os.geteuid() == 0 else None)
    assert done.returncode == 1
    assert "needs the Debian packages chromium:" in done.stderr and len(done.stderr.splitlines()) == 1


def test_missing_without_apt_get_says_so(sandbox):
    done = run(sandbox, as_user="nobody" if os.geteuid() == 0 else None)
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1
    assert done.stderr == ("make test needs PostgreSQL's server binaries (initdb, pg_ctl), Chromium (as chromium on "
                           "PATH), promtool (Prometheus) and this system has no apt-get: install them with its "
                           "package manager, then make test again\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="installing is what the script does as root only")
def test_missing_as_root_installs_with_apt_get(sandbox):
    log = fake_apt_get(sandbox)
    stand_in(sandbox, "promtool")
    done = run(sandbox)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "installing postgresql chromium with apt-get for the test suite\n"
    assert log.read_text().splitlines() == ["update -qq", "install -y -qq postgresql", "install -y -qq chromium"]
    # Run again: now present, nothing to do.
    assert run(sandbox).stdout == ""
    assert len(log.read_text().splitlines()) == 3


@pytest.mark.skipif(os.geteuid() != 0, reason="installing is what the script does as root only")
def test_an_install_that_brings_nothing_fails_clearly(sandbox):
    log = sandbox / "apt-get.log"
    stand_in(sandbox, "apt-get", f'#!{BASH}\necho "$*" >> "{log}"\n')  # "succeeds", installs nothing
    for name in ("initdb", "pg_ctl", "promtool"):
        stand_in(sandbox, name)
    done = run(sandbox)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("apt-get installed chromium, yet what chromium provides is still")


def test_make_test_and_ci_use_the_script():
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\ntest: system-deps install\n" in makefile and "tools/system-deps.sh" in makefile
    commands = [line for line in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert "make test" in commands
    assert not any("apt-get" in line for line in commands), "one script owns the apt-get logic"
