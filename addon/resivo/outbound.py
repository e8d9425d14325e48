"""Where an integration's base URL may point: the outbound address policy.

An admin types the base URL, and the server then connects there with the integration's secret.
Without a policy that is a way into the server's own network (its metadata service, databases,
admin ports). So:

- ``https`` to a public address only;
- link-local addresses (169.254.0.0/16, fe80::/10), cloud-metadata services (169.254.169.254,
  fd00:ec2::254, metadata.google.internal, ...) and addresses that are no destination at all
  (0.0.0.0/8, ::, multicast, reserved) are always refused;
- loopback and private addresses, and plain ``http``, only when RESIVO_ALLOW_PRIVATE_BASE_URL is
  on (development, the sandbox, the tests).

A host name counts as what it resolves to, every address of it. It is checked when the base URL
is saved and again at every new connection, with the address checked being the address connected
to (see ``client.py``): a name that later resolves to 127.0.0.1 (DNS rebinding) is refused then.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from .client import DestinationRefused

Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressClass(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"  # loopback, RFC 1918, CGNAT, unique-local, documentation ranges, ...
    NEVER = "never"  # link-local, cloud metadata, not a destination


class Refusal(enum.StrEnum):
    """Why the policy refuses a base URL (nothing here depends on whether a port is open)."""

    PLAIN_HTTP = "plain_http"
    NEVER = "never"
    PRIVATE = "private"


REASONS = {
    Refusal.PLAIN_HTTP: "plain http is only allowed with RESIVO_ALLOW_PRIVATE_BASE_URL=true",
    Refusal.NEVER: "link-local and cloud-metadata addresses are never allowed",
    Refusal.PRIVATE: "loopback and private addresses are only allowed with RESIVO_ALLOW_PRIVATE_BASE_URL=true",
}

# Cloud instance-metadata services: AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack (169.254.169.254,
# 169.254.170.2), AWS over IPv6, GCP over IPv6, Alibaba, Oracle's legacy address, Azure's WireServer.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "fd20:ce::254", "100.100.100.200", "192.0.0.192",
    "168.63.129.16",
))
METADATA_NAMES = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
    "metadata.tencentyun.com",
})
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # 0.0.0.0 reaches the local host on Linux
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64): it is where it goes."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def classify_address(text: str) -> AddressClass:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # without an IPv6 zone (fe80::1%eth0)
    if isinstance(address, ipaddress.IPv6Address):
        address = _embedded_ipv4(address) or address
    if address in METADATA_ADDRESSES:
        return AddressClass.NEVER
    if address.is_loopback:
        return AddressClass.PRIVATE
    if (address.is_link_local or address.is_unspecified or address.is_multicast or address.is_reserved
            or (address.version == 4 and address in _THIS_NETWORK)):
        return AddressClass.NEVER
    return AddressClass.PUBLIC if address.is_global else AddressClass.PRIVATE


def literal_address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _name(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (what a connection to it could reach)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class OutboundPolicy:
    """The policy of one process (see the module's text); ``resolve`` is injectable for tests."""

    allow_private: bool = False
    resolve: Resolver = system_resolver
    timeout: float = 5.0  # for a resolution at save time (a connection uses its connect timeout)

    def _refusal_of(self, address_class: AddressClass) -> Refusal | None:
        if address_class is AddressClass.NEVER:
            return Refusal.NEVER
        if address_class is AddressClass.PRIVATE and not self.allow_private:
            return Refusal.PRIVATE
        return None

    def static_refusal(self, scheme: str, host: str) -> Refusal | None:
        """What is known without resolving: the scheme, metadata names, literal addresses."""
        if scheme != "https" and not self.allow_private:
            return Refusal.PLAIN_HTTP
        name = _name(host)
        if name in METADATA_NAMES:
            return Refusal.NEVER
        if name == "localhost" or name.endswith(".localhost"):  # loopback by definition (RFC 6761)
            return self._refusal_of(AddressClass.PRIVATE)
        literal = literal_address(name)
        return self._refusal_of(classify_address(literal)) if literal else None

    def refusal_of_addresses(self, addresses: list[str]) -> Refusal | None:
        """The worst of them: a name with one refused address is refused."""
        refusals = [self._refusal_of(classify_address(a)) for a in addresses]
        if Refusal.NEVER in refusals:
            return Refusal.NEVER
        return Refusal.PRIVATE if Refusal.PRIVATE in refusals else None

    async def refusal(self, scheme: str, host: str, port: int) -> Refusal | None:
        """At save time. A name that does not resolve now is accepted: it is checked again at every
        connection, and a failed lookup says nothing about the network behind it."""
        refusal = self.static_refusal(scheme, host)
        if refusal is not None or literal_address(_name(host)) is not None:
            return refusal
        try:
            async with asyncio.timeout(self.timeout):
                addresses = await self.resolve(_name(host), port)
        except (OSError, TimeoutError, UnicodeError):
            return None
        return self.refusal_of_addresses(addresses)

    # -- the connector's address guard (see client.AddressGuard)

    def check_url(self, url: httpx.URL) -> None:
        refusal = self.static_refusal(url.scheme, url.host)
        if refusal is not None:
            raise DestinationRefused(url.host, REASONS[refusal])

    async def addresses(self, host: str, port: int) -> tuple[list[str], bool]:
        literal = literal_address(host)
        addresses = [literal] if literal else await self.resolve(_name(host), port)
        if not addresses:
            raise OSError(f"{host} has no address")
        refusal = self.refusal_of_addresses(addresses)
        if refusal is not None:
            raise DestinationRefused(host, REASONS[refusal])
        return addresses, all(classify_address(a) is AddressClass.PUBLIC for a in addresses)


def outbound_policy(host) -> OutboundPolicy:
    """The process's policy, from RESIVO_ALLOW_PRIVATE_BASE_URL (tests may put their own in place)."""
    from .settings import resivo_settings

    def create() -> OutboundPolicy:
        settings = resivo_settings(host)
        return OutboundPolicy(allow_private=settings.allow_private_base_url, timeout=settings.connect_timeout)

    return host.service(OutboundPolicy, create)
