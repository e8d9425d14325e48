"""The outbound address policy of an integration's base URL: https to a public address; link-local
and cloud-metadata addresses never; loopback, private addresses and plain http only with
RESIVO_ALLOW_PRIVATE_BASE_URL. Checked by what a name resolves to when the base URL is saved and
again at every connection (DNS rebinding), and the connection test does not tell which internal
ports are open."""

from __future__ import annotations

import socket

import httpcore
import httpx
import pytest
from sqlalchemy import select, update

from addon.resivo.client import (
    ResivoConnector,
    ResivoDestinationRefused,
    ResivoTransientError,
    ResivoUnreachable,
)
from addon.resivo.client import (
    ResivoCredentials as WireCredentials,
)
from addon.resivo.connection import close_connector
from addon.resivo.models import ResivoCredentials
from addon.resivo.outbound import (
    AddressClass,
    OutboundPolicy,
    Refusal,
    classify_address,
    outbound_policy,
)
from addon.resivo.settings import ResivoSettings
from tests.resivo.host_helpers import (
    DEMO_CREDENTIALS,
    create_resivo_integration,
    set_credentials,
)
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

PUBLIC_IP = "93.184.216.34"
MINIMAL = {"siteOwnerId": "demo-owner", "clientId": "demo-client", "clientSecret": "demo-secret"}
TEST_CONNECTION = "query($id: ID!) { testDoorConnection(integrationId: $id) { ok message } }"
POLICY_MESSAGE = ("The Base URL is not allowed: Resivo is reached over https at a public address. Loopback and private "
                  "addresses (and plain http) need RESIVO_ALLOW_PRIVATE_BASE_URL=true; link-local and cloud-metadata "
                  "addresses are never allowed.")


class FakeDNS:
    """A resolver for the policy: names → addresses (changeable between calls); unknown names
    do not resolve. Records what was asked."""

    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names = dict(names or {})
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.names[host])


# ------------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("address, expected", [
    ("93.184.216.34", AddressClass.PUBLIC),
    ("2606:4700::1111", AddressClass.PUBLIC),
    ("::ffff:8.8.8.8", AddressClass.PUBLIC),  # an IPv4-mapped address goes where its IPv4 address goes
    ("127.0.0.1", AddressClass.PRIVATE),
    ("127.8.9.10", AddressClass.PRIVATE),
    ("::1", AddressClass.PRIVATE),
    ("10.1.2.3", AddressClass.PRIVATE),
    ("172.16.0.1", AddressClass.PRIVATE),
    ("192.168.1.10", AddressClass.PRIVATE),
    ("100.64.0.1", AddressClass.PRIVATE),  # carrier-grade NAT
    ("fd12:3456::1", AddressClass.PRIVATE),  # unique local
    ("::ffff:127.0.0.1", AddressClass.PRIVATE),
    ("64:ff9b::7f00:1", AddressClass.PRIVATE),  # NAT64 of 127.0.0.1
    ("2002:7f00:1::", AddressClass.PRIVATE),  # 6to4 of 127.0.0.1
    ("169.254.169.254", AddressClass.NEVER),  # AWS, GCP, Azure, Oracle, ... metadata
    ("169.254.1.1", AddressClass.NEVER),  # link-local
    ("fe80::1", AddressClass.NEVER),
    ("fe80::1%eth0", AddressClass.NEVER),
    ("fd00:ec2::254", AddressClass.NEVER),  # AWS metadata over IPv6 (otherwise a unique-local address)
    ("fd20:ce::254", AddressClass.NEVER),  # GCP metadata over IPv6
    ("100.100.100.200", AddressClass.NEVER),  # Alibaba metadata
    ("::ffff:169.254.169.254", AddressClass.NEVER),
    ("0.0.0.0", AddressClass.NEVER),  # reaches the local host
    ("::", AddressClass.NEVER),
    ("224.0.0.1", AddressClass.NEVER),
    ("255.255.255.255", AddressClass.NEVER),
])
def test_addresses_are_classified_by_where_they_lead(address, expected):
    assert classify_address(address) is expected


