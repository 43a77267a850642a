"""Recognise an error message as pasted: Prisma, PostgreSQL, pg_dump, psql, pg_restore.

Two things are read from the text, independently: the *code* (Prisma's
``P2002``, PostgreSQL's SQLSTATE ``23505`` wherever a driver prints it) and the
*shape* of the wording ("Unique constraint failed on the fields: (`id`)",
"duplicate key value violates unique constraint ..."). Either is enough: a code
with wording from a Prisma version not seen yet is still recognised, and so is
wording pasted without its code.  The wording gives the names involved.

Everything here is pure text work; nothing connects to a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    UNIQUE = "unique violation"
    FOREIGN_KEY = "foreign key violation"
    STILL_REFERENCED = "parent row still referenced"
    MISSING_TABLE = "table does not exist"
    MISSING_COLUMN = "column does not exist"
    COLUMN_DATA = "inconsistent column data"
    DATETIME = "invalid date/time value"
    ENUM = "invalid enum value"
    INPUT_SYNTAX = "invalid input syntax"
    DUMP_VERSION = "pg_dump server version mismatch"
    TRANSACTION_TIMEOUT = "unknown setting transaction_timeout"
    RESTRICT = "\\restrict not understood"
    ARCHIVE_VERSION = "unsupported archive version"

    @property
    def is_tool(self) -> bool:
        """About the dump tools on this machine rather than a database's contents."""
        return self in _TOOL_KINDS


_TOOL_KINDS = frozenset(
    {Kind.DUMP_VERSION, Kind.TRANSACTION_TIMEOUT, Kind.RESTRICT, Kind.ARCHIVE_VERSION}
)

#: What each code means on its own (22P02 covers enums and other types: the
#: wording decides; P2007/P2010/P2039 wrap a PostgreSQL error whose code or
#: wording decides).
CODE_KINDS: dict[str, Kind] = {
    "P2002": Kind.UNIQUE,
    "P2003": Kind.FOREIGN_KEY,
    "P2021": Kind.MISSING_TABLE,
    "P2022": Kind.MISSING_COLUMN,
    "P2023": Kind.COLUMN_DATA,
    "23505": Kind.UNIQUE,
    "23503": Kind.FOREIGN_KEY,
    "22007": Kind.DATETIME,
    "22008": Kind.DATETIME,
    "22P02": Kind.INPUT_SYNTAX,
    "42P01": Kind.MISSING_TABLE,
    "42703": Kind.MISSING_COLUMN,
}
_WRAPPERS = frozenset({"P2007", "P2010", "P2039"})
_SQLSTATES = frozenset(c for c in CODE_KINDS if not c.startswith("P"))


@dataclass(frozen=True)
class Symptom:
    """What a message says, as far as the text alone tells."""

    kind: Kind
    codes: tuple[str, ...] = ()  # every known code in the text: ("P2002", "23505")
    origin: str = ""  # Prisma, PostgreSQL, pg_dump, psql, pg_restore
    line: str = ""  # the line that was recognised
    model: str | None = None  # Prisma model: meta.modelName, or prisma.<model>.create()
    operation: str | None = None  # create, findMany, ...
    schema: str | None = None
    table: str | None = None
    columns: tuple[str, ...] = ()
    constraint: str | None = None
    field: str | None = None  # Prisma P2003's "field": a column or a constraint name
    key_columns: tuple[str, ...] = ()  # DETAIL: Key (a, b)=(1, 2) ...
    key_values: str | None = None  # "1, 2" as printed
    ref_table: str | None = None  # ... is not present in table "x"
    value: str | None = None  # the value that failed: enum label, timestamp text
    type_name: str | None = None  # the type it failed for: "Role", "timestamp", "integer"
    server_version: str | None = None
    tool_version: str | None = None
    archive_version: str | None = None
    implied_code: str | None = None  # the code the wording stands for, when none was pasted

    @property
    def code(self) -> str | None:
        """The code to show: Prisma's where there is one, else the SQLSTATE."""
        return self.codes[0] if self.codes else self.implied_code

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "code": self.code}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "kind" or value in (None, (), ""):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


