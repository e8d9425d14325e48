"""Odoo-style type inheritance for GraphQL: an addon adds fields to another addon's type.

A dependent addon hands the host a ``@strawberry.type`` whose fields belong on a type it does not
own (``extend_type(host, "Booking", BookingAccessFields)`` in its ``register``). The host's schema
answers those fields as the type's own (``server/schema.py`` asks :func:`extensions_of` for each
type it builds). So ``booking`` never imports ``door_access``, yet ``Booking.access`` exists once
``door_access`` is loaded — in that host only: the extensions are the host's, not the process's.

The fields' resolvers get the owner's object as ``self`` (e.g. a ``Booking`` with its
``row_id``).
"""

from __future__ import annotations

from typing import Any


def extend_type(host, type_name: str, fields: type) -> type:
    """Add the fields of ``fields`` (a ``@strawberry.type``) to the GraphQL type ``type_name`` in
    ``host``'s schema."""
    if getattr(fields, "__strawberry_definition__", None) is None:
        raise TypeError(f"{fields.__name__} must be a @strawberry.type to extend {type_name}")
    found = host.registry.type_extensions.setdefault(type_name, [])
    if fields not in found:
        found.append(fields)
    return fields


def extensions_of(registry, type_name: str) -> list[Any]:
    """The strawberry fields the host's addons add to ``type_name``, in load order."""
    return [field for extension in registry.type_extensions.get(type_name, ())
            for field in extension.__strawberry_definition__.fields]
