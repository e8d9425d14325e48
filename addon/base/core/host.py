"""The host: loads the addons and keeps what they hand over (tables, GraphQL parts, hooks)."""

from __future__ import annotations

import importlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .addons import AddonError, Manifest, discover, load_order
from .clock import Clock
from .db import Database
from .events import EventBus
from .settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from starlette.routing import BaseRoute


@dataclass
class GraphQLPart:
    query: type | None = None
    mutation: type | None = None
    subscription: type | None = None
    types: tuple[type, ...] = ()


@dataclass
class Registry:
    """What the addons contribute; filled by each addon's ``register(host)``."""

    # Called at schema build time, after every addon has registered.
    graphql_parts: list[Callable[[], "GraphQLPart"]] = field(default_factory=list)
    # GraphQL type name → the @strawberry.type classes whose fields other addons add to it (kit/extend.py).
    type_extensions: dict[str, list[type]] = field(default_factory=dict)
    # GraphQL type name → field name → how a list reads that field up front (kit/preload.py) ...
    preload_plans: dict[str, dict[str, Callable[..., Awaitable[None]]]] = field(default_factory=dict)
    # ... or, for a field declared with loaded_by(), its (loader, key attribute); filled when the schema is built.
    declared_loads: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    loader_factories: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    # GraphQL type name → its kit.nodes.NodeLoader: how node(id) reads that type, and who may.
    node_loaders: dict[str, Any] = field(default_factory=dict)
    # Started with the web app / worker process, stopped on shutdown.
    lifespans: list[Callable[["Host"], AbstractAsyncContextManager[None]]] = field(default_factory=list)
    # Checked before serving or working (e.g. that stored secrets decrypt with the configured key).
    preflight_checks: list[Callable[["Host"], Awaitable[None]]] = field(default_factory=list)
    seeders: list[Callable[["Host", "AsyncSession", dict], Awaitable[None]]] = field(default_factory=list)
    routes: list[Callable[["Host"], "BaseRoute | None"]] = field(default_factory=list)
    cli_commands: list[Callable[[Any], None]] = field(default_factory=list)
    # Figures read from the database when /metrics is scraped (see server/metrics.py).
    metric_collectors: list[Callable[["Host"], Awaitable[Any]]] = field(default_factory=list)
    # What /readyz checks besides the database and its schema: each returns (name, problem or None).
    readiness_checks: list[Callable[["Host"], Awaitable[tuple[str, str | None]]]] = field(default_factory=list)
    # Asked before `ireserve serve` starts: (host, web processes) → why it cannot serve so, or None.
    serve_checks: list[Callable[["Host", int], str | None]] = field(default_factory=list)
    # (model, column) of every column holding a SecretBox ciphertext: `ireserve secrets rotate` walks them.
    secret_columns: list[tuple[type, str]] = field(default_factory=list)


T = TypeVar("T")


class Host:
    """Settings, database, events and the loaded addons of one process."""

    def __init__(self, settings: Settings | None = None, database: Database | None = None,
                 environ: Mapping[str, str] | None = None, clock: Clock | None = None) -> None:
        # Every setting of every addon is read from this one mapping (the process environment).
        self.environ: Mapping[str, str] = dict(os.environ if environ is None else environ)
        settings = settings or Settings.from_env(self.environ)
        self.settings = settings
        self.clock = clock or Clock()
        # Requests, the worker's batch and the vendor slots all hold connections at once; a pool
        # that is too small keeps opening and closing overflow connections.
        self.database = database or Database(settings.database_url, pool_size=settings.db_pool_size,
                                             max_overflow=settings.db_pool_size // 2)
        self.events = EventBus()
        self.registry = Registry()
        self.addons: list[Manifest] = []
        # Per-process singletons that addons create (a connection pool, the worker), keyed by
        # their class so that every lookup is typed: see service() and provide().
        self._services: dict[type, Any] = {}

    # -- typed per-process services

    def service(self, kind: type[T], factory: Callable[[], T] | None = None) -> T | None:
        """The process's ``kind``; created by ``factory`` on first use when one is given."""
        found = self._services.get(kind)
        if found is None and factory is not None:
            found = self._services[kind] = factory()
        return found

    def provide(self, instance: T, kind: type[T] | None = None) -> T:
        """Put ``instance`` in place as the process's ``kind`` (default: its own class)."""
        self._services[kind or type(instance)] = instance
        return instance

    def discard(self, kind: type[T]) -> T | None:
        return self._services.pop(kind, None)

    # -- settings declared by addons

    def declare_settings(self, kind: type[T]) -> T:
        """Read an addon's settings class (``kind.from_env(environ)``) now, so a bad value stops
        start-up with its message, and keep it for :meth:`settings_of`."""
        return self.provide(kind.from_env(self.environ))

    def settings_of(self, kind: type[T]) -> T:
        found = self._services.get(kind)
        if found is None:
            raise AddonError(f"settings {kind.__name__} were not declared by any loaded addon")
        return found

    def load(self, wanted: list[str] | None = None) -> "Host":
        for manifest in load_order(discover(), wanted):
            module = importlib.import_module(manifest.module)
            register = getattr(module, "register", None)
            if register is None:
                raise AddonError(f"addon {manifest.name}: its package has no register(host) function")
            register(self)
            self.addons.append(manifest)
        return self

    @property
    def addon_names(self) -> list[str]:
        return [m.name for m in self.addons]

    async def preflight(self) -> None:
        """Run the addons' start-up checks; each raises with a message an operator can act on."""
        for check in self.registry.preflight_checks:
            await check(self)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Check, then enter every addon lifespan in load order; leave them in reverse order."""
        await self.preflight()
        async with AsyncExitStack() as stack:
            for lifespan in self.registry.lifespans:
                await stack.enter_async_context(lifespan(self))
            yield


def load_host(settings: Settings | None = None, wanted: list[str] | None = None, database: Database | None = None,
              environ: Mapping[str, str] | None = None, clock: Clock | None = None) -> Host:
    return Host(settings, database, environ, clock).load(wanted)