@pytest.mark.parametrize("allow_private, url, expected", [
    (False, "https://api.resivo.example", None),
    (False, "http://api.resivo.example", Refusal.PLAIN_HTTP),
    (False, f"https://{PUBLIC_IP}:8443", None),
    (False, "https://127.0.0.1", Refusal.PRIVATE),
    (False, "https://localhost:8100", Refusal.PRIVATE),
    (False, "https://10.0.0.5:22", Refusal.PRIVATE),
    (False, "https://[::1]:8443", Refusal.PRIVATE),
    (False, "https://intranet.example", Refusal.PRIVATE),  # a name that resolves to a private address
    (False, "https://split.example", Refusal.PRIVATE),  # one of its addresses is private
    (False, "https://unknown.example", None),  # does not resolve now: checked again at every connection
    (True, "http://127.0.0.1:8100", None),
    (True, "http://intranet.example", None),
    (True, "https://unknown.example", None),
    # Never, whatever the setting:
    (True, "https://169.254.169.254", Refusal.NEVER),
    (True, "http://169.254.169.254/latest", Refusal.NEVER),
    (True, "https://[fd00:ec2::254]", Refusal.NEVER),
    (True, "https://[fe80::1]", Refusal.NEVER),
    (True, "https://metadata.google.internal", Refusal.NEVER),
    (True, "https://METADATA.google.internal.", Refusal.NEVER),
    (True, "https://aws-metadata.example", Refusal.NEVER),  # a name that resolves to it
    (True, "https://0.0.0.0:8000", Refusal.NEVER),
])
async def test_the_policy_refuses_what_the_rules_say(allow_private, url, expected):
    dns = FakeDNS({"api.resivo.example": [PUBLIC_IP], "intranet.example": ["10.0.0.7"],
                   "split.example": [PUBLIC_IP, "127.0.0.1"], "aws-metadata.example": ["169.254.169.254"]})
    policy = OutboundPolicy(allow_private=allow_private, resolve=dns)
    parts = httpx.URL(url)
    assert await policy.refusal(parts.scheme, parts.host, parts.port or 443) == expected


def test_the_setting_is_off_by_default_and_read_from_the_environment():
    assert ResivoSettings.from_env({}).allow_private_base_url is False
    assert ResivoSettings.from_env({"RESIVO_ALLOW_PRIVATE_BASE_URL": "true"}).allow_private_base_url is True


# ------------------------------------------------------------------------------ at save time


@pytest.fixture
def env_overrides():
    return {"RESIVO_ALLOW_PRIVATE_BASE_URL": "false", "RESIVO_CONNECT_TIMEOUT": "0.5", "RESIVO_READ_TIMEOUT": "0.5"}


@pytest.fixture
def dns(host) -> FakeDNS:
    """The host's policy as the environment sets it, resolving through a fake DNS."""
    resolver = FakeDNS({"api.resivo.example": [PUBLIC_IP], "intranet.example": ["10.0.0.7"],
                        "aws-metadata.example": ["169.254.169.254"]})
    assert outbound_policy(host).allow_private is False  # from RESIVO_ALLOW_PRIVATE_BASE_URL
    host.provide(OutboundPolicy(allow_private=False, resolve=resolver, timeout=0.5))
    return resolver


async def new_integration(gql) -> str:
    return await create_resivo_integration(gql, MINIMAL, authorizationIdField=None)


async def stored_base_url(host, ident) -> str:
    async with host.database.session() as session:
        return (await session.execute(select(ResivoCredentials.base_url)
                                      .where(ResivoCredentials.integration_id == row_id(ident)))).scalar_one()


@pytest.mark.parametrize("url, says", [
    ("http://api.resivo.example", "must start with https://"),
    ("https://127.0.0.1:8100", "loopback or private network address"),
    ("https://10.0.0.5:22", "loopback or private network address"),
    ("https://intranet.example", "loopback or private network address"),
    ("https://169.254.169.254", "link-local or cloud-metadata address"),
    ("https://metadata.google.internal", "link-local or cloud-metadata address"),
    ("https://aws-metadata.example", "link-local or cloud-metadata address"),
])
async def test_a_refused_base_url_is_not_saved(gql, host, dns, url, says):
    ident = await new_integration(gql)
    answer = await set_credentials(gql, ident, baseUrl=url)
    assert answer["integration"] is None
    [error] = answer["errors"]
    assert (error["field"], error["code"]) == ("baseUrl", "INVALID") and says in error["message"], error
    assert await stored_base_url(host, ident) == "https://api.resivo.io"  # unchanged


@pytest.mark.parametrize("url", ["https://api.resivo.example/gateway", f"https://{PUBLIC_IP}:8443",
                                 "https://not-yet-in-dns.example"])
async def test_a_public_or_not_yet_resolvable_base_url_is_saved(gql, host, dns, url):
    ident = await new_integration(gql)
    assert (await set_credentials(gql, ident, baseUrl=url))["errors"] == []
    assert await stored_base_url(host, ident) == url
    if "example" in url:
        assert httpx.URL(url).host in dns.asked  # checked by what it resolves to