# -- normalising ------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ESCAPE = re.compile(r'\\(["\\n])')


def normalise(text: str) -> str:
    """Colour codes out, JSON/JS string escapes undone, so one set of shapes fits all."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    for _ in range(3):  # a message inside a string inside a string: undo each level
        if '\\"' not in text and "\\n" not in text:
            break
        text = _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), text)
    return text


# -- names inside messages ---------------------------------------------------------

_IDENT = re.compile(r'"((?:[^"]|"")*)"|([^".\s]+)')


def split_name(text: str) -> list[str]:
    """``public."Order"`` -> ["public", "Order"]; names are kept as printed (not folded)."""
    parts: list[str] = []
    pos = 0
    text = text.strip().strip("`'")
    while pos < len(text):
        m = _IDENT.match(text, pos)
        if not m:
            break
        parts.append(m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2))
        pos = m.end()
        if pos < len(text) and text[pos] == ".":
            pos += 1
        else:
            break
    return parts


def _backticked(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in re.findall(r"`([^`]+)`", text))


def _quoted_list(text: str) -> tuple[str, ...]:
    return tuple(x for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", text) for x in (a or b,))


def _key_columns(text: str) -> tuple[str, ...]:
    return tuple(c.strip().strip('"') for c in text.split(",") if c.strip())


# -- shapes ------------------------------------------------------------------------


def _q(group: str) -> str:
    """A name PostgreSQL printed in double quotes, as a named group."""
    return rf'"(?P<{group}>(?:[^"]|"")+)"'


_FK = r"Foreign key constraint (?:failed|violated)"
_DATE_TYPE = (
    r"timestamp(?: with(?:out)? time zone)?|timestamptz|date"
    r"|time(?: with(?:out)? time zone)?|timetz|interval"
)

#: (kind, who prints it, the wording).  Prisma's: the engine before 7 and the
#: driver adapters of 6 and 7.  PostgreSQL's own wording is what psql, psycopg,
#: node-postgres, Rails and Django all show.
_SHAPES: list[tuple[Kind, str, str]] = [
    (Kind.UNIQUE, "Prisma", r"Unique constraint failed on the fields: \((?P<fields>[^)]*)\)"),
    (Kind.UNIQUE, "Prisma", r"Unique constraint failed on the constraint: `(?P<constraint>[^`]+)`"),
    (Kind.UNIQUE, "Prisma", r"Unique constraint failed on the \(not available\)"),
    (Kind.FOREIGN_KEY, "Prisma", _FK + r" on the field: `(?P<field>[^`]+)`"),
    (Kind.FOREIGN_KEY, "Prisma", _FK + r" on the (?:constraint|index): `(?P<constraint>[^`]+)`"),
    (Kind.FOREIGN_KEY, "Prisma", _FK + r" on the fields: \((?P<fields>[^)]*)\)"),
    (Kind.FOREIGN_KEY, "Prisma", _FK + r": `?(?P<constraint>[^`\s]+)(?: \(index\))?`?"),
    (Kind.FOREIGN_KEY, "Prisma", _FK + r" on the (?:foreign key|\(not available\))"),
    (
        Kind.MISSING_TABLE,
        "Prisma",
        r"The table `(?P<relation>[^`]+)` does not exist in the current",
    ),
    (Kind.MISSING_COLUMN, "Prisma", r"The column `(?P<qualified>[^`]+)` does not exist in the"),
    (Kind.COLUMN_DATA, "Prisma", r"Inconsistent column data: (?P<detail>.+)"),
    (
        Kind.UNIQUE,
        "PostgreSQL",
        r"duplicate key value violates unique constraint " + _q("constraint"),
    ),
    (
        Kind.FOREIGN_KEY,
        "PostgreSQL",
        rf"insert or update on table {_q('table')} violates foreign key constraint "
        + _q("constraint"),
    ),
    (
        Kind.STILL_REFERENCED,
        "PostgreSQL",
        rf"update or delete on table {_q('ref_table')} violates foreign key constraint "
        rf"{_q('constraint')} on table {_q('table')}",
    ),
    (
        Kind.MISSING_COLUMN,
        "PostgreSQL",
        rf"column {_q('column')} of relation {_q('relation')} does not exist",
    ),
    (Kind.MISSING_COLUMN, "PostgreSQL", r"column (?P<qualified>\S+) does not exist"),
    (Kind.MISSING_TABLE, "PostgreSQL", rf"relation {_q('relation')} does not exist"),
    (Kind.ENUM, "PostgreSQL", r'invalid input value for enum (?P<type>.+?): "(?P<value>[^"\n]*)"'),
    (
        Kind.DATETIME,
        "PostgreSQL",
        rf'invalid input syntax for type (?P<type>{_DATE_TYPE}): "(?P<value>.*)"',
    ),
    (Kind.DATETIME, "PostgreSQL", r'date/time field value out of range: "(?P<value>.*)"'),
    (Kind.DATETIME, "PostgreSQL", r'(?:timestamp|date) out of range(?:: "(?P<value>.*)")?'),
    (Kind.DATETIME, "PostgreSQL", r"time zone displacement out of range"),
    (
        Kind.INPUT_SYNTAX,
        "PostgreSQL",
        r'invalid input syntax for (?:type )?(?P<type>[\w ]+?): "(?P<value>.*)"',
    ),
    (Kind.DUMP_VERSION, "pg_dump", r"aborting because of server version mismatch"),
    (
        Kind.TRANSACTION_TIMEOUT,
        "psql",
        r'unrecognized configuration parameter "transaction_timeout"',
    ),
    (Kind.RESTRICT, "psql", r"invalid command \\(?:un)?restrict\b"),
    (Kind.RESTRICT, "psql", r'syntax error at or near "\\(?:un)?restrict"'),
    (
        Kind.ARCHIVE_VERSION,
        "pg_restore",
        r"unsupported version \((?P<archive>\d+\.\d+)\) in file header",
    ),
]
_PATTERNS = [(kind, origin, re.compile(pattern)) for kind, origin, pattern in _SHAPES]

# -- details found anywhere in the text --------------------------------------------

_PRISMA_CODE = re.compile(r"\b(P[12]\d{3})\b")
_SQLSTATE = re.compile(
    r"(?i)(?:sqlstate|code|state|error)\W{0,5}([0-9][0-9A-Z]{4})\b|SqlState\(E([0-9][0-9A-Z]{4})\)"
)
_INVOCATION = re.compile(r"Invalid `(?:[\w$]+\.)*(?P<model>\w+)\.(?P<op>\w+)\(\)` invocation")
_MODEL_NAME = re.compile(r"""modelName["']?\s*[:=]\s*["'](?P<model>[^"']+)["']""")
_META_TARGET_LIST = re.compile(r"""target["']?\s*[:=]\s*\[(?P<list>[^\]]*)\]""")
_META_TARGET = re.compile(r"""target["']?\s*[:=]\s*["'](?P<name>[^"']+)["']""")
_META_FIELD = re.compile(r"""field_name["']?\s*[:=]\s*["'](?P<name>[^"']+)["']""")
_META_TABLE = re.compile(r"""\btable["']?\s*[:=]\s*["'](?P<name>[^"']+)["']""")
_META_COLUMN = re.compile(r"""\bcolumn["']?\s*[:=]\s*["'](?P<name>[^"']+)["']""")
_DETAIL_KEY = re.compile(
    r"Key \((?P<cols>.*?)\)=\((?P<vals>.*)\) "
    rf"(?:already exists|is not present in table {_q('ref')}|is still referenced)"
)
_COPY_CONTEXT = re.compile(r"COPY (?P<table>\S+), line \d+, column (?P<column>[^:\s]+)")
_DUMP_VERSIONS = re.compile(
    r"server version: (?P<server>\d[\w.]*)[^;\n]*;\s*pg_dump(?:all)? version: (?P<tool>\d[\w.]*)"
)


