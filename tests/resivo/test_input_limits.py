"""Size limits on the Authentication tab: a client secret of a megabyte is refused with the limit
named, nothing is stored (not even the other fields sent with it), and it is never quoted back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from addon.resivo.credentials import MAX_CLIENT_SECRET
from addon.resivo.models import ResivoCredentials
from tests.door_access.helpers import create_booking_field, create_integration
from tests.resivo.host_helpers import DEMO_CREDENTIALS, set_credentials

pytestmark = pytest.mark.anyio


async def stored(host) -> list[ResivoCredentials]:
    async with host.database.session() as session:
        return list((await session.execute(select(ResivoCredentials))).scalars())


async def test_a_client_secret_over_the_limit_is_refused_and_nothing_stored(gql, host):
    await create_booking_field(gql)
    created = await create_integration(gql, backend="resivo")
    integration_id = created["integration"]["id"]
    for secret in ("s" * (MAX_CLIENT_SECRET + 1), "s" * 1_000_000):
        refused = await set_credentials(gql, integration_id, **{**DEMO_CREDENTIALS, "clientSecret": secret})
        assert refused["integration"] is None
        assert [(e["field"], e["code"]) for e in refused["errors"]] == [("clientSecret", "TOO_LONG")]
        assert str(MAX_CLIENT_SECRET) in refused["errors"][0]["message"]
        assert "ssss" not in refused["errors"][0]["message"]
    assert await stored(host) == []
    saved = await set_credentials(gql, integration_id, **{**DEMO_CREDENTIALS, "clientSecret": "s" * MAX_CLIENT_SECRET})
    assert saved["errors"] == [] and saved["integration"]["resivo"]["clientSecretSet"] is True


@pytest.mark.parametrize(("field", "limit"), [("siteOwnerId", 100), ("clientId", 200), ("siteId", 100),
                                              ("baseUrl", 300)], ids=["site-owner", "client", "site", "base-url"])
async def test_the_other_credentials_name_their_limit(gql, host, field, limit):
    await create_booking_field(gql)
    integration_id = (await create_integration(gql, backend="resivo"))["integration"]["id"]
    refused = await set_credentials(gql, integration_id, **{**DEMO_CREDENTIALS, field: "v" * (limit + 1)})
    too_long = [e for e in refused["errors"] if (e["field"], e["code"]) == (field, "TOO_LONG")]
    assert too_long and str(limit) in too_long[0]["message"], refused["errors"]
    assert await stored(host) == []
