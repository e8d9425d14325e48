"""Command-line parts of door access."""

from __future__ import annotations

import argparse

from addon.base.public import check_ready_to_run


def _worker(host, args: argparse.Namespace) -> int:
    import asyncio

    from .worker import run_worker_process

    check_ready_to_run(host)  # refuses a database behind the code: 'ireserve db upgrade' first
    port = host.settings.health_port
    asyncio.run(run_worker_process(host, health=(args.health_host, port) if port else None))
    return 0


def _verify(host, args: argparse.Namespace) -> int:
    """Exit 0 when every set matched; 1 when a mismatch (or a set that could not be checked) was found,
    repaired or not."""
    import asyncio
    import dataclasses

    from addon.base.public import acting_as
    from addon.base.public import cli_actor

    from .settings import door_settings
    from .verify import verify

    check_ready_to_run(host)
    # The lifespans close the backends and write the call log; no access worker runs in this command.
    host.provide(dataclasses.replace(door_settings(host), worker_enabled=False))

    async def run():
        try:
            async with host.running():
                with acting_as(cli_actor()):  # the audit trail names the operating-system user
                    return await verify(host, args.integration, everything=args.all, repair=args.repair, say=print)
        finally:
            await host.database.dispose()

    report = asyncio.run(run())
    print(f"checked {report.sets} access sets of {report.grants} grants: {len(report.mismatches)} mismatches, "
          f"{len(report.errors)} not checked" + (f", {report.repaired} grants repaired" if args.repair else ""))
    return 0 if report.matched else 1


def add_commands(commands) -> None:
    worker = commands.add_parser(
        "worker", help="run the access worker (finishes pending door access) on its own; with IRESERVE_HEALTH_PORT "
                       "set, it serves /healthz, /readyz and /metrics on that port")
    worker.add_argument("--health-host", default="127.0.0.1", metavar="HOST",
                        help="interface of IRESERVE_HEALTH_PORT (default 127.0.0.1)")
    worker.set_defaults(func=_worker)

    access = commands.add_parser("access", help="door access tools")
    tools = access.add_subparsers(dest="access_command", required=True)
    check = tools.add_parser(
        "verify", help="compare every access set the database knows of with what the lock vendor holds and what "
                       "should exist; exit 1 on any mismatch")
    check.add_argument("--integration", type=int, metavar="ID", help="only this integration's grants")
    check.add_argument("--repair", action="store_true",
                       help="record what the vendor holds and reconcile the mismatched grants now (audited)")
    check.add_argument("--all", action="store_true",
                       help="also bookings that ended more than a day ago (default: those and unsettled sets only)")
    check.set_defaults(func=_verify)
