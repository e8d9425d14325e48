"""Loading a list by its plan: what a query selects is read up front, a statement per kind of row.

Resolving a page field by field costs an awaitable, a task and a DataLoader round per row and
field (a page of 200 bookings with their object, customer, status and access made over 1,200).
Instead, the resolver of a list asks :func:`preload_selection` to read what the query selects
below its nodes, once for the whole page, and the fields answer synchronously from what was read
(:func:`known_or_load`). A field the plan did not read (a single booking, a mutation's answer, a
selection nested deeper than the plan goes) still loads through its DataLoader, as before.

A field whose value is one DataLoader's answer for one attribute of its object says so once, where
it is declared (``metadata=loaded_by("booking.customer", "customer_id")``); a list then reads it for
the whole page through that loader, with no plan of its own. A field whose reading goes deeper (it
preloads what is selected below it, or needs more than one loader) has a plan: a function given to
the host with :func:`preloads` — also by addons for the fields they add to another's type
(``door_access`` reads ``Booking.access``), so the owner of a type never imports them. Plans and
declarations are the host's (``host.registry``), not the process's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

Warm = Callable[[Any, list[Any], dict[str, list[SelectedField]]], Awaitable[None]]

LOADED_BY = "ireserve.loaded_by"  # key of a field's metadata: (loader name, key attribute)


def preloads(host, type_name: str, field_name: str, warm: Warm) -> None:
    """Give the host ``warm(context, nodes, selected)``: reads what ``field_name`` of each node (of
    the GraphQL type ``type_name``) needs; ``selected`` is what the query selects below the field."""
    host.registry.preload_plans.setdefault(type_name, {})[field_name] = warm


def loaded_by(loader_name: str, key: str) -> dict[str, tuple[str, str]]:
    """Field metadata: the field's value is ``loader_name``'s answer for the attribute ``key`` of
    the objects a list holds. Lists preload it in one batch without a plan (see the module)."""
    return {LOADED_BY: (loader_name, key)}


def declared_loads(type_definition, name_of: Callable[[Any], str]) -> dict[str, tuple[str, str]]:
    """The fields of a strawberry type declared with :func:`loaded_by`, by GraphQL name."""
    return {name_of(field): field.metadata[LOADED_BY] for field in type_definition.fields
            if field.metadata and LOADED_BY in field.metadata}


def selected_fields(selections: Iterable[Any]) -> dict[str, list[SelectedField]]:
    """The fields of a selection by name, fragments flattened; a field selected twice (aliases,
    fragments) keeps each of its sub-selections."""
    found: dict[str, list[SelectedField]] = defaultdict(list)
    todo = list(selections)
    while todo:
        selection = todo.pop()
        if isinstance(selection, SelectedField):
            found[selection.name].append(selection)
        elif isinstance(selection, InlineFragment | FragmentSpread):
            todo.extend(selection.selections)
    return found


def below(fields: list[SelectedField]) -> dict[str, list[SelectedField]]:
    """What is selected under every occurrence of one field."""
    return selected_fields(s for field in fields for s in field.selections)


def at_path(fields: list[SelectedField], *path: str) -> dict[str, list[SelectedField]]:
    """What is selected under ``path`` (e.g. "edges", "node") of a field."""
    here = below(fields)
    for name in path:
        here = below(here.get(name, []))
    return here


async def preload_selection(context: Any, type_name: str, nodes: list[Any], selected: dict[str, list[SelectedField]]) -> None:
    """Read, for ``nodes`` of ``type_name``, every selected field a plan is registered for."""
    if not nodes:
        return
    registry = context.host.registry
    plans = registry.preload_plans.get(type_name, {})
    declared = registry.declared_loads.get(type_name, {})
    for name, fields in selected.items():
        warm = plans.get(name)
        if warm is not None:
            await warm(context, nodes, below(fields))
        elif name in declared:
            loader_name, key = declared[name]
            await preload(context, loader_name, (getattr(node, key) for node in nodes))


_KNOWN = "preload.known"  # in the request context's cache: loader name -> key -> value


def _known(context: Any) -> dict[str, dict[Hashable, Any]]:
    store = context.cache.get(_KNOWN)
    if store is None:
        store = context.cache[_KNOWN] = {}
    return store


async def preload(context: Any, loader_name: str, keys: Iterable[Hashable]) -> list[Any]:
    """Load ``keys`` through the loader in one batch and keep the answers for
    :func:`known_or_load`; returns the values, in the order of the distinct keys."""
    store = _known(context).setdefault(loader_name, {})
    wanted = [k for k in dict.fromkeys(keys) if k is not None]
    missing = [k for k in wanted if k not in store]
    if missing:
        store.update(zip(missing, await context.loader(loader_name).load_many(missing)))
    return [store[k] for k in wanted]


def prime(context: Any, loader_name: str, key: Hashable, value: Any) -> None:
    """Keep a value the request already holds (e.g. what a mutation's transaction loaded), so
    that its answer does not read it again."""
    _known(context).setdefault(loader_name, {})[key] = value


def known_or_load(context: Any, loader_name: str, key: Hashable, build: Callable[[Any], Any]) -> Any:
    """``build(value)`` at once when the value was preloaded; else an awaitable of it (GraphQL
    awaits what a resolver returns)."""
    store = _known(context).get(loader_name)
    if store is not None and key in store:
        return build(store[key])
    return _load_then_build(context.loader(loader_name), key, build)


async def _load_then_build(loader, key: Hashable, build: Callable[[Any], Any]) -> Any:
    return build(await loader.load(key))