async def test_with_the_setting_on_private_addresses_and_http_are_saved_but_metadata_never(gql, host):
    host.provide(OutboundPolicy(allow_private=True, resolve=FakeDNS({"intranet.example": ["10.0.0.7"]})))
    ident = await new_integration(gql)
    for url in ("http://127.0.0.1:8100", "http://intranet.example:8080", "https://[::1]:8443"):
        assert (await set_credentials(gql, ident, baseUrl=url))["errors"] == [], url
    for url in ("http://169.254.169.254", "https://metadata.google.internal", "http://[fe80::1]"):
        assert [e["code"] for e in (await set_credentials(gql, ident, baseUrl=url))["errors"]] == ["INVALID"], url


# ---------------------------------------------------------------------------- at connection


class FakeNetwork(httpcore.AsyncNetworkBackend):
    """The sockets under the guard: records where it is asked to connect, fails as told."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connected.append((host, port))
        raise self.failure

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise AssertionError("not used")

    async def sleep(self, seconds):
        raise AssertionError("not used")


def credentials(base_url: str) -> WireCredentials:
    return WireCredentials(base_url=base_url, site_owner_id="demo-owner", client_id="demo-client",
                           client_secret="demo-secret")


async def failure_of(policy: OutboundPolicy, network: FakeNetwork, base_url: str) -> Exception:
    records = []
    async with ResivoConnector(address_guard=policy, network_backend=network, on_call=records.append,
                               connect_timeout=0.5, read_timeout=0.5) as connector:
        with pytest.raises(Exception) as caught:
            await connector.client(credentials(base_url)).list_sites()
    assert [r.operation for r in records] == ["token"] and records[0].error == str(caught.value)
    return caught.value


async def test_a_connection_goes_to_the_address_that_was_checked():
    network = FakeNetwork(httpcore.ConnectError("[Errno 111] Connection refused"))
    policy = OutboundPolicy(resolve=FakeDNS({"api.resivo.example": [PUBLIC_IP, "2606:4700::1111"]}))
    await failure_of(policy, network, "https://api.resivo.example")
    # Both checked addresses were tried, by address: the name is never resolved a second time.
    assert network.connected == [(PUBLIC_IP, 443), ("2606:4700::1111", 443)]


async def test_a_name_that_now_resolves_to_loopback_is_refused_without_connecting():
    dns = FakeDNS({"rebind.example": [PUBLIC_IP]})
    policy = OutboundPolicy(resolve=dns)
    assert await policy.refusal("https", "rebind.example", 443) is None  # fine when saved
    dns.names["rebind.example"] = ["127.0.0.1"]  # DNS rebinding
    network = FakeNetwork(AssertionError("must not connect"))
    error = await failure_of(policy, network, "https://rebind.example")
    assert isinstance(error, ResivoDestinationRefused) and network.connected == []
    assert "refused" in str(error) and "RESIVO_ALLOW_PRIVATE_BASE_URL" in str(error)


@pytest.mark.parametrize("allow_private", [False, True])
async def test_metadata_is_refused_at_connection_whatever_the_setting(allow_private):
    policy = OutboundPolicy(allow_private=allow_private, resolve=FakeDNS({"cloud.example": ["169.254.169.254"]}))
    for url in ("https://cloud.example", "http://169.254.169.254", "https://metadata.google.internal"):
        network = FakeNetwork(AssertionError("must not connect"))
        assert isinstance(await failure_of(policy, network, url), ResivoDestinationRefused), url
        assert network.connected == []


async def test_plain_http_stored_earlier_is_refused_at_connection():
    network = FakeNetwork(AssertionError("must not connect"))
    policy = OutboundPolicy(resolve=FakeDNS({"api.resivo.example": [PUBLIC_IP]}))
    assert isinstance(await failure_of(policy, network, "http://api.resivo.example"), ResivoDestinationRefused)
    assert network.connected == []


PORT_PROBES = {  # what a port scan would tell apart
    "refused": httpcore.ConnectError("[Errno 111] Connection refused"),
    "timed out": httpcore.ConnectTimeout("timed out"),
    "reset": httpcore.ReadError("[Errno 104] Connection reset by peer"),
}


async def test_failures_on_a_private_address_all_read_the_same():
    policy = OutboundPolicy(allow_private=True, resolve=FakeDNS({"intranet.example": ["10.0.0.7"]}))
    texts = set()
    for failure in PORT_PROBES.values():
        for port in (22, 5432):
            error = await failure_of(policy, FakeNetwork(failure), f"http://intranet.example:{port}")
            assert isinstance(error, ResivoUnreachable)
            texts.add(str(error))
    # ... and a name that does not resolve at all reads the same too.
    nowhere = OutboundPolicy(allow_private=True, resolve=FakeDNS())
    no_such_host = await failure_of(nowhere, FakeNetwork(AssertionError()), "http://intranet.example:22")
    texts.add(str(no_such_host))
    assert texts == {"Could not reach intranet.example (token); check the base URL and the network"}


async def test_failures_on_the_public_api_keep_their_detail():
    policy = OutboundPolicy(resolve=FakeDNS({"api.resivo.example": [PUBLIC_IP]}))
    refused = await failure_of(policy, FakeNetwork(PORT_PROBES["refused"]), "https://api.resivo.example")
    timed_out = await failure_of(policy, FakeNetwork(PORT_PROBES["timed out"]), "https://api.resivo.example")
    assert type(refused) is ResivoTransientError and "Connection refused" in str(refused)
    assert "Could not connect to Resivo at api.resivo.example within 0.5 s" in str(timed_out)


# ------------------------------------------------------------- end to end, over real sockets


@pytest.fixture
async def host_connector(host):
    """The host's own connector (guarded by its policy, created on first use), closed afterwards."""
    yield
    await close_connector(host)


