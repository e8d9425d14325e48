#!/usr/bin/env bash
# Refresh the lock files of requirements/ (`make lock`): every Python package the project
# installs, pinned with the hashes of its files, so that the image, CI and every developer install
# exactly what the tests ran with.
#
#   requirements/runtime.txt  what the application needs (pyproject.toml's dependencies): the image
#   requirements/build.txt    pyproject.toml's build requirements and pip: the image's build stage
#   requirements/test.txt     all of the above and the test extra: `make install`, `make test`, CI
#
# uv resolves for every platform and every Python the project supports at once (--universal), so
# one lock serves the image (Linux, Python 3.11) and a developer's machine alike. Pins already in
# a lock are kept while pyproject.toml allows them; UPGRADE=1 moves everything to the newest
# release allowed. The build and test locks are held to the runtime lock's pins (-c).
set -euo pipefail
cd "$(dirname "$0")/.."

uv=${UV:-uv}
python=${PYTHON:-python3}
upgrade=()
if [ "${UPGRADE:-}" = 1 ]; then upgrade=(--upgrade); fi

lock() {
  "$uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --custom-compile-command "make lock" "${upgrade[@]}" "$@"
}

# pyproject.toml's [build-system] requires (one list, read from there), and pip itself.
build_tools() {
  "$python" -c 'import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["build-system"]["requires"]))'
  echo pip
}

lock pyproject.toml -o requirements/runtime.txt
build_tools | lock - -c requirements/runtime.txt -o requirements/build.txt
build_tools | lock pyproject.toml - --extra test -c requirements/runtime.txt -o requirements/test.txt
echo "locked: requirements/runtime.txt, requirements/build.txt, requirements/test.txt"
