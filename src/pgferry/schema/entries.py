"""Object-by-object comparison of two pg_dump archives, and the statements that close it.

Both archives are written by the same pg_dump; in the exact mode both databases
are on QA's server (production's schema restored into a scratch database), so
an object that is the same has the same text, whatever it is: a policy, a
collation, a rule, a cast, a grant, a comment.  Across servers (the less exact
mode) only objects whose text no server version rewrites are compared by text;
the rest by presence (the catalog comparison covers them).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from psycopg import sql

from ..catalog import Name
from ..plan import Severity
from . import grants
from .archive import Archive, Entry
from .ddl import Phase, Step
from .model import Change, Difference

#: Kinds pgferry alters in place (a column, a label, a sequence's bounds) rather than
#: replaces: a changed definition of these is left to the catalog comparison.
ALTERED = frozenset({"TABLE", "TYPE", "DOMAIN", "SEQUENCE", "SCHEMA", "EXTENSION"})

#: Kinds whose text reads the same from every server version: compared by text even
#: across servers.
STABLE_TEXT = frozenset(
    {
        "ACL",
        "DEFAULT ACL",
        "COMMENT",
        "ROW SECURITY",
        "COLLATION",
        "TEXT SEARCH CONFIGURATION",
        "TEXT SEARCH DICTIONARY",
        "CAST",
        "SCHEMA",
        "EXTENSION",
    }
)

#: How a missing object matters to a copy, by pg_dump's kind; others are warnings.
_SEVERITY = {
    "TABLE": Severity.BLOCKING,
    "SCHEMA": Severity.WARNING,
    "COMMENT": Severity.INFO,
}

_WHY = {
    "ROW SECURITY": "row-level security: without it every role that can read the table "
    "sees every row",
    "POLICY": "a row-level security policy",
    "ACL": "privileges: roles that use the database need them",
    "DEFAULT ACL": "default privileges for objects created later",
    "COMMENT": "a comment",
    "RULE": "a rule: it changes what statements on the table or view do",
    "COLLATION": "a collation: columns and indexes that name it fail without it",
    "TEXT SEARCH CONFIGURATION": "a text search configuration: indexes and queries that "
    "name it fail without it",
    "CAST": "a cast: expressions that rely on it fail without it",
}


@dataclass(frozen=True)
class EntryChange:
    change: Change
    source: Entry | None  # production's (from the scratch database in the exact mode)
    target: Entry | None  # QA's

    @property
    def entry(self) -> Entry:
        found = self.source or self.target
        assert found is not None
        return found


def compare(source: Archive, target: Archive, *, exact: bool) -> list[EntryChange]:
    """Every object only one side has, or that differs, in *source*'s order."""
    out: list[EntryChange] = []
    for e in source.entries:
        t = target.by_key.get(e.key)
        if t is None:
            out.append(EntryChange(Change.MISSING, e, None))
        elif (exact or e.kind in STABLE_TEXT) and _norm(e.sql) != _norm(t.sql):
            out.append(EntryChange(Change.CHANGED, e, t))
    out += [
        EntryChange(Change.EXTRA, None, t) for t in target.entries if t.key not in source.by_key
    ]
    return out


def _norm(text: str) -> str:
    return " ".join(text.split())


def match_key(kind: str, schema: str, name: str) -> tuple[str, str] | None:
    """What names one object in both the archive and the catalog comparison: its family
    and its name without quotes (``public.t``, ``t_pkey on public.t``)."""
    if kind in ("TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE"):
        return ("relation", f"{schema}.{name}")
    if kind in ("SEQUENCE", "TYPE", "DOMAIN"):
        return (kind.lower() if kind == "SEQUENCE" else "type", f"{schema}.{name}")
    if kind in ("FUNCTION", "PROCEDURE", "AGGREGATE"):
        return ("function", f"{schema}.{name}".replace(" ", "").replace("(*)", "()"))
    if kind in ("SCHEMA", "EXTENSION"):
        return (kind.lower(), name)
    if kind in ("CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT", "TRIGGER"):
        table, _, own = name.partition(" ")
        family = "trigger" if kind == "TRIGGER" else "constraint"
        return (family, f"{own} on {schema}.{table}")
    if kind == "INDEX":
        return ("index", f"{schema}.{name}")
    return None


_FAMILY = {
    "table": "relation",
    "view": "relation",
    "materialized view": "relation",
    "enum": "type",
    "domain": "type",
    "composite type": "type",
    "sequence": "sequence",
    "function": "function",
    "schema": "schema",
    "extension": "extension",
    "constraint": "constraint",
    "trigger": "trigger",
    "index": "index",
}


