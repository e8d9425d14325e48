"""The lock files of requirements/ (`make lock`): they pin everything pyproject.toml asks for, within
its ranges, with hashes; the three agree with each other; this environment was installed from the
test lock; and the Makefile and the Dockerfile install from them with hashes checked."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from addon.base.public import REPO_ROOT

LOCKS = REPO_ROOT / "requirements"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@dataclass
class Pin:
    version: str
    marker: Marker | None
    hashes: list[str] = field(default_factory=list)

    def applies(self, extra: str = "") -> bool:
        return self.marker is None or self.marker.evaluate({"extra": extra})


def read_lock(name: str) -> dict[str, Pin]:
    text = (LOCKS / name).read_text(encoding="utf-8")
    assert "make lock" in text.splitlines()[1], f"{name}: made by `make lock`"
    pins: dict[str, Pin] = {}
    current = None
    for line in text.splitlines():
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)(?: ; ([^\\]+?))? \\$", line):
            package, version, marker = match.groups()
            current = canonicalize_name(package)
            assert current not in pins, f"{name}: {package} pinned twice"
            pins[current] = Pin(version, Marker(marker) if marker else None)
        elif match := re.match(r"^\s+--hash=(sha256:[0-9a-f]{64})", line):
            pins[current].hashes.append(match.group(1))
        else:
            assert not line.strip() or line.lstrip().startswith("#"), f"{name}: unexpected line {line!r}"
    assert pins, name
    return pins


def requirements(names: list[str]) -> list[Requirement]:
    return [Requirement(name) for name in names]


def assert_pinned(lock: dict[str, Pin], wanted: list[Requirement], lock_name: str) -> None:
    for requirement in wanted:
        pin = lock.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is not in {lock_name}: run `make lock`"
        assert requirement.specifier.contains(pin.version, prereleases=True), \
            f"{lock_name} pins {requirement.name}=={pin.version}, outside {requirement}: run `make lock`"


def test_every_pin_has_hashes():
    for name in ("runtime.txt", "build.txt", "test.txt"):
        for package, pin in read_lock(name).items():
            assert pin.hashes, f"{name}: {package} has no hash"


def test_the_locks_hold_what_pyproject_asks_for():
    project = PYPROJECT["project"]
    runtime, build, test = read_lock("runtime.txt"), read_lock("build.txt"), read_lock("test.txt")
    build_requirements = requirements(PYPROJECT["build-system"]["requires"])
    assert_pinned(runtime, requirements(project["dependencies"]), "runtime.txt")
    assert_pinned(build, build_requirements, "build.txt")
    assert_pinned(test, requirements(project["dependencies"] + project["optional-dependencies"]["test"]), "test.txt")
    assert_pinned(test, build_requirements, "test.txt")
    assert "pip" in build and "pip" in test, "pip itself is locked too"


def test_the_locks_agree_with_the_runtime_lock():
    runtime = read_lock("runtime.txt")
    for name in ("build.txt", "test.txt"):
        other = read_lock(name)
        differ = {package: (runtime[package].version, other[package].version)
                  for package in runtime.keys() & other.keys() if runtime[package].version != other[package].version}
        assert not differ, f"{name} and runtime.txt differ: {differ}"
    assert runtime.keys() <= read_lock("test.txt").keys(), "the test lock holds the whole runtime"


def test_this_environment_was_installed_from_the_test_lock():
    for package, pin in read_lock("test.txt").items():
        if not pin.applies():
            continue
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            raise AssertionError(f"{package} of requirements/test.txt is not installed: run `make install`") from None
        assert installed == pin.version, f"{package} {installed} installed, {pin.version} locked: run `make install`"


def test_the_makefile_and_the_dockerfile_install_from_the_locks():
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "LOCK   := requirements/test.txt" in makefile
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert "pip install --quiet --no-deps --no-build-isolation -e ." in makefile
    assert re.search(r"^\$\(STAMP\): pyproject.toml \$\(LOCK\)$", makefile, flags=re.M), "reinstalls when the lock changes"
    assert re.search(r"^lock:\n(\t.*\n)*\t.*tools/lock.sh$", makefile, flags=re.M)
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements/build.txt" in dockerfile
    assert "--require-hashes --only-binary=:all: --dest /wheels \\\n      -r requirements/runtime.txt" in dockerfile
    assert "--find-links /tmp/wheels --require-hashes -r /tmp/runtime.txt" in dockerfile
    assert "--no-index --no-deps /tmp/wheels/ireserve_addons-*.whl" in dockerfile
    lock_script = (REPO_ROOT / "tools" / "lock.sh").read_text(encoding="utf-8")
    assert "--generate-hashes" in lock_script and "--universal" in lock_script
    assert Path(REPO_ROOT / "tools" / "lock.sh").stat().st_mode & 0o111, "executable"
