"""Staff read our own messages in their Accept-Language; codes and the values inside a message
never change. The first three tests are about the booking API and the transport, the rest about
door access."""

import pytest

from tests.door_access.helpers import (
    configured,
    create_booking,
    create_integration,
    set_mapping,
)

pytestmark = pytest.mark.anyio

CREATE_BOOKING = ("mutation($i: CreateBookingInput!) { createBooking(input: $i) { booking { id }"
                  " errors { field code message } } }")
SET_ACTIVE = ("mutation($i: SetDoorIntegrationActiveInput!) { setDoorIntegrationActive(input: $i) {"
              " errors { field code message } } }")
SET_MAPPING = ("mutation($i: SetDoorMappingInput!) { setDoorMapping(input: $i) { mapping { doorNames }"
               " errors { field code message } } }")


async def refused(gql, language):
    body = await gql.raw(CREATE_BOOKING, {"i": {"objectId": "999999", "start": "2026-06-12T14:00:00+02:00",
                                                 "end": "2026-06-11T10:00:00+02:00", "customer": {"name": "X"}}},
                         headers={"Accept-Language": language})
    return body["data"]["createBooking"]["errors"]


@pytest.mark.parametrize("language, message", [
    ("nl-NL,nl;q=0.9,en;q=0.8", "Het einde moet na het begin liggen."),
    ("de", "Das Ende muss nach dem Beginn liegen."),
    ("fr-FR", "La fin doit être postérieure au début."),
    ("ar", "The end must be after the start."),
    ("", "The end must be after the start."),
])
async def test_user_errors_follow_accept_language_and_codes_stay(gql, language, message):
    [error] = await refused(gql, language)
    assert error == {"field": "end", "code": "INVALID", "message": message}


async def test_values_inside_a_translated_message_are_kept(gql):
    body = await gql.raw("mutation($i: SetBookingStatusInput!) { setBookingStatus(input: $i) { errors { code message } } }",
                         {"i": {"bookingId": "424242", "status": "confirmed"}}, headers={"Accept-Language": "de"})
    assert body["data"]["setBookingStatus"]["errors"] == [{"code": "NOT_FOUND", "message": "Buchung 424242 existiert nicht."}]


async def test_graphql_errors_of_our_own_are_translated(http):
    response = await http.post("/graphql", json={"query": "{ bookingStatuses { code } }"},
                               headers={"Accept-Language": "nl"})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == "Authenticatie vereist: stuur de header 'Authorization: Bearer <token>'."


async def test_access_last_error_is_translated_for_each_reader(gql, memory):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], "2030-06-12T14:00:00+02:00",
                                "2030-06-13T10:00:00+02:00", email=None, phone=None, status="confirmed")
    assert made["access"][0]["state"] == "FAILED"
    query = "query($id: ID!) { booking(id: $id) { access { lastError } } }"
    english = (await gql(query, {"id": made["id"]}))["booking"]["access"][0]["lastError"]
    dutch = (await gql(query, {"id": made["id"]}, headers={"Accept-Language": "nl"}))["booking"]["access"][0]["lastError"]
    assert english == "Customer 'Guest' has neither an e-mail address nor a phone number to send the door link to."
    assert dutch == "Klant 'Guest' heeft geen e-mailadres en geen telefoonnummer om de deurlink naar te sturen."


async def test_preview_shows_the_guest_message_and_reasons_in_the_readers_language(gql, memory):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], "2030-06-12T14:00:00+02:00", "2030-06-14T10:00:00+02:00",
                                language="fr", status="option")
    query = "query($id: ID!) { previewBookingAccess(bookingId: $id) { reason locale localeReason message } }"
    [preview] = (await gql(query, {"id": made["id"]}, headers={"Accept-Language": "de"}))["previewBookingAccess"]
    assert preview["locale"] == "fr"  # the guest's language, whoever reads the preview
    assert preview["message"].startswith("Votre accès aux portes de Studio 1 est valable du mercredi 12 juin 2030 "
                                         "13:30 au vendredi 14 juin 2030 10:00")  # 30 min before
    assert preview["reason"] == "Status 'option' ist weder ein Auslöser- noch ein Entzugsstatus."
    assert preview["localeReason"] == "die Sprache des Kunden 'fr'"


async def test_activation_problems_are_in_the_readers_language(gql, memory):
    ident = (await create_integration(gql, triggerStatuses=[], authorizationIdField=None))["integration"]["id"]
    body = await gql.raw(SET_ACTIVE, {"i": {"integrationId": ident, "active": True}}, headers={"Accept-Language": "de"})
    errors = sorted(body["data"]["setDoorIntegrationActive"]["errors"], key=lambda e: e["field"])
    assert errors == [
        {"field": "authorizationIdField", "code": "REQUIRED",
         "message": "Wählen Sie das Buchungsfeld, das die Berechtigungs-ID speichert; der Entzug braucht sie."},
        {"field": "mapping", "code": "REQUIRED",
         "message": "Ordnen Sie im Reiter Zuordnung mindestens ein Objekt einer Tür zu."},
        {"field": "triggerStatuses", "code": "REQUIRED", "message": "Wählen Sie mindestens einen Auslöserstatus."},
    ]


@pytest.mark.parametrize("language, message", [
    ("nl", "Onbekende deur 'Front door'. Bekende deuren: Barn door, Cellar door, Main door, Meeting room door, "
           "Side door."),
    ("fr-BE", "Porte inconnue 'Front door'. Portes connues : Barn door, Cellar door, Main door, Meeting room door, "
              "Side door."),
    ("en", "Unknown door 'Front door'. Known doors: Barn door, Cellar door, Main door, Meeting room door, Side door."),
])
async def test_mapping_errors_keep_the_door_names_in_a_translated_message(gql, memory, language, message):
    ident, objects = await configured(gql)
    body = await gql.raw(SET_MAPPING, {"i": {"integrationId": ident, "objectId": objects["Meeting room"],
                                             "doorNames": ["Front door"]}}, headers={"Accept-Language": language})
    assert body["data"]["setDoorMapping"] == {
        "mapping": None, "errors": [{"field": "doorNames", "code": "UNKNOWN_DOOR", "message": message}]}


async def test_an_active_integration_keeps_its_last_mapping_in_the_readers_language(gql, memory):
    ident, objects = await configured(gql)
    body = await gql.raw(SET_MAPPING, {"i": {"integrationId": ident, "objectId": objects["Studio building"],
                                             "doorNames": []}}, headers={"Accept-Language": "nl"})
    assert body["data"]["setDoorMapping"]["errors"] == [{
        "field": "doorNames", "code": "REQUIRED",
        "message": "Een actieve integratie heeft minstens één koppeling nodig; deactiveer haar eerst."}]
    mapped = await set_mapping(gql, ident, objects["Studio building"], ["Main door"])  # still mapped, still works
    assert mapped["errors"] == []