def _codes(text: str) -> list[str]:
    found = [m.group(1) for m in _PRISMA_CODE.finditer(text)]
    found += [c for m in _SQLSTATE.finditer(text) if (c := m.group(1) or m.group(2)) in _SQLSTATES]
    return list(dict.fromkeys(c for c in found if c in CODE_KINDS or c in _WRAPPERS))


def _line_at(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : end if end >= 0 else len(text)].strip()


def _pg(name: str) -> str:
    return name.replace('""', '"')


def _from_shape(m: re.Match[str]) -> dict[str, Any]:
    """The names a matched shape carries, as Symptom fields."""
    g = {k: v for k, v in m.groupdict().items() if v is not None}
    out: dict[str, Any] = {}
    if "fields" in g:
        out["columns"] = _backticked(g["fields"])
    if "constraint" in g:
        out["constraint"] = _pg(g["constraint"]).removesuffix(" (index)").strip()
    if "field" in g:
        out["field"] = g["field"].strip()
    if "table" in g:
        out["table"] = _pg(g["table"])
    if "ref_table" in g:
        out["ref_table"] = _pg(g["ref_table"])
    if "column" in g:
        out["columns"] = (_pg(g["column"]),)
    if "relation" in g:  # "public.Order" may be a schema and a name
        out["table"] = _pg(g["relation"])
    if "qualified" in g:
        parts = [] if "(not available)" in g["qualified"] else split_name(g["qualified"])
        if parts:
            out["columns"] = (parts[-1],)
            if len(parts) >= 2:
                out["table"] = parts[-2]
            if len(parts) >= 3:
                out["schema"] = parts[-3]
    if "type" in g:
        out["type_name"] = g["type"].strip()
    if "value" in g:
        out["value"] = _pg(g["value"])
    if "archive" in g:
        out["archive_version"] = g["archive"]
    if "detail" in g:
        out.update(_column_data(g["detail"]))
    return out