def difference_key(d: Difference, signatures: dict[str, str]) -> tuple[str, str] | None:
    """:func:`match_key` for a difference the catalog comparison found; *signatures* maps a
    function's catalog signature (argument names in) to pg_dump's (types alone)."""
    family = _FAMILY.get(d.kind)
    if family is None:
        return None
    text = signatures.get(d.name, d.name) if family == "function" else d.name
    text = text.replace('"', "")
    if family == "index":
        text = text.split(" on ", 1)[0]
    if family == "function":
        text = text.replace(" ", "")
    return (family, text)


def statement(text: str, phase: Phase, order: int) -> Step:
    """pg_dump's SQL as one step of a push (run as it is: the server wrote it)."""
    return Step(phase, sql.SQL(text), depth=order)


def create_steps(
    entries: Iterable[Entry], archive: Archive, target_settings: Collection[str]
) -> list[Step]:
    """The statements that create *entries*, with the session settings each needs."""
    order = archive.position
    steps = []
    for e in entries:
        text = archive.script([e], target_settings=target_settings)
        body = "\n".join(ln for ln in text.splitlines() if ln.strip()).strip()
        phase = Phase.ARCHIVE_POST if e.post_data else Phase.ARCHIVE_PRE
        steps.append(statement(body, phase, order.get(e.id, 0)))
    return steps


def drop_steps(entry: Entry, archive: Archive) -> list[Step]:
    """What removes *entry* from QA (pg_restore's own DROP, or the undoing of a comment,
    a grant or row-level security, which have none)."""
    order = archive.position.get(entry.id, 0)
    texts: list[str]
    if entry.kind == "COMMENT":
        head = entry.sql.split(" IS ", 1)[0]
        texts = [head + " IS NULL;"] if head.startswith("COMMENT ON") else []
    elif entry.kind in grants.KINDS:
        texts = [r for r in (grants.revoke(ln) for ln in entry.sql.splitlines()) if r]
    elif entry.kind == "ROW SECURITY":
        texts = [
            line.replace("ENABLE ROW LEVEL", "DISABLE ROW LEVEL").replace(
                " FORCE ROW LEVEL", " NO FORCE ROW LEVEL"
            )
            for line in entry.sql.splitlines()
            if "ROW LEVEL SECURITY" in line
        ]
    else:
        found = archive.drop(entry)
        texts = [found] if found else []
    return [statement(t, Phase.ARCHIVE_DROP, order) for t in texts]


def describe(change: EntryChange) -> Difference:
    """A difference the catalog comparison has no word for, classed by pg_dump's kind."""
    e = change.entry
    what = _WHY.get(e.kind, e.kind.lower())
    table = _table_name(e)
    if change.change is Change.MISSING:
        severity = _SEVERITY.get(e.kind, Severity.WARNING)
        detail = f"production has {what}, QA does not"
        migrate = "copies rows regardless; schema push creates it"
    elif change.change is Change.EXTRA:
        severity = Severity.INFO
        detail = f"QA has {what}, production does not"
        migrate = "leaves it alone"
    else:
        severity = Severity.INFO if e.kind == "COMMENT" else Severity.WARNING
        detail = f"{what}: {_first_difference(change)}"
        migrate = (
            "copies rows regardless; schema push does not change this kind, fix it by hand"
            if e.kind in ALTERED
            else "copies rows regardless; schema push replaces it with production's"
        )
    return Difference(
        kind_word(e.kind),
        label(e),
        change.change,
        severity,
        detail,
        migrate,
        drops=change.change is Change.EXTRA,
        refused=(
            "pg_dump's definitions differ in a way schema push does not alter: "
            + _first_difference(change)
            if change.change is Change.CHANGED and e.kind in ALTERED
            else None
        ),
        table=table,
    )


def _first_difference(change: EntryChange) -> str:
    a = [ln for ln in (change.source.sql if change.source else "").splitlines() if ln.strip()]
    b = [ln for ln in (change.target.sql if change.target else "").splitlines() if ln.strip()]
    for x, y in zip(a, b, strict=False):
        if _norm(x) != _norm(y):
            return f"production: {_norm(x)[:120]!r}; QA: {_norm(y)[:120]!r}"
    if len(a) != len(b):
        longer, side = (a, "production") if len(a) > len(b) else (b, "QA")
        extra = _norm(longer[min(len(a), len(b))])[:120]
        return f"only {side} has {extra!r}"
    return "they differ in white space only"


def kind_word(kind: str) -> str:
    return {
        "ACL": "grant",
        "DEFAULT ACL": "default privileges",
        "ROW SECURITY": "row-level security",
        "FK CONSTRAINT": "constraint",
        "CHECK CONSTRAINT": "constraint",
    }.get(kind, kind.lower())


def label(e: Entry) -> str:
    if e.kind in ("ACL", "COMMENT"):
        return f"on {e.name}" + (f" in {e.schema}" if e.schema else "")
    if e.schema:
        return f"{e.schema}.{e.name}"
    return e.name


def _table_name(e: Entry) -> Name | None:
    owner = e.table
    if owner is None:
        return None
    schema, _, table = owner.partition(".")
    return Name(schema, table)
