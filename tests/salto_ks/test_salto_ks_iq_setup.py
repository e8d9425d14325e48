"""The IQ OTP setup over GraphQL against the sandbox: IQ id, GET PIN (current pin shown once),
Set PIN (new pin, signed with the one-time password of the current pin) and "IQ is activated";
clear errors for an offline IQ, a refused OTP (the server clock) and a PIN changed elsewhere."""

import pytest
from sqlalchemy import select

from addon.base.public import AuditEvent, secret_box
from addon.salto_ks.models import SaltoKsCredentials
from tests.salto_ks.conftest import IQ_ID, IQ_PIN, IQ_SECRET, OFFLINE_IQ_ID
from tests.salto_ks.host_helpers import (
    DEMO_CREDENTIALS,
    activated_integration,
    configured_integration,
    get_pin,
    new_integration,
    set_credentials,
    set_pin,
    settings_of,
)

pytestmark = pytest.mark.anyio


def fields_of(errors: list[dict]) -> list[tuple[str | None, str]]:
    return sorted((e["field"], e["code"]) for e in errors)


async def stored(host) -> SaltoKsCredentials:
    async with host.database.session() as session:
        return (await session.execute(select(SaltoKsCredentials))).scalar_one()


def sandbox_iq(sandbox, iq_id: str = IQ_ID):
    return sandbox.state.iqs[iq_id]


# --------------------------------------------------------------------------- GET PIN


async def test_get_pin_shows_the_current_pin_once_and_keeps_it_encrypted(gql, host, wired_sandbox):
    ident = await configured_integration(gql)
    answer = await get_pin(gql, ident)
    assert answer["errors"] == [] and answer["currentPin"] == IQ_PIN
    assert answer["message"] == "Current pin fetched: enter a new pin and press Set PIN."
    settings = answer["integration"]["saltoKs"]
    assert settings["iqId"] == IQ_ID and settings["currentPinFetchedAt"] is not None
    assert settings["iqActivated"] is False and settings["iqStatus"] == "IQ is not activated"
    assert IQ_PIN not in str(await settings_of(gql, ident))
    row = await stored(host)
    assert IQ_PIN not in row.iq_pin_encrypted and IQ_SECRET not in row.iq_secret_encrypted
    assert secret_box(host).decrypt(row.iq_pin_encrypted) == IQ_PIN
    assert secret_box(host).decrypt(row.iq_secret_encrypted) == IQ_SECRET
    # Later GET PINs use the stored IQ id.
    assert (await get_pin(gql, ident, iq_id=None))["currentPin"] == IQ_PIN


async def test_get_pin_needs_an_iq_id_and_a_resolved_site(gql, wired_sandbox):
    unresolved = await new_integration(gql)
    await set_credentials(gql, unresolved, **DEMO_CREDENTIALS)
    answer = await get_pin(gql, unresolved)
    assert fields_of(answer["errors"]) == [("siteId", "REQUIRED")]
    assert answer["errors"][0]["message"] == "Press Resolve site ID first: the IQ OTP setup needs the Site ID."
    ident = await configured_integration(gql)
    assert fields_of((await get_pin(gql, ident, iq_id=None))["errors"]) == [("iqId", "REQUIRED")]
    invalid = await get_pin(gql, ident, iq_id="IQ-1")
    assert fields_of(invalid["errors"]) == [("iqId", "INVALID")]
    unknown = await get_pin(gql, ident, iq_id="00000000-0000-4000-8000-000000000000")
    assert fields_of(unknown["errors"]) == [("iqId", "NOT_FOUND")]
    assert "is not an IQ of site 'Duinpark' (NL6254340082)" in unknown["errors"][0]["message"]
    assert (await settings_of(gql, ident))["iqId"] is None  # nothing stored on refusal


async def test_get_pin_of_an_offline_iq(gql, wired_sandbox):
    ident = await configured_integration(gql)
    answer = await get_pin(gql, ident, iq_id=OFFLINE_IQ_ID)
    assert fields_of(answer["errors"]) == [("iqId", "IQ_OFFLINE")] and answer["currentPin"] is None
    assert answer["errors"][0]["message"] == ("The IQ is offline: it must be online and linked to the site. Check its "
                                              "power and network, then try again.")


async def test_the_iq_id_is_written_as_a_lower_case_uuid(gql, wired_sandbox):
    ident = await configured_integration(gql)
    answer = await get_pin(gql, ident, iq_id=IQ_ID.upper())
    assert answer["errors"] == [] and answer["integration"]["saltoKs"]["iqId"] == IQ_ID


# --------------------------------------------------------------------------- Set PIN


