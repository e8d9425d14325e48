"""`ireserve access verify` as an operator runs it: a real process against the Resivo sandbox over
real HTTP. A set revoked in Resivo behind our back is a mismatch (exit 1); `--repair` renews it
(audited) and the next run matches (exit 0)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import base_environ
from tests.door_access.helpers import create_booking, future
from tests.resivo.host_helpers import DEMO_CREDENTIALS, configured_resivo
from tests.support.processes import run

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]


async def test_verify_finds_a_set_revoked_in_resivo_and_repairs_it(host, gql, tmp_path, live_sandbox):
    url, _ = live_sandbox
    _, objects = await configured_resivo(gql, credentials=dict(DEMO_CREDENTIALS, baseUrl=url))
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    set_id = made["access"][0]["authorizationId"]
    environ = base_environ(tmp_path, host.database.url)

    first = run(["access", "verify"], environ)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "checked 1 access sets of 1 grants: 0 mismatches, 0 not checked" in first.stdout

    async with httpx.AsyncClient(base_url=url) as sandbox:  # someone else revokes it in Resivo
        token = (await sandbox.post("/oauth2/token", data={"grant_type": "client_credentials",
                                                           "client_id": "demo-client",
                                                           "client_secret": "demo-secret"})).json()["access_token"]
        answer = await sandbox.delete(f"/v8/sites/demo-site/authorizations/{set_id}/revoke",
                                      headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 204

    found = run(["access", "verify"], environ)
    assert found.returncode == 1
    assert f"set {set_id} is the booking's access but is not live at the vendor" in found.stdout
    assert "demo-secret" not in found.stdout + found.stderr and token not in found.stdout + found.stderr

    repaired = run(["access", "verify", "--repair"], environ)
    assert repaired.returncode == 1 and "1 grants repaired" in repaired.stdout
    again = run(["access", "verify"], environ)
    assert again.returncode == 0, again.stdout
    async with httpx.AsyncClient(base_url=url) as sandbox:
        sets = (await sandbox.get("/_sandbox/authorizations")).json()
    assert sorted(s["status"] for s in sets) == ["active", "revoked"]
