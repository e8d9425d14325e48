"""The guest open links: the credential of a booking whose integration opens on request.

:class:`GuestLinkConnection` is the connection the engine uses for such an integration: the door
calls (list, where, test, explain) go to the lock vendor, and the access-set calls go to the
product's own links — so an open link is issued (and mailed), kept, replaced and revoked exactly
as a vendor's set is, journaled under its reference and swept and verified the same way. A link
opens doors by name (its doors may change ids at the vendor without it changing)."""

from __future__ import annotations

import hashlib
import secrets
from sqlalchemy import select

from addon.base.public import Host, secret_box

from ..backend import AccessSet, AccessSetRequest, BackendError, ConnectionReport, Door, DoorConnection
from .delivery import compose, deliver
from .models import Delivery, GuestLink
from .settings import guest_settings, public_url

LINK_PATH = "/open/"  # the guest open page (page.py) serves /open/{token}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(host: Host, token: str) -> str:
    return f"{public_url(host)}{LINK_PATH}{token}"


def as_set(link: GuestLink, now) -> AccessSet:
    return AccessSet(id=str(link.id), active=link.revoked_at is None and link.valid_to > now,
                     door_ids=tuple(link.door_names), door_names=tuple(link.door_names),
                     valid_from=link.valid_from, valid_to=link.valid_to, external_reference=link.reference)


def open_link_of(host: Host, link: GuestLink) -> str:
    """The link as the guest got it (staff may pass it on)."""
    return link_url(host, secret_box(host).decrypt(link.token_encrypted))


class GuestLinkConnection:
    """The engine's connection for an integration whose locks open on request."""

    def __init__(self, host: Host, vendor: DoorConnection, integration_id: int, booking_id: int | None) -> None:
        self.host, self.vendor = host, vendor
        self.integration_id, self.booking_id = integration_id, booking_id
        self.default_location_id = vendor.default_location_id or "links"

    # -- the doors are the vendor's

    async def list_doors(self) -> list[Door]:
        return await self.vendor.list_doors()

    def where(self, doors: list[Door]):
        return self.vendor.where(doors)

    async def test_connection(self) -> ConnectionReport:
        return await self.vendor.test_connection()

    def explain(self, error: BackendError):
        return self.vendor.explain(error)

    # -- the credential is ours

    async def create_access_set(self, location_id: str, request: AccessSetRequest) -> AccessSet:
        found = await self.find_access_sets(location_id, request.external_reference)
        if found:
            return found[0]  # a retry of a create that was carried out: never a second link
        token = secrets.token_urlsafe(32)
        settings = guest_settings(self.host)
        subject, body = compose(request.locale, request.display_name, request.message, link_url(self.host, token))
        delivery, problem = await deliver(settings, request.recipients, subject, body)
        link = GuestLink(booking_id=self.booking_id, integration_id=self.integration_id,
                         reference=request.external_reference, token_hash=token_hash(token),
                         token_encrypted=secret_box(self.host).encrypt(token), door_names=list(request.door_names),
                         valid_from=request.valid_from, valid_to=request.valid_to, locale=request.locale,
                         # Only where it went: a link not e-mailed names no address.
                         sent_to=[{"email": r.email} for r in request.recipients if r.email]
                         if delivery == Delivery.EMAILED else [],
                         delivery=delivery, delivery_error_i18n=problem.as_json() if problem else None,
                         created_at=self.host.clock.now())
        async with self.host.database.session() as session:
            session.add(link)
            await session.commit()
            return as_set(link, self.host.clock.now())

    async def read_access_set(self, location_id: str, set_id: str) -> AccessSet | None:
        if not set_id.isdigit():
            return None
        async with self.host.database.session(read_only=True) as session:
            link = await session.get(GuestLink, int(set_id))
            await session.commit()
        return as_set(link, self.host.clock.now()) if link is not None else None

    async def find_access_sets(self, location_id: str, external_reference: str) -> list[AccessSet]:
        async with self.host.database.session(read_only=True) as session:
            links = (await session.execute(
                select(GuestLink).where(GuestLink.reference == external_reference).order_by(GuestLink.id)
            )).scalars().all()
            await session.commit()
        now = self.host.clock.now()
        return [as_set(link, now) for link in links]

    async def revoke_access_set(self, location_id: str, set_id: str) -> None:
        if not set_id.isdigit():
            return  # not one of ours (a set id entered by hand): nothing to revoke here
        async with self.host.database.session() as session:
            link = await session.get(GuestLink, int(set_id), with_for_update=True)
            if link is not None and link.revoked_at is None:
                link.revoked_at = self.host.clock.now()
            await session.commit()

