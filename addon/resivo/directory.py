"""Resivo's doors as the door-access engine sees them: the components of the configured site, or
of every site of the site owner (names qualified by site where they clash)."""

from __future__ import annotations

from addon.base.public import Message
from addon.door_access.public import Door, Location

from .client import ResivoClient, Site
from .models import ResivoCredentials


def location_of(site: Site) -> Location:
    return Location(id=site.id, name=site.display_name, time_zone=site.time_zone, default_locale=site.default_locale)


async def live_doors(client: ResivoClient, credentials: ResivoCredentials) -> list[Door]:
    """Components of the configured site, or of every site of the owner when none is set."""
    if credentials.site_id:
        sites = [await client.get_site(credentials.site_id)]
    else:
        sites = await client.list_sites()
    found: list[tuple[Site, str, str, bool]] = []
    for site in sites:
        for component in await client.list_components(site.id):
            found.append((site, component.id, component.display_name, component.online))
    # The same door name on two sites would be ambiguous: qualify those by site.
    sites_per_name: dict[str, set[str]] = {}
    for site, _id, name, _online in found:
        sites_per_name.setdefault(name, set()).add(site.id)
    return [
        Door(id=ident, name=f"{site.display_name} / {name}" if len(sites_per_name[name]) > 1 else name,
             online=online, location_id=site.id, location_name=site.display_name,
             location_time_zone=site.time_zone)
        for site, ident, name, online in found
    ]


def site_label(credentials: ResivoCredentials, doors: list[Door]) -> Message:
    if credentials.site_id:
        names = {d.location_name for d in doors if d.location_id == credentials.site_id}
        if names:
            return Message("site {name!r} ({id})", {"name": next(iter(names)), "id": credentials.site_id})
        return Message("site {id}", {"id": credentials.site_id})
    return Message("the sites of site owner {owner}", {"owner": credentials.site_owner_id})
