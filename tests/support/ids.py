"""Ids in tests: the API answers opaque global ids; the database holds row ids."""

from __future__ import annotations

from addon.base.public import global_id, split_global_id

__all__ = ["global_id", "row_id"]


def row_id(value) -> int:
    """The row id behind a global id the API answered (or a bare row id)."""
    _type_name, local = split_global_id(value)
    return int(local)