async def test_set_pin_activates_the_iq(gql, host, wired_sandbox):
    ident = await configured_integration(gql)
    await get_pin(gql, ident)
    answer = await set_pin(gql, ident, "2580")
    assert answer["errors"] == [] and answer["message"] == "IQ is activated"
    settings = answer["integration"]["saltoKs"]
    assert settings["iqActivated"] is True and settings["iqStatus"] == "IQ is activated"
    assert sandbox_iq(wired_sandbox).pin == "2580" and sandbox_iq(wired_sandbox).activated
    row = await stored(host)
    assert secret_box(host).decrypt(row.iq_pin_encrypted) == "2580" and row.iq_activated_at == host.clock.now()
    assert "2580" not in str(answer)
    async with host.database.session() as session:
        event = (await session.execute(select(AuditEvent).where(AuditEvent.action == "salto_ks.iq.activate"))
                 ).scalar_one()
    assert event.changes["iq_activated"] == [False, True] and "2580" not in str(event.changes)


@pytest.mark.parametrize("pin", ["123", "12345", "12a4", "", None])
async def test_the_new_pin_is_four_digits(gql, wired_sandbox, pin):
    ident = await configured_integration(gql)
    await get_pin(gql, ident)
    answer = await set_pin(gql, ident, pin)
    assert fields_of(answer["errors"]) == [("newPin", "INVALID")]
    assert answer["errors"][0]["message"] == "The new pin must be exactly 4 digits."
    assert sandbox_iq(wired_sandbox).pin == IQ_PIN


async def test_set_pin_before_get_pin(gql, wired_sandbox):
    ident = await configured_integration(gql)
    answer = await set_pin(gql, ident, "2580")
    assert fields_of(answer["errors"]) == [("iqId", "REQUIRED")]
    assert answer["errors"][0]["message"] == "Press GET PIN first: Set PIN is signed with the current pin."


async def test_set_pin_while_the_iq_is_offline(gql, wired_sandbox):
    ident = await configured_integration(gql)
    await get_pin(gql, ident)
    await wired_sandbox.set_iq_online(False)
    answer = await set_pin(gql, ident, "2580")
    assert fields_of(answer["errors"]) == [("iqId", "IQ_OFFLINE")]
    assert (await settings_of(gql, ident))["iqActivated"] is False
    await wired_sandbox.set_iq_online(True)
    assert (await set_pin(gql, ident, "2580"))["errors"] == []


@pytest.mark.parametrize("skew", [-30, 30])
async def test_a_server_clock_one_step_off_still_signs(gql, wired_sandbox, skew):
    ident = await configured_integration(gql)
    await get_pin(gql, ident)
    wired_sandbox.state.advance_clock(skew)
    assert (await set_pin(gql, ident, "2580"))["errors"] == []


@pytest.mark.parametrize("skew", [-60, 60])
async def test_a_server_clock_two_steps_off_is_refused_with_a_word_on_the_clock(gql, wired_sandbox, skew):
    ident = await configured_integration(gql)
    await get_pin(gql, ident)
    wired_sandbox.state.advance_clock(skew)
    answer = await set_pin(gql, ident, "2580")
    assert fields_of(answer["errors"]) == [(None, "OTP_REJECTED")]
    assert "check that the server clock is right" in answer["errors"][0]["message"]
    assert sandbox_iq(wired_sandbox).pin == IQ_PIN and (await settings_of(gql, ident))["iqActivated"] is False


async def test_a_refused_otp(gql, wired_sandbox):
    ident = await configured_integration(gql)
    await get_pin(gql, ident)
    await wired_sandbox.fault(mode="otp_rejected", operation="set_pin")
    answer = await set_pin(gql, ident, "2580")
    assert fields_of(answer["errors"]) == [(None, "OTP_REJECTED")]
    assert (await set_pin(gql, ident, "2580"))["errors"] == []  # the fault is used up


async def test_the_pin_changed_elsewhere_between_get_pin_and_set_pin(gql, wired_sandbox):
    ident = await configured_integration(gql)
    await get_pin(gql, ident)
    await wired_sandbox.change_pin_elsewhere(pin="9999")
    answer = await set_pin(gql, ident, "2580")
    assert fields_of(answer["errors"]) == [(None, "PIN_CHANGED_ELSEWHERE")]
    assert answer["errors"][0]["message"].startswith("The PIN of the IQ was changed outside the booking system")
    assert sandbox_iq(wired_sandbox).pin == "9999"
    fetched = await get_pin(gql, ident)
    assert fetched["currentPin"] == "9999"
    assert (await set_pin(gql, ident, "2580"))["errors"] == []


