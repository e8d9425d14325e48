"""A looked-up API token is reused for a short while (IRESERVE_TOKEN_CACHE_SECONDS): a client's
next request reads no token row; a revocation in this process holds at once, one made elsewhere
once the entry has run out."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from addon.base.identity.auth import hash_token
from addon.base.identity.models import ApiToken
from tests.base.test_tokens_lifecycle import REVOKE, VIEWER, create, unauthenticated
from tests.conftest import count_statements

pytestmark = pytest.mark.anyio


def token_reads(counter) -> int:
    return sum(1 for s in counter["sql"] if "api_token" in s.lower() and s.lstrip().upper().startswith("SELECT"))


async def test_a_tokens_next_request_reads_no_token_row(gql, host):
    made = await create(gql)
    await gql(VIEWER, token=made["token"])  # read, and its first use written
    with count_statements(host) as counter:
        assert (await gql(VIEWER, token=made["token"]))["viewer"]["name"] == "booking-site"
    assert token_reads(counter) == 0, counter["sql"]


async def test_a_revocation_in_this_process_holds_at_once(gql, host):
    made = await create(gql)
    assert (await gql(VIEWER, token=made["token"]))["viewer"]["name"] == "booking-site"
    await gql(REVOKE, {"input": {"id": made["apiToken"]["id"]}})
    assert unauthenticated(await gql.raw(VIEWER, token=made["token"]))


async def test_a_revocation_elsewhere_holds_once_the_entry_runs_out(gql, host, clock):
    made = await create(gql)
    await gql(VIEWER, token=made["token"])
    # Another process revokes it: a write this process's sessions never see.
    async with host.database.engine.begin() as connection:
        await connection.execute(update(ApiToken.__table__).where(
            ApiToken.__table__.c.token_hash == hash_token(made["token"])).values(revoked_at=clock.now()))
    assert (await gql(VIEWER, token=made["token"]))["viewer"]["name"] == "booking-site"
    clock.advance(seconds=host.settings.token_cache_seconds)
    assert unauthenticated(await gql.raw(VIEWER, token=made["token"]))


class TestWithoutCache:
    @pytest.fixture
    def env_overrides(self):
        return {"IRESERVE_TOKEN_CACHE_SECONDS": "0"}

    async def test_every_request_reads_the_token(self, gql, host):
        made = await create(gql)
        await gql(VIEWER, token=made["token"])
        with count_statements(host) as counter:
            await gql(VIEWER, token=made["token"])
        assert token_reads(counter) == 1, counter["sql"]
