"""Event wiring: how door access follows the booking domain. Each handler runs inside the booking
change's transaction (a change and the look it asks for commit together or not at all) and, once
it commits, reconciles what it touched at once (``reconcile.reconcile_soon``; the worker is the
safety net)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, after_commit
from addon.booking.public import CHANGED, STATUS_CHANGED, Booking

from .grants import ACCESS_RELEVANT_CHANGES, CONTACT_CHANGES, Touched, touch_booking
from .live import announce
from .reconcile import reconcile_soon


def register_handlers(host: Host) -> None:
    async def follow(session: AsyncSession, touched: Touched) -> None:
        if not touched.grants:
            return
        await announce(host, session, touched.grants)  # with the booking's change: heard once it commits
        ids = [g.id for g in touched.grants]
        after_commit(session, lambda: reconcile_soon(host, ids, touched.backends))

    async def on_status_changed(session: AsyncSession, booking: Booking, old_status, new_status: str, actor: str):
        await follow(session, await touch_booking(session, booking, host.clock.now(), new_status=new_status))

    async def on_changed(session: AsyncSession, booking: Booking, changes: dict, actor: str):
        if not (ACCESS_RELEVANT_CHANGES | CONTACT_CHANGES) & changes.keys():
            return
        await follow(session, await touch_booking(session, booking, host.clock.now(), changes=changes.keys()))

    host.events.subscribe(STATUS_CHANGED, on_status_changed)
    host.events.subscribe(CHANGED, on_changed)