async def test_a_pin_changed_elsewhere_after_activation_withdraws_it(gql, host, wired_sandbox):
    ident = await activated_integration(gql)
    await wired_sandbox.change_pin_elsewhere(pin="9999")
    # Set PIN signed with our pin: the IQ says it had that pin before.
    answer = await set_pin(gql, ident, "1357")
    assert fields_of(answer["errors"]) == [(None, "PIN_CHANGED_ELSEWHERE")]
    settings = await settings_of(gql, ident)
    assert settings["iqActivated"] is False and settings["iqStatus"] == "IQ is not activated"
    async with host.database.session() as session:
        actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert "salto_ks.iq.activation_lost" in actions


async def test_get_pin_notices_a_pin_changed_elsewhere(gql, wired_sandbox):
    ident = await activated_integration(gql)
    assert (await get_pin(gql, ident))["message"] == "Current pin fetched: enter a new pin and press Set PIN."
    assert (await settings_of(gql, ident))["iqActivated"] is True  # the same pin: still activated
    await wired_sandbox.change_pin_elsewhere(pin="9999")
    answer = await get_pin(gql, ident)
    assert answer["currentPin"] == "9999" and answer["message"].startswith(
        "The PIN of the IQ was changed outside the booking system, so the IQ is no longer activated")
    assert answer["integration"]["saltoKs"]["iqActivated"] is False
    assert (await set_pin(gql, ident, "2468"))["errors"] == []
    assert (await settings_of(gql, ident))["iqActivated"] is True


async def test_a_lost_answer_to_set_pin_still_activates(gql, wired_sandbox):
    ident = await configured_integration(gql)
    await get_pin(gql, ident)
    await wired_sandbox.fault(mode="drop_answer", operation="set_pin")
    answer = await set_pin(gql, ident, "2580")
    assert answer["errors"] == [] and answer["integration"]["saltoKs"]["iqActivated"] is True
    # Pressing Set PIN again with the same new pin (signed with the old one) is recognised too.
    again = await set_pin(gql, ident, "2580")
    assert again["errors"] == [], again


async def test_salto_ks_down_during_set_pin(gql, wired_sandbox):
    ident = await configured_integration(gql)
    await get_pin(gql, ident)
    await wired_sandbox.fault(mode="status", status=503, operation="set_pin", retryAfter=5)
    answer = await set_pin(gql, ident, "2580")
    assert fields_of(answer["errors"]) == [(None, "BACKEND_UNAVAILABLE")]
    assert "retry after 5 s" in answer["errors"][0]["message"]
    assert sandbox_iq(wired_sandbox).pin == IQ_PIN


async def test_another_iq_id_starts_the_setup_again(gql, host, wired_sandbox):
    ident = await activated_integration(gql)
    await wired_sandbox.set_iq_online(True, OFFLINE_IQ_ID)
    answer = await get_pin(gql, ident, iq_id=OFFLINE_IQ_ID)
    assert answer["errors"] == [] and answer["currentPin"] == sandbox_iq(wired_sandbox, OFFLINE_IQ_ID).pin
    settings = answer["integration"]["saltoKs"]
    assert settings["iqId"] == OFFLINE_IQ_ID and settings["iqActivated"] is False


async def test_another_site_uid_forgets_the_iqs_activation(gql, wired_sandbox):
    ident = await activated_integration(gql)
    answer = await set_credentials(gql, ident, siteUid="CH4410000001")
    settings = answer["integration"]["saltoKs"]
    assert settings["iqActivated"] is False and settings["currentPinFetchedAt"] is None
    assert settings["iqId"] == IQ_ID  # the admin's entry stays


async def test_iq_is_activated_in_four_languages(gql, wired_sandbox):
    ident = await activated_integration(gql)
    for language, status in (("nl", "IQ is geactiveerd"), ("de", "IQ ist aktiviert"), ("fr", "L'IQ est activé"),
                             ("en", "IQ is activated")):
        body = await gql.raw("query($id: ID!) { doorIntegration(id: $id) { saltoKs { iqStatus } } }", {"id": ident},
                             headers={"Accept-Language": language})
        assert body["data"]["doorIntegration"]["saltoKs"]["iqStatus"] == status
    refused = await gql.raw("mutation($i: SetSaltoKsPinInput!) { setSaltoKsPin(input: $i) { errors { message } } }",
                            {"i": {"integrationId": ident, "newPin": "12"}}, headers={"Accept-Language": "de"})
    assert refused["data"]["setSaltoKsPin"]["errors"] == [{"message": "Die neue PIN muss genau 4 Ziffern haben."}]
