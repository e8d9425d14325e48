"""Where the files the code reads at run time live: the checkout's top-level folders when run from
a checkout, ``addon/_data/`` inside an installed wheel (put there by setup.py at build time)."""

from __future__ import annotations

from pathlib import Path

from .settings import REPO_ROOT

PACKAGED = Path(__file__).resolve().parents[2] / "_data"


def data_path(*parts: str) -> Path:
    """``fixtures``, ``i18n`` or ``graphql/operations``, from the wheel when installed from one."""
    packaged = PACKAGED.joinpath(*parts)
    return packaged if packaged.exists() else REPO_ROOT.joinpath(*parts)
