"""Size limits on the inputs of people and tokens (user name and e-mail, password, token and app
name): refused with the limit named, nothing stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from addon.base.core.errors import ValidationFailed
from addon.base.identity import tokens, users
from addon.base.identity.models import ApiToken, User
from addon.base.identity.passwords import MAX_LENGTH as PASSWORD_MAX

pytestmark = pytest.mark.anyio

PASSWORD = "violet-tractor-harbour-42"


async def rows(host, model) -> int:
    async with host.database.session() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def refusal(host, work) -> list[tuple[str, str, str]]:
    async with host.database.session() as session:
        with pytest.raises(ValidationFailed) as refused:
            await work(session)
        await session.rollback()
    return [(p.field, p.code, p.message) for p in refused.value.problems]


@pytest.mark.parametrize(("inputs", "field", "code", "limit"), [
    ({"email": "a" * 250 + "@example.org"}, "email", "TOO_LONG", users.EMAIL_MAX),
    ({"name": "n" * (users.NAME_MAX + 1)}, "name", "TOO_LONG", users.NAME_MAX),
    ({"password": "p1-" * 400_000}, "password", "PASSWORD_TOO_LONG", PASSWORD_MAX),
], ids=["email", "name", "password"])
async def test_user_inputs_name_their_limit(host, inputs, field, code, limit):
    values = {"email": "anna@example.com", "name": "Anna", "role": "admin", "password": PASSWORD, **inputs}
    problems = await refusal(host, lambda s: users.create_user(s, **values))
    assert [(f, c) for f, c, _ in problems] == [(field, code)]
    assert str(limit) in problems[0][2]
    assert await rows(host, User) == 0


@pytest.mark.parametrize(("inputs", "field"), [
    ({"name": "t" * (tokens.NAME_MAX + 1)}, "name"),
    ({"owner_app": "a" * 1_000_000}, "ownerApp"),
], ids=["name", "owner-app"])
async def test_token_inputs_name_their_limit(host, clock, inputs, field):
    values = {"name": "booking-site", "role": "frontend", "now": clock.now(), **inputs}
    problems = await refusal(host, lambda s: tokens.issue_token(s, **values))
    assert [(f, c) for f, c, _ in problems] == [(field, "TOO_LONG")]
    assert str(tokens.NAME_MAX) in problems[0][2] and "aaaa" not in problems[0][2]
    assert await rows(host, ApiToken) == 0
