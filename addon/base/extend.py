"""Odoo-style type inheritance for GraphQL: an addon adds fields to another addon's type.

A dependent addon registers a ``@strawberry.type`` mixin for a type name during its
``register``; the owning addon builds its type (lazily, at schema build time) with
``mixins_for(name)`` as bases. So ``booking`` never imports ``door_access``, yet
``Booking.access`` exists once ``door_access`` is loaded.
"""

from __future__ import annotations

from collections import defaultdict

_mixins: dict[str, list[type]] = defaultdict(list)


def extend_type(type_name: str):
    def register(mixin: type) -> type:
        if mixin not in _mixins[type_name]:
            _mixins[type_name].append(mixin)
        return mixin

    return register


def mixins_for(type_name: str) -> tuple[type, ...]:
    return tuple(_mixins[type_name])
