"""The ``ireserve`` command line (the console script's entry point).

``ireserve probe`` — a container's health check, run every few seconds, also while the machine is
busy — is answered by a small HTTP client that imports nothing of the application (probe.py);
every other command loads the addons and runs from commands.py.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["probe"]:
        from .probe import main as probe

        return probe(arguments[1:])
    from .commands import main as run_command

    return run_command(arguments)


if __name__ == "__main__":
    sys.exit(main())
