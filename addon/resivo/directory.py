"""The live door list of an integration and resolving mapped door names to component ids."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from addon.base.i18n import Message

from .client import ResivoClient
from .models import ResivoIntegration


@dataclass(frozen=True)
class Door:
    id: str
    name: str  # what the admin picks: the display name, qualified by site where names clash
    display_name: str
    online: bool
    site_id: str
    site_name: str


@dataclass
class Resolution:
    doors: list[Door] = field(default_factory=list)
    problems: list[Message] = field(default_factory=list)  # stop a grant
    warnings: list[Message] = field(default_factory=list)  # worth an admin's look, do not stop it

    @property
    def site_id(self) -> str | None:
        sites = {d.site_id for d in self.doors}
        return sites.pop() if len(sites) == 1 else None


async def live_doors(client: ResivoClient, integration: ResivoIntegration) -> list[Door]:
    """Components of the configured site, or of every site of the owner when none is set."""
    if integration.site_id:
        site = await client.get_site(integration.site_id)
        sites = [site]
    else:
        sites = await client.list_sites()
    doors: list[Door] = []
    for site in sites:
        for component in await client.list_components(site.id):
            doors.append(Door(component.id, component.display_name, component.display_name, component.online,
                              site.id, site.display_name))
    if len(sites) > 1:
        # The same door name on two sites would be ambiguous: qualify those by site.
        clashes = {name for name, sites_of in _sites_per_name(doors).items() if len(sites_of) > 1}
        doors = [
            Door(d.id, f"{d.site_name} / {d.display_name}" if d.display_name in clashes else d.name, d.display_name,
                 d.online, d.site_id, d.site_name)
            for d in doors
        ]
    return doors


def _sites_per_name(doors: list[Door]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for door in doors:
        result.setdefault(door.display_name, set()).add(door.site_id)
    return result


def site_label(integration: ResivoIntegration, doors: list[Door]) -> Message:
    if integration.site_id:
        names = {d.site_name for d in doors if d.site_id == integration.site_id}
        if names:
            return Message("site {name!r} ({id})", {"name": next(iter(names)), "id": integration.site_id})
        return Message("site {id}", {"id": integration.site_id})
    return Message("the sites of site owner {owner}", {"owner": integration.site_owner_id})


def resolve_names(names: list[str], doors: list[Door], where: Message) -> Resolution:
    """Resolve each mapped name to exactly one live door; never a silent partial result."""
    by_name: dict[str, list[Door]] = {}
    for door in doors:
        by_name.setdefault(door.name, []).append(door)
    counts = Counter(names)
    resolution = Resolution()
    for name in dict.fromkeys(names):
        matches = by_name.get(name, [])
        if not matches:
            resolution.problems.append(Message("Door {name!r} does not exist on {where}.",
                                               {"name": name, "where": where}))
        elif len(matches) > 1:
            resolution.problems.append(Message("Door name {name!r} is used by {count} components on {where}; make the "
                                               "display names unique in Resivo.",
                                               {"name": name, "count": len(matches), "where": where}))
        else:
            door = matches[0]
            resolution.doors.append(door)
            if not door.online:
                resolution.warnings.append(Message("Door {name!r} on {where} is offline; Resivo cannot open it "
                                                   "remotely.", {"name": name, "where": where}))
        if counts[name] > 1:
            resolution.warnings.append(Message("Door {name!r} is mapped more than once.", {"name": name}))
    if resolution.doors and resolution.site_id is None:
        resolution.problems.append(Message("The mapped doors are on different sites; one access can only cover one "
                                           "site. Set a Site ID or map doors of one site."))
    return resolution
