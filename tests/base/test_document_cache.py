"""Parsed and validated documents are kept for the next request with the same text; the limits
that refuse a document before validation still refuse it every time."""

from __future__ import annotations

import uuid

import pytest
import strawberry.schema.schema as strawberry_schema
from strawberry.extensions.parser_cache import _get_parse_cache

from addon.base.server.document_cache import DEFAULT_SIZE
from tests.base.test_cost_limits import HUNDRED_PAGES, only_error, post

pytestmark = pytest.mark.anyio


class Work:
    """How often a document was parsed (strawberry's parser cache missed, or strawberry parsed it
    itself) and validated."""

    def __init__(self) -> None:
        self.misses_before = _parse_cache().cache_info().misses
        self.parsed_by_strawberry = self.validated = 0

    def counts(self) -> dict[str, int]:
        misses = _parse_cache().cache_info().misses - self.misses_before
        return {"parse": misses + self.parsed_by_strawberry, "validate": self.validated}

    def __eq__(self, other) -> bool:
        return self.counts() == other

    def __getitem__(self, key: str) -> int:
        return self.counts()[key]

    def __repr__(self) -> str:
        return repr(self.counts())


def _parse_cache():
    return _get_parse_cache(DEFAULT_SIZE)


@pytest.fixture
def work(monkeypatch):
    found = Work()
    parse, validate = strawberry_schema.parse, strawberry_schema.validate_document

    def counted_parse(*args, **kwargs):
        found.parsed_by_strawberry += 1
        return parse(*args, **kwargs)

    def counted_validate(*args, **kwargs):
        found.validated += 1
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "parse", counted_parse)
    monkeypatch.setattr(strawberry_schema, "validate_document", counted_validate)
    return found


async def test_a_repeated_document_is_parsed_and_validated_once(http, tokens, work):
    # A text no other test sends: the parser cache is the process's (strawberry keeps one per size).
    query = f"{{ bookingStatuses {{ code }} }} # {uuid.uuid4()}"
    first = await post(http, tokens["staff"], query)
    assert work == {"parse": 1, "validate": 1}
    second = await post(http, tokens["staff"], query)
    assert second == first and "errors" not in second
    assert work == {"parse": 1, "validate": 1}, "the second request parsed or validated again"
    await post(http, tokens["staff"], query + " ")  # another text is another document
    assert work == {"parse": 2, "validate": 2}


async def test_a_costly_document_is_refused_every_time_it_comes(http, tokens, work):
    for _ in range(3):
        assert only_error(await post(http, tokens["frontend"], HUNDRED_PAGES))["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert work["validate"] == 0, "a refused document was validated"


async def test_an_invalid_document_is_refused_every_time_in_the_callers_language(http, tokens, work):
    for _ in range(2):
        error = only_error(await post(http, tokens["staff"], "{ bookingStatuses { nope } }"))
        assert "nope" in error["message"]
    assert work["validate"] == 2, "errors are not kept: each request validates again"


async def test_introspection_stays_closed_to_an_anonymous_caller_after_a_signed_in_one_asked(http, tokens, work):
    query = "{ __schema { queryType { name } } }"
    assert (await post(http, tokens["staff"], query))["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    for _ in range(2):
        assert only_error(await post(http, None, query))["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await post(http, tokens["staff"], query))["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_a_document_over_the_token_limit_is_refused_every_time(http, tokens):
    huge = "{ " + " ".join(f"a{i}: __typename" for i in range(6000)) + " }"
    for _ in range(2):
        assert only_error(await post(http, tokens["staff"], huge))["message"]
