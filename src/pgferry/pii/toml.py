"""The ``[mask]`` block ``pii scan`` suggests, ready to paste into ``pgferry.toml``.

::

    [mask."public.users"]
    email = "email"  # name looks like an email ("email")
    passwordHash = { fixed = "redacted" }  # name looks like a password ("passwordHash")

Keys that are not bare TOML keys are quoted; a table the file already has rules
for keeps the name the file gives it, so the lines go into that section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def string(text: str) -> str:
    """*text* as a TOML basic string."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif _CONTROL.fullmatch(ch):
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def key(text: str) -> str:
    """*text* as a TOML key: bare when it may be, quoted otherwise."""
    return text if _BARE.fullmatch(text) else string(text)


@dataclass(frozen=True)
class Line:
    """One suggested rule: ``[mask.TABLE] COLUMN = KIND`` and why, as a comment."""

    table: str  # as pgferry.toml names it: "public.users", or the file's own "users"
    column: str
    kind: str
    argument: str | None = None  # { kind = "argument" } when the kind takes one
    comment: str = ""
    existing: bool = False  # the file already has a [mask.TABLE] section


def value(kind: str, argument: str | None) -> str:
    """The rule's value: ``"email"``, or ``{ fixed = "redacted" }``."""
    if argument is None:
        return string(kind)
    return f"{{ {key(kind)} = {string(argument)} }}"


def render(lines: Iterable[Line]) -> str:
    """The block, one section per table in the order first seen; empty for no lines."""
    tables: dict[str, list[Line]] = {}
    for line in lines:
        tables.setdefault(line.table, []).append(line)
    out: list[str] = []
    for table, rules in tables.items():
        if out:
            out.append("")
        header = f"[mask.{key(table)}]"
        if any(r.existing for r in rules):
            header += "  # pgferry.toml has this section: add the lines to it"
        out.append(header)
        for r in rules:
            comment = f"  # {_CONTROL.sub('?', r.comment)}" if r.comment else ""
            out.append(f"{key(r.column)} = {value(r.kind, r.argument)}{comment}")
    return "\n".join(out) + ("\n" if out else "")
