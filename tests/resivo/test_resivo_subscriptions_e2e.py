"""Live door access across processes on PostgreSQL: the web process (``ireserve serve`` with
IRESERVE_WORKER=false) holds a frontend's subscription; the booking is confirmed by another
process and a separate ``ireserve worker`` gets the access from Resivo (a sandbox served by uvicorn);
the subscriber hears PENDING, then ACTIVE, through LISTEN/NOTIFY."""

from __future__ import annotations

import httpx
import pytest

from addon.base.public import Role, commit, create_token, load_host
from addon.booking.public import set_booking_status
from tests.conftest import GraphQLClient, base_environ
from tests.door_access.helpers import create_booking, future
from tests.resivo.host_helpers import DEMO_CREDENTIALS, STUDIO_DOORS, configured_resivo
from tests.support.live_server import open_socket
from tests.support.processes import free_port, start, stop, until_serving

pytestmark = pytest.mark.anyio

ACCESS = """subscription($id: ID!) { bookingAccessChanged(bookingId: $id) {
  state doors { name } authorizationId } }"""
CHANGES = "subscription($id: ID!) { integrationAccessChanged(integrationId: $id) { grantId bookingId state } }"


async def test_a_subscriber_on_the_web_process_hears_the_worker_process_finish(postgres_url, tmp_path, live_sandbox):
    sandbox_url, _ = live_sandbox
    port = free_port()
    environ = base_environ(tmp_path, postgres_url, IRESERVE_WORKER="false", IRESERVE_WORKER_INTERVAL="0.2",
                           IRESERVE_LOG_LEVEL="WARNING")
    here = load_host(environ=environ)  # this test's own process: tokens, and the booking's confirmation
    try:
        async with here.database.session() as session:
            admin = await create_token(session, "e2e-admin", Role.ADMIN)
            frontend = await create_token(session, "e2e-site", Role.FRONTEND)
            await commit(session)

        web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
        web = start(["serve", "--port", str(port)], environ, web_log)
        worker = None
        try:
            url = f"http://127.0.0.1:{port}"
            await until_serving(url, web, web_log)
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                api = GraphQLClient(client, admin)
                integration_id, objects = await configured_resivo(api, credentials=dict(DEMO_CREDENTIALS,
                                                                                        baseUrl=sandbox_url))
                booking = await create_booking(api, objects["Studio 1"], future(), future(11))

            async with open_socket(f"ws://127.0.0.1:{port}/graphql") as site, \
                    open_socket(f"ws://127.0.0.1:{port}/graphql") as desk:
                assert (await site.init({"Authorization": f"Bearer {frontend}"}))["type"] == "connection_ack"
                assert (await desk.init({"Authorization": f"Bearer {admin}"}))["type"] == "connection_ack"
                await site.subscribe("access", ACCESS, {"id": booking["id"]})
                await desk.subscribe("changes", CHANGES, {"id": integration_id})
                assert (await site.next("access"))["payload"]["data"] == {"bookingAccessChanged": []}

                # Confirmed by another process (this one), with no reconcile of its own: only the
                # notification tells the web process, and only the worker process can finish it.
                async with here.database.session() as session:
                    await set_booking_status(here, session, booking["id"], "confirmed")
                    await session.commit()
                pending = (await site.next("access", timeout=30))["payload"]["data"]["bookingAccessChanged"]
                assert [g["state"] for g in pending] == ["PENDING"]
                change = (await desk.next("changes", timeout=30))["payload"]["data"]["integrationAccessChanged"]
                assert change["state"] == "PENDING" and change["bookingId"] == booking["id"]

                worker = start(["worker"], environ, worker_log)
                seen = await site.next("access", timeout=60)
                [active] = seen["payload"]["data"]["bookingAccessChanged"]
                assert active["state"] == "ACTIVE", worker_log.read_text()
                assert sorted(d["name"] for d in active["doors"]) == sorted(STUDIO_DOORS)
                assert active["authorizationId"] is None and seen["payload"]["errors"][0]["extensions"]["code"] == \
                    "FORBIDDEN", "the frontend role does not read the vendor's id"
                while change["state"] != "ACTIVE":
                    change = (await desk.next("changes", timeout=30))["payload"]["data"]["integrationAccessChanged"]
            async with httpx.AsyncClient(base_url=sandbox_url) as sandbox:
                made = (await sandbox.get("/_sandbox/authorizations")).json()
            made = made["authorizations"] if isinstance(made, dict) else made
            assert [a["externalReference"].rsplit("-", 2)[1] for a in made] == [f"b{booking_row(booking['id'])}"], \
                "one access set, made by the worker process"
        finally:
            if worker is not None:
                assert stop(worker) == 0, worker_log.read_text()
            # A stop signal: a graceful shutdown and a normal exit.
            assert stop(web) == 0 and "Traceback" not in web_log.read_text(), web_log.read_text()
    finally:
        await here.database.dispose()


def booking_row(global_id: str) -> str:
    from addon.base.public import split_global_id

    return split_global_id(global_id)[1]
