"""Vendor-neutral pieces a lock-vendor backend builds with, so each vendor's addon keeps only what
is its own (its wire format, its operations, its sandbox's data). Backends reach them through
``addon.door_access.public``."""
