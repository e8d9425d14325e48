"""Who makes a request, and the roles: what most of the code needs to know about a caller, apart
from how a caller is recognised (``identity/auth.py``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.IntEnum):
    """Ordered: each role may do everything the roles below it may."""

    FRONTEND = 1
    STAFF = 2
    ADMIN = 3

    @classmethod
    def parse(cls, value: str) -> "Role":
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown role {value!r}; use one of: frontend, staff, admin") from None


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a person signed in (``kind`` "user") or an app token ("token")."""

    kind: str
    id: int  # the user's or the token's id
    name: str  # the person's name, or the token's name
    role: Role

    def may(self, needed: Role) -> bool:
        return self.role >= needed

    @property
    def label(self) -> str:
        """How history and the audit trail name them, e.g. "user:Anna Admin", "token:booking-site"."""
        return f"{self.kind}:{self.name}"
