"""The frozen word lists behind the realistic masking kinds (names, streets...).

Each list is a file in ``pgferry/masking/words/``, one entry a line, shipped as
package data and never built at install time, so a release of pgferry (or of
Faker, which made them: ``scripts/build_wordlists.py``) never changes a masked
value by itself.  Every entry is ASCII, so a mask fits any server encoding.

A change to any list changes masked outputs: it bumps :data:`VERSION` and is
said in CHANGELOG.md.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

#: the lists' version: bumped whenever one of them changes
VERSION = 1

#: every list there is, by the name :func:`load` takes
NAMES = ("first_names", "last_names", "companies", "streets", "cities", "countries", "lorem")


@cache
def load(name: str) -> tuple[str, ...]:
    """The entries of the list *name*, in file order (sorted)."""
    if name not in NAMES:
        raise ValueError(f"no word list is named {name!r}; the lists are {', '.join(NAMES)}")
    path = resources.files("pgferry.masking").joinpath("words", f"{name}.txt")
    return tuple(path.read_text(encoding="ascii").splitlines())
