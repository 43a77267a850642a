"""What a masking kind is, apart from the kinds themselves (so the modules that
define kinds and the registry in :mod:`pgferry.masking.fakes` do not import
each other)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .keyed import Keyed

#: one column's mask: a value as COPY text in, its mask out (``None``: NULL)
Fake = Callable[[str], str | None]


@dataclass(frozen=True)
class Kind:
    """One masking kind: its name, whether it keeps distinct values distinct, and
    how to build its function from a key."""

    name: str
    unique: bool
    build: Callable[[Keyed], Fake]
    doc: str


__all__ = ["Fake", "Kind"]
