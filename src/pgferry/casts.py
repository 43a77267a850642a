"""Which column type differences a copy can cross, and how, without changing a value.

Production and QA may disagree on a column's type.  :func:`classify` sorts
each pair into one of four kinds:

``SAME``
    nothing to do.
``SAFE``
    every production value has exactly one form in QA's type (``int`` ->
    ``bigint``, ``varchar(50)`` -> ``text``, ``timestamp`` -> ``timestamptz``
    read as UTC): copied with an explicit cast where the cast cannot alter the
    value, otherwise through the text form.
``CHECKED``
    most values fit, some may not (``bigint`` -> ``integer``, ``text`` ->
    ``varchar(20)``): the copy goes on, and the first value that does not fit
    stops that table; :meth:`Cast.misfit` then finds the row to name.  The
    server raises an error for these, except that it cuts trailing blanks
    past a ``varchar(n)``'s length quietly: for that one, production's values
    are checked before the copy (:attr:`Cast.checked_first`).
``UNSAFE``
    anything else (a cast that would round, truncate or reinterpret): refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from psycopg import sql

from .catalog import Column


class CastKind(StrEnum):
    SAME = "same"
    SAFE = "safe"
    CHECKED = "checked"
    UNSAFE = "unsafe"


#: (source type, target type) pairs that hold every value of the source.
SAFE_CASTS: dict[str, frozenset[str]] = {
    "smallint": frozenset({"integer", "bigint", "numeric", "real", "double precision"}),
    "integer": frozenset({"bigint", "numeric", "double precision"}),
    "bigint": frozenset({"numeric"}),
    "real": frozenset({"double precision"}),
    "json": frozenset({"jsonb"}),  # said in the note: jsonb's own form, one value per key
    "text": frozenset({"character varying"}),
    "character varying": frozenset({"text"}),
    "character": frozenset({"text", "character varying"}),
    "timestamp without time zone": frozenset({"timestamp with time zone"}),
    "date": frozenset({"timestamp without time zone", "timestamp with time zone"}),
}

#: Pairs whose cast the source server can make without any chance of changing
#: the value, so it is written as ``col::type`` and binary COPY stays possible.
#: (char -> text would drop trailing blanks and real -> double would show
#: float4's binary noise: those go through the text form instead.)
_EXPLICIT: dict[str, frozenset[str]] = {
    "smallint": frozenset({"integer", "bigint", "numeric"}),
    "integer": frozenset({"bigint", "numeric"}),
    "bigint": frozenset({"numeric"}),
    "text": frozenset({"character varying"}),
    "character varying": frozenset({"text", "character varying"}),
    "timestamp without time zone": frozenset({"timestamp with time zone"}),
    "date": frozenset({"timestamp without time zone", "timestamp with time zone"}),
}

#: Integer ranges, for narrowing casts and for numeric(p, s) targets.
_INT_RANGE = {
    "smallint": (-32768, 32767),
    "integer": (-2147483648, 2147483647),
    "bigint": (-9223372036854775808, 9223372036854775807),
}
_INT_DIGITS = {"smallint": 5, "integer": 10, "bigint": 19}
_TEXT = ("text", "character varying", "character")
#: Types whose modifier only bounds the values (a wider one holds them all unchanged).
#: Not bit(n) (a length, not a bound) nor character(n) (pads with blanks).
_BOUNDED = frozenset(
    {
        "character varying",
        "numeric",
        "timestamp without time zone",
        "timestamp with time zone",
        "time without time zone",
        "time with time zone",
    }
)

#: What a timestamp without time zone is taken to mean when QA stores a zone.
ASSUMED_ZONE = "UTC"


def base_type(type_: str) -> str:
    """A type without its modifiers: ``character varying(50)`` -> ``character varying``."""
    return re.sub(r"\(.*?\)", "", type_).strip()


def modifiers(type_: str) -> list[int]:
    m = re.search(r"\((-?\d+(?:\s*,\s*-?\d+)*)\)", type_)
    return [int(x) for x in m.group(1).split(",")] if m else []


def widens(src: str, dst: str) -> bool:
    """Whether *dst*'s modifiers hold everything *src*'s do."""
    s, d = modifiers(src), modifiers(dst)
    if not d:  # unconstrained target
        return True
    if not s or len(s) != len(d):
        return False
    if len(s) == 2:  # numeric(p, s): integer digits and scale must both fit
        return d[0] - d[1] >= s[0] - s[1] and d[1] >= s[1]
    return d[0] >= s[0]


def _is_safe(a: str, b: str, src: str, dst: str) -> bool:
    if any(m < 0 for m in modifiers(dst)):  # numeric(5,-2) rounds to hundreds
        return False
    if a == b:  # only the modifier differs: varchar(50) -> varchar(100), numeric(10,2) -> numeric
        return a in _BOUNDED and widens(src, dst)
    if b not in SAFE_CASTS.get(a, frozenset()):
        return False
    if "(" not in dst:  # an unconstrained target holds whatever the source does
        return True
    if a in _INT_DIGITS and b == "numeric":
        precision, scale = [*modifiers(dst), 0, 0][:2]
        return precision - scale >= _INT_DIGITS[a]
    if b.startswith(("timestamp", "time")):  # timestamp(3) -> timestamptz(3): precision only
        return widens(src, dst) if "(" in src else False
    # text -> varchar(n), char(10) -> varchar(5): fits only if the source is bounded no wider
    return "(" in src and widens(src, dst)


def _is_checked(a: str, b: str, src: str, dst: str) -> bool:
    if any(m < 0 for m in modifiers(dst)):
        return False
    if a in _INT_RANGE and b in _INT_RANGE:  # bigint -> integer: out of range is an error
        return True
    if a in _TEXT and b == "character varying" and modifiers(dst):
        # too long is an error, except for trailing blanks, which the server cuts quietly:
        # the copy checks production's values first (see Cast.checked_first)
        return True
    if a == b == "numeric":  # fewer integer digits, same scale: overflow is an error
        s, d = modifiers(src), modifiers(dst)
        return len(s) == 2 and len(d) == 2 and s[1] == d[1]
    return False


def classify(src: Column, dst: Column) -> CastKind:
    """How a value of production's *src* column reaches QA's *dst* column."""
    if src.type == dst.type:
        return CastKind.SAME
    if not (_builtin(src) and _builtin(dst)):
        return CastKind.UNSAFE
    a, b = base_type(src.type), base_type(dst.type)
    if _is_safe(a, b, src.type, dst.type):
        return CastKind.SAFE
    if _is_checked(a, b, src.type, dst.type):
        return CastKind.CHECKED
    return CastKind.UNSAFE


def _builtin(column: Column) -> bool:
    return column.type_name.schema == "pg_catalog" and not column.type.endswith("[]")


def explicit(src: Column, dst: Column) -> bool:
    """Whether the source server casts the value itself (``col::type``): see ``_EXPLICIT``."""
    a, b = base_type(src.type), base_type(dst.type)
    return classify(src, dst) is CastKind.SAFE and b in _EXPLICIT.get(a, frozenset())


def note(src: Column, dst: Column) -> str:
    """What a reader should know about a cast, for plans and diffs."""
    kind = classify(src, dst)
    if kind is CastKind.SAFE:
        zone = (
            f", production's values read as {ASSUMED_ZONE}"
            if "with time zone" in dst.type and "with time zone" not in src.type
            else ""
        )
        if base_type(src.type) == "json" and base_type(dst.type) == "jsonb":
            return (
                "copied with a cast to jsonb, which keeps the last of duplicate keys and "
                "writes keys and numbers in its own form"
            )
        return f"copied with a cast{zone}"
    if kind is CastKind.CHECKED:
        return "copied with a checked cast: a value that does not fit stops the table, named"
    return "no cast keeps every value"


@dataclass(frozen=True)
class Cast:
    """One copied column whose type differs between production and QA."""

    column: str
    source_type: str
    target_type: str
    kind: CastKind
    explicit: bool

    def select(self) -> sql.Composable:
        """The column as the source's COPY query reads it."""
        ident = sql.Identifier(self.column)
        if not self.explicit:
            return ident
        return sql.SQL("{}::{}").format(ident, sql.SQL(self.target_type))

    @property
    def checked_first(self) -> bool:
        """Whether production's values must be checked before the copy (the server would
        cut trailing blanks quietly instead of raising an error)."""
        return self.kind is CastKind.CHECKED and base_type(self.target_type) == "character varying"

    def misfit(self) -> sql.Composable | None:
        """A condition true for the production rows whose value does not fit QA's type."""
        if self.kind is not CastKind.CHECKED:
            return None
        ident = sql.Identifier(self.column)
        b = base_type(self.target_type)
        if b in _INT_RANGE:
            low, high = _INT_RANGE[b]
            return sql.SQL("{} NOT BETWEEN {} AND {}").format(
                ident, sql.Literal(low), sql.Literal(high)
            )
        if b == "character varying":
            (n,) = modifiers(self.target_type)
            return sql.SQL("char_length({}) > {}").format(ident, sql.Literal(n))
        precision, scale = modifiers(self.target_type)
        return sql.SQL("abs({}) >= 10::numeric ^ {}").format(ident, sql.Literal(precision - scale))


def make_cast(src: Column, dst: Column) -> Cast:
    return Cast(dst.name, src.type, dst.type, classify(src, dst), explicit(src, dst))
