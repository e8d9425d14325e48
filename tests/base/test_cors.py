"""CORS: browser frontends on the listed origins only (no CORS by default: test_graphql_http)."""

import pytest

pytestmark = pytest.mark.anyio

ALLOWED = "https://app.example"


@pytest.fixture
def env_overrides() -> dict:
    return {"IRESERVE_CORS_ORIGINS": ALLOWED}


def preflight(origin: str) -> dict:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_preflight_from_a_listed_origin_is_allowed(http):
    response = await http.options("/graphql", headers=preflight(ALLOWED))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


async def test_requests_from_a_listed_origin_get_the_header(http, tokens):
    response = await http.post("/graphql", json={"query": "{ viewer { role } }"},
                               headers={"Origin": ALLOWED, "Authorization": f"Bearer {tokens['frontend']}"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED


@pytest.mark.parametrize("origin", ["https://evil.example", "http://app.example", "https://app.example.evil.test"])
async def test_other_origins_are_refused(http, tokens, origin):
    response = await http.options("/graphql", headers=preflight(origin))
    assert response.status_code >= 400
    assert "access-control-allow-origin" not in response.headers

    response = await http.post("/graphql", json={"query": "{ viewer { role } }"},
                               headers={"Origin": origin, "Authorization": f"Bearer {tokens['frontend']}"})
    assert "access-control-allow-origin" not in response.headers
