"""``schema diff``: production's schema and QA's, compared like with like.

1. production's schema is dumped by pg_dump into an archive (:mod:`.archive`),
   and prepared for QA's server: virtual generated columns made STORED for a
   QA older than 18, grants kept for the roles QA has (:mod:`.grants`);
2. the exact mode: the archive is restored into a scratch database on QA's
   server (:mod:`.scratch`); what that server refuses is named, with what
   depends on it; then the scratch database and QA are compared, both by
   their catalogs (:func:`.diff.diff`: columns, types, casts, what a copy
   needs) and object by object in archives of the same pg_dump
   (:mod:`.entries`: every kind pg_dump knows);
3. where no scratch database can be made, production and QA are compared
   across servers, and the output says it is the less exact mode and why.

Each difference found both ways is reported once: the catalog's words, and
pg_dump's statements to fix it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg

from ..catalog import Catalog, read_catalog
from ..endpoints import Endpoint, connect
from ..errors import translating
from ..identity import refuse_same_database, server_identity
from ..plan import Severity
from . import archive as archives
from . import dependents, grants
from . import entries as ent
from .archive import Archive, Entry
from .ddl import Step
from .diff import diff
from .model import Change, Difference, SchemaDiff
from .scratch import Applied, apply_entries, lock_budget, scratch_database

EXACT = "exact"
ACROSS = "across servers"


@dataclass
class Comparison:
    """Everything one comparison read: the diff, and what a push needs to act on it."""

    diff: SchemaDiff
    #: production's: as restored on QA's server in the exact mode, as it is across servers
    source_catalog: Catalog
    target_catalog: Catalog  # QA's
    production: Archive  # prepared for QA's server
    target_settings: list[str]
    rehearsal: Applied | None = None  # the restore into the scratch database
    notes: list[str] = field(default_factory=list)
    missing_roles: set[str] = field(default_factory=set)
    reference: Archive | None = None  # what QA is compared with: scratch's, or production's
    reference_catalog: Catalog | None = None
    budget: int = 800
    target_endpoint: Endpoint | None = None
    source_major: int = 0  # production's server


def settings_of(conn: psycopg.Connection[Any]) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT name FROM pg_catalog.pg_settings")]


def roles_of(conn: psycopg.Connection[Any]) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT rolname FROM pg_catalog.pg_roles")}


def prepare(
    production: Archive, target_major: int, roles: set[str]
) -> tuple[Archive, list[str], set[str]]:
    """Production's archive as QA's server can take it; notes on what was changed."""
    notes: list[str] = []
    missing: set[str] = set()
    out: list[Entry] = []
    stored: list[str] = []
    for e in production.entries:
        if target_major < 18:
            e, cols = archives.stored_for_older(e)
            stored += [f"{e.schema}.{e.name}.{c}" for c in cols]
            e, _ = archives.not_null_for_older(e)
        kept, absent = grants.for_roles(e, roles)
        missing |= absent
        if kept is not None:
            out.append(kept)
    if stored:
        notes.append(
            f"QA's server ({target_major}) has no virtual generated columns: "
            f"{', '.join(stored)} are created STORED (same values, computed when a row is "
            "written)"
        )
    if missing:
        notes.append(
            "grants and policies for roles QA's server does not have are left out: "
            f"{', '.join(sorted(missing))} (create those roles in QA and push again to get them)"
        )
    return replace(production, entries=tuple(out)), notes, missing


@translating()
def schema_diff(
    source: Endpoint,
    target: Endpoint,
    *,
    schemas: Sequence[str] = (),
    with_grants: bool = True,
    exact: bool = True,
) -> SchemaDiff:
    """How QA's schema (*target*) differs from production's (*source*): what
    ``pgferry schema diff`` prints (see :func:`compared` for how it is read)."""
    with compared(
        source, target, schemas=schemas, with_grants=with_grants, exact=exact
    ) as comparison:
        return comparison.diff


@contextmanager
def compared(
    source: Endpoint,
    target: Endpoint,
    *,
    schemas: Sequence[str] = (),
    with_grants: bool = True,
    exact: bool = True,
) -> Iterator[Comparison]:
    """Compare (see the module's text); the archives live until the block ends.

    pg_dump runs beside the work on QA's server (two threads: the dumps are other
    processes), so the exact mode costs little more than its restore.
    """
    with (
        tempfile.TemporaryDirectory(prefix="pgferry-schema-") as tmp,
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="pgferry-dump") as pool,
        connect(source, read_only=True, autocommit=True) as sconn,
        connect(target, autocommit=True) as tconn,
    ):
        refuse_same_database(server_identity(sconn), server_identity(tconn), target)
        source_major = int(sconn.info.server_version) // 10000
        newest = max(source_major, int(tconn.info.server_version) // 10000)

        def dump(endpoint: Endpoint, name: str, label: str) -> Future[Archive]:
            path = Path(tmp) / f"{name}.dump"
            return pool.submit(
                archives.dump, endpoint, newest, path, schemas=schemas, grants=with_grants,
                label=label,
            )  # fmt: skip

        raw_job, qa_job = dump(source, "production", "production"), dump(target, "qa", "QA")
        dst_cat = read_catalog(tconn)
        settings, roles = settings_of(tconn), roles_of(tconn)
        budget = lock_budget(tconn)
        production, notes, missing = prepare(raw_job.result(), dst_cat.major_version, roles)
        comparison = Comparison(
            SchemaDiff(()),
            dst_cat,  # replaced below: production's, as the comparison read it
            dst_cat,
            production,
            settings,
            notes=notes,
            missing_roles=missing,
            budget=budget,
            target_endpoint=target,
            source_major=source_major,
        )
        if exact:
            with scratch_database(target) as made:
                if made.swept:
                    notes.append(
                        f"dropped {len(made.swept)} scratch database(s) left by an earlier run"
                    )
                if made.endpoint is not None:
                    with connect(made.endpoint, autocommit=True) as scratch:
                        rehearsal = apply_entries(
                            scratch, production, production.entries, settings, budget=budget
                        )
                        ref_job = dump(made.endpoint, "scratch", "the scratch database")
                        ref_cat = read_catalog(scratch)
                    reference = ref_job.result()
                    comparison.rehearsal = rehearsal
                    comparison.reference = reference
                    comparison.reference_catalog = comparison.source_catalog = ref_cat
                    comparison.diff = build(
                        ref_cat,
                        dst_cat,
                        reference,
                        qa_job.result(),
                        production,
                        settings,
                        schemas,
                        EXACT,
                        rehearsal,
                        notes,
                    )
                    yield comparison
                    return
                notes.append(
                    f"compared across servers (the less exact mode): {made.reason}; drift in "
                    "how each server version writes views, checks and functions may show"
                )
        src_cat = read_catalog(sconn)
        comparison.reference = production
        comparison.reference_catalog = comparison.source_catalog = src_cat
        comparison.diff = build(
            src_cat, dst_cat, production, qa_job.result(), production, settings, schemas, ACROSS,
            None, notes,
        )  # fmt: skip
        yield comparison


def build(
    ref_cat: Catalog,
    dst_cat: Catalog,
    reference: Archive,
    qa: Archive,
    production: Archive,
    settings: list[str],
    schemas: Iterable[str],
    mode: str,
    rehearsal: Applied | None,
    notes: list[str],
) -> SchemaDiff:
    """The catalog comparison and the object-by-object one, merged."""
    found = diff(ref_cat, dst_cat, schemas=schemas)
    changes = ent.compare(reference, qa, exact=mode == EXACT)
    signatures = {
        f.signature: f"{f.name.schema}.{f.name.name}({f.arg_types})"
        for f in (*ref_cat.functions, *dst_cat.functions)
    }
    out = merge(list(found.differences), changes, reference, qa, settings, signatures, dst_cat)
    if rehearsal is not None:
        out += refusals(rehearsal, ref_cat)
    order = {k: i for i, k in enumerate(Severity)}
    out.sort(key=lambda d: (order[d.severity], d.kind, d.name))
    return SchemaDiff(tuple(out), found.source, found.target, mode=mode, notes=tuple(notes))


def refusals(rehearsal: Applied, ref_cat: Catalog) -> list[Difference]:
    """What QA's server would not take from production's schema, named before any push."""
    server = f"QA's server (PostgreSQL {ref_cat.major_version})"
    why = [
        (e, f"{server} refuses production's definition: {error}",
         f"QA's server cannot hold it ({error}); upgrade QA or change it in production")
        for e, error in rehearsal.refused
    ] + [
        (e, f"held back with what it needs ({error})",
         f"it depends on an object QA's server refuses ({error})")
        for e, error in rehearsal.held_back
    ]  # fmt: skip
    return [
        Difference(
            ent.kind_word(e.kind),
            ent.label(e),
            Change.MISSING,
            Severity.WARNING,
            detail,
            "copies what exists; this object stays missing in QA",
            refused=reason,
        )
        for e, detail, reason in why
    ]


def merge(
    found: list[Difference],
    changes: list[ent.EntryChange],
    reference: Archive,
    qa: Archive,
    settings: list[str],
    signatures: dict[str, str] | None = None,
    qa_catalog: Catalog | None = None,
) -> list[Difference]:
    """One list: each catalog difference with pg_dump's statements as its fix where
    pg_dump has the object; each object difference the catalog has no word for."""
    by_key: dict[tuple[str, str], list[int]] = {}
    for i, d in enumerate(found):
        key = ent.difference_key(d, signatures or {})
        if key is not None:
            by_key.setdefault(key, []).append(i)
    fixes: dict[int, list[Step]] = {}
    explained = {name for d in found for name in _owners(d)}
    extra: list[Difference] = []
    table_of_missing = {
        d.name.replace('"', ""): i
        for i, d in enumerate(found)
        if d.kind in ("table", "view", "materialized view") and d.change is Change.MISSING
    }
    for c in changes:
        e = c.entry
        owner = e.table.replace('"', "") if e.table else None
        if c.change is Change.CHANGED and owner in table_of_missing and c.source is not None:
            # a name QA's other table still holds (its identity sequence): made anew with it
            steps = ent.create_steps([c.source], reference, settings)
            fixes.setdefault(table_of_missing[owner], []).extend(steps)
            continue
        steps = _fix(c, reference, qa, settings, qa_catalog)
        key = ent.match_key(e.kind, e.schema, e.name)
        hits = [i for i in by_key.get(key, []) if found[i].change is c.change] if key else []
        if hits:
            if not (c.change is Change.CHANGED and e.kind in ent.ALTERED):
                for i in hits:
                    fixes.setdefault(i, []).extend(steps)
                    if c.change is Change.MISSING:  # pg_dump writes what the catalog could not
                        found[i] = replace(found[i], refused=None)
                    steps = []
            continue
        if c.change is Change.MISSING and owner in table_of_missing:
            fixes.setdefault(table_of_missing[owner], []).extend(steps)
            continue
        whole = f"{e.schema}.{e.name}" if e.schema else e.name
        if c.change is Change.CHANGED and e.kind in ent.ALTERED and whole in explained:
            # a column (label, bound) difference says what differs, and alters it; what
            # production runs after its CREATE (SET STATISTICS, FORCE ROW LEVEL SECURITY)
            # and QA does not is run too
            more = _later_statements(c.target, c.source) if c.source and c.target else None
            if more is not None:
                extra.append(_runs_also(c, more, reference, settings))
            continue
        d = ent.describe(c)
        if d.refused and c.source is not None and c.target is not None:
            added = _added(c.target, c.source)  # FORCE ROW LEVEL SECURITY, SET STATISTICS...
            if added is not None:
                extra.append(_runs_also(c, added, reference, settings))
                continue
        extra.append(d if d.refused else replace(d, fix=tuple(steps)))
    merged = [replace(d, fix=tuple(fixes[i])) if i in fixes else d for i, d in enumerate(found)]
    return merged + extra


def _owners(d: Difference) -> set[str]:
    """The objects a catalog difference is about, without quotes: ``public.t`` for a column
    of it, ``public.status`` for one of its labels."""
    name = d.name.replace('"', "")
    out = {name, name.split(" (", 1)[0], name.split(" on ", 1)[-1]}
    if d.table is not None:
        out.add(str(d.table).replace('"', ""))
    if d.kind in ("column", "enum label"):
        out.add(name.rsplit(".", 1)[0])
        out.add(name.split(" ", 1)[0].rsplit(".", 1)[0])
    return out


def _fix(
    c: ent.EntryChange,
    reference: Archive,
    qa: Archive,
    settings: list[str],
    qa_catalog: Catalog | None = None,
) -> list[Step]:
    if c.change is Change.MISSING:
        assert c.source is not None
        return ent.create_steps([c.source], reference, settings)
    if c.change is Change.EXTRA:
        assert c.target is not None
        return ent.drop_steps(c.target, qa)
    assert c.source is not None and c.target is not None
    if c.source.kind in ent.ALTERED:
        return []
    if c.source.kind in ("FUNCTION", "PROCEDURE"):
        replaced = _or_replace(c.source)
        return ent.create_steps([replaced], reference, settings)
    if c.source.kind == "COMMENT":
        return ent.create_steps([c.source], reference, settings)
    added = _added(c.target, c.source)
    if added is not None:  # production says more (CLUSTER ON after a key): say only that
        return ent.create_steps([added], reference, settings)
    # the views reading a view QA drops are dropped before it and made again after it
    readers, theirs, ours = dependents.rebuilt_readers(c.target, qa_catalog, qa, reference)
    return [
        *(s for r in readers for s in ent.drop_steps(r, qa)),
        *ent.drop_steps(c.target, qa),
        *ent.create_steps([c.source, *theirs], reference, settings),
        *ent.create_steps(ours, qa, settings),
    ]


def _runs_also(
    c: ent.EntryChange, more: Entry, reference: Archive, settings: list[str]
) -> Difference:
    return replace(
        ent.describe(c),
        refused=None,
        detail=f"production also runs: {' '.join(more.sql.split())[:200]}",
        migrate="copies rows regardless; schema push runs the same statements",
        fix=tuple(ent.create_steps([more], reference, settings)),
    )


def _later_statements(target: Entry, source: Entry) -> Entry | None:
    """The statements after *source*'s first (its CREATE) that *target* lacks."""
    theirs = set(_statements(target.sql))
    parts = [p for p in source.sql.split(";\n") if p.strip()][1:]
    rest = [p.strip().rstrip(";") for p in parts if " ".join(p.split()).rstrip(";") not in theirs]
    if not rest:
        return None
    return replace(source, sql=";\n".join(rest) + ";")


def _statements(text: str) -> list[str]:
    return [" ".join(p.split()).rstrip(";") for p in text.split(";\n") if p.strip()]


def _added(target: Entry, source: Entry) -> Entry | None:
    """*source* less the statements *target* has already, when those come first."""
    theirs, ours = _statements(target.sql), _statements(source.sql)
    if len(ours) <= len(theirs) or ours[: len(theirs)] != theirs:
        return None
    rest = source.sql.split(";\n")[len(theirs) :]
    return replace(source, sql=";\n".join(rest).strip())


def _or_replace(e: Entry) -> Entry:
    for word in ("FUNCTION", "PROCEDURE"):
        head = f"CREATE {word} "
        if e.sql.startswith(head):
            return replace(e, sql=f"CREATE OR REPLACE {word} " + e.sql[len(head) :])
    return e