def _column_data(detail: str) -> dict[str, Any]:
    """Prisma P2023's free text: the column, the value, the type it expected."""
    out: dict[str, Any] = {}
    col = re.search(r"column '([^']+)'|the '([^']+)' column|field `([^`]+)`", detail)
    if col:
        out["columns"] = (next(x for x in col.groups() if x),)
    found = re.search(r"found (.+?)\s*$|String\((.+?)\)|Value (-?\d+)", detail)
    if found:
        out["value"] = next(x for x in found.groups() if x)
    if re.search(r"\bINT\b|BigInt|does not fit", detail):
        out["type_name"] = "integer"
    elif re.search(r"(?i)date ?time", detail):
        out["type_name"] = "timestamp"
    return out


_PRISMA_CODES = {
    Kind.UNIQUE: "P2002",
    Kind.FOREIGN_KEY: "P2003",
    Kind.MISSING_TABLE: "P2021",
    Kind.MISSING_COLUMN: "P2022",
    Kind.COLUMN_DATA: "P2023",
}
_SERVER_CODES = {
    Kind.UNIQUE: "23505",
    Kind.FOREIGN_KEY: "23503",
    Kind.STILL_REFERENCED: "23503",
    Kind.MISSING_TABLE: "42P01",
    Kind.MISSING_COLUMN: "42703",
    Kind.ENUM: "22P02",
    Kind.INPUT_SYNTAX: "22P02",
}


def _implied(kind: Kind, origin: str, line: str) -> str | None:
    if origin == "Prisma":
        return _PRISMA_CODES.get(kind)
    if kind is Kind.DATETIME:
        return "22008" if "out of range" in line else "22007"
    return _SERVER_CODES.get(kind)