async def live_calls(live_url: str) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=live_url) as admin:
        return (await admin.get("/_sandbox/stats")).json()["calls"]


async def test_the_server_reaches_a_private_sandbox_only_with_the_setting(gql, host, host_connector, live_sandbox):
    live_url, _ = live_sandbox
    port = httpx.URL(live_url).port
    dns = FakeDNS({"sandbox.lan": ["127.0.0.1"]})  # a name only the policy's resolver knows
    host.provide(OutboundPolicy(allow_private=True, resolve=dns))
    ident = await create_resivo_integration(gql, {**DEMO_CREDENTIALS, "baseUrl": f"http://sandbox.lan:{port}"},
                                            authorizationIdField=None)
    report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert report["ok"] is True, report  # connected to the address the policy resolved and checked
    assert "sandbox.lan" in dns.asked


async def test_dns_rebinding_to_loopback_is_refused_when_connecting(gql, host, host_connector, live_sandbox):
    live_url, _ = live_sandbox
    port = httpx.URL(live_url).port
    dns = FakeDNS({"doors.example": [PUBLIC_IP]})
    host.provide(OutboundPolicy(allow_private=False, resolve=dns))
    ident = await create_resivo_integration(
        gql, {**DEMO_CREDENTIALS, "baseUrl": f"https://doors.example:{port}"}, authorizationIdField=None)
    dns.names["doors.example"] = ["127.0.0.1"]  # later, the public name points at the server itself
    before = await live_calls(live_url)
    report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert report == {"ok": False, "message": POLICY_MESSAGE}
    assert await live_calls(live_url) == before  # nothing reached the loopback service


async def test_a_private_base_url_stored_earlier_is_refused_without_the_setting(gql, host, host_connector,
                                                                                live_sandbox):
    live_url, _ = live_sandbox
    ident = await create_resivo_integration(gql, MINIMAL, authorizationIdField=None)
    async with host.database.session() as session:  # e.g. saved before the policy, or with the setting on
        await session.execute(update(ResivoCredentials).values(base_url=live_url))
        await session.commit()
    host.provide(OutboundPolicy(allow_private=False, resolve=FakeDNS()))
    before = await live_calls(live_url)
    report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert report == {"ok": False, "message": POLICY_MESSAGE}
    assert await live_calls(live_url) == before


async def test_the_connection_test_does_not_tell_open_from_closed_ports(gql, host, host_connector):
    """With the setting on, an admin aiming the base URL at internal ports learns nothing from
    the message: a closed port, a port that accepts but never answers and a name that does not
    resolve read alike."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens: connection refused
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts (in the backlog) and never answers: a read timeout
    try:
        host.provide(OutboundPolicy(allow_private=True, resolve=FakeDNS({"internal.lan": ["127.0.0.1"]})))
        messages = set()
        for url in (f"http://internal.lan:{closed_port}", f"http://internal.lan:{silent.getsockname()[1]}"):
            ident = await create_resivo_integration(gql, {**DEMO_CREDENTIALS, "baseUrl": url},
                                                    authorizationIdField=None)
            report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
            assert report["ok"] is False
            messages.add(report["message"])
        await close_connector(host)  # the next connector resolves through a DNS that knows no such host
        host.provide(OutboundPolicy(allow_private=True, resolve=FakeDNS()))
        report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
        messages.add(report["message"])
    finally:
        silent.close()
    assert messages == {"Could not reach internal.lan: check the Base URL and the network."}


@pytest.mark.parametrize("listening, reached", [("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"),
                                                ("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")])
def test_the_demo_reaches_its_own_sandbox_at_an_address_the_policy_allows(listening, reached):
    from addon.resivo.demo import _reachable

    assert _reachable(listening) == reached
    policy = OutboundPolicy(allow_private=True)
    assert policy.static_refusal("http", listening) in (None, Refusal.NEVER)  # 0.0.0.0 itself: never
    assert policy.static_refusal("http", reached) is None
