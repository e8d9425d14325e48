"""The per-request GraphQL context: session, caller, host and lazily built DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from ..core.host import Host
from ..core.principal import Principal


@dataclass
class Context:
    host: Host
    session: AsyncSession
    principal: Principal | None
    request: Request | None = None
    response: Any = None
    # Per-request memo for addons (e.g. a live door list fetched once per request).
    cache: dict[str, Any] = field(default_factory=dict)
    _loaders: dict[str, Any] = field(default_factory=dict)

    def loader(self, name: str):
        """A DataLoader registered by an addon, created once per request."""
        if name not in self._loaders:
            self._loaders[name] = self.host.registry.loader_factories[name](self)
        return self._loaders[name]

    @property
    def actor(self) -> str:
        """Who is acting, as history records it ("user:Anna Admin", "token:booking-site")."""
        return self.principal.label if self.principal else "system"