def recognise(message: str) -> Symptom | None:
    """The :class:`Symptom` a message describes, or None when it is none doctor knows."""
    text = normalise(message)
    codes = _codes(text)
    matches: list[tuple[int, Kind, str, re.Match[str]]] = []
    for kind, origin, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            matches.append((m.start(), kind, origin, m))
            break
    known = [c for c in codes if c in CODE_KINDS]
    if matches:
        # The earliest shape decides; the others of the same kind add their names.
        matches.sort(key=lambda x: x[0])
        _, kind, origin, first = matches[0]
        found: dict[str, Any] = {}
        for _, k, _, m in matches:
            if k is kind:
                for key, value in _from_shape(m).items():
                    found.setdefault(key, value)
        line = _line_at(text, first.start())
    elif known:
        kind, origin, found = CODE_KINDS[known[0]], "", {}
        line = next((ln.strip() for ln in text.splitlines() if known[0] in ln), known[0])
    else:
        return None
    if not codes:
        found["implied_code"] = _implied(kind, origin, line)
    symptom = Symptom(kind=kind, codes=tuple(codes), origin=origin, line=line[:300], **found)
    return _add_context(symptom, text)


def _add_context(s: Symptom, text: str) -> Symptom:
    """Names found outside the recognised line: Prisma's meta and call, DETAIL, CONTEXT."""
    extra: dict[str, Any] = {}
    if any(c.startswith("P") for c in s.codes) or "prisma" in text.lower():
        if not s.origin:
            extra["origin"] = "Prisma"
        elif s.origin == "PostgreSQL":
            extra["origin"] = "PostgreSQL, through Prisma"
        model = _MODEL_NAME.search(text)
        call = _INVOCATION.search(text)
        if model:
            extra["model"] = model.group("model")
        elif call:
            extra["model"] = call.group("model")
        if call:
            extra["operation"] = call.group("op")
        if not s.columns and not s.constraint:
            lst = _META_TARGET_LIST.search(text)
            one = _META_TARGET.search(text)
            if lst:
                extra["columns"] = _quoted_list(lst.group("list"))
            elif one:
                extra["constraint"] = one.group("name")
        if s.kind is Kind.FOREIGN_KEY and not s.field and not s.constraint:
            fld = _META_FIELD.search(text)
            if fld:
                extra["field"] = fld.group("name")
        if s.kind is Kind.MISSING_TABLE and not s.table:
            tbl = _META_TABLE.search(text)
            if tbl:
                extra["table"] = tbl.group("name")
        if s.kind is Kind.MISSING_COLUMN and not s.columns:
            col = _META_COLUMN.search(text)
            if col and col.group("name") != "(not available)":
                parts = split_name(col.group("name"))
                extra["columns"] = (parts[-1],)
                if len(parts) > 1:
                    extra["table"] = parts[-2]
    if not s.origin and not extra.get("origin"):
        extra["origin"] = "PostgreSQL"
    key = _DETAIL_KEY.search(text)
    if key:
        extra["key_columns"] = _key_columns(key.group("cols"))
        extra["key_values"] = key.group("vals")
        if key.group("ref") and not s.ref_table:
            extra["ref_table"] = key.group("ref").replace('""', '"')
        if s.kind is Kind.UNIQUE and not s.columns:
            extra["columns"] = extra["key_columns"]
    ctx = _COPY_CONTEXT.search(text)
    if ctx:
        parts = split_name(ctx.group("table"))
        if not s.table and parts:
            extra["table"] = parts[-1]
            if len(parts) > 1:
                extra["schema"] = parts[-2]
        if not s.columns:
            extra["columns"] = (ctx.group("column").strip('"'),)
    if s.kind is Kind.DUMP_VERSION:
        v = _DUMP_VERSIONS.search(text)
        if v:
            extra["server_version"], extra["tool_version"] = v.group("server"), v.group("tool")
    return replace(s, **extra)
