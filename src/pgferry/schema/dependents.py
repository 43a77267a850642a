"""The views that read a view QA must drop and create anew.

A view whose columns change cannot be replaced in place (``CREATE OR REPLACE VIEW``
only appends columns), and ``DROP VIEW`` refuses while another view reads it.  The views
that read it (and those that read them) are dropped first and made again after it, from
production's archive where production has them (QA's own definition otherwise), with
their comments, grants and indexes: pg_dump's view of the world, not ours.
"""

from __future__ import annotations

from ..catalog import Catalog, Name, RelKind
from .archive import Archive, Entry

#: pg_dump's kinds for a relation that other views can read
VIEW_KINDS = frozenset({"VIEW", "MATERIALIZED VIEW"})


def readers(catalog: Catalog) -> dict[Name, list[Name]]:
    """For each relation, the views and materialized views that read it directly."""
    out: dict[Name, list[Name]] = {}
    for r in catalog.tables:
        if r.kind in (RelKind.VIEW, RelKind.MATVIEW):
            for used in r.depends_on:
                if used != r.name:
                    out.setdefault(used, []).append(r.name)
    return out


def closure(start: Name, direct: dict[Name, list[Name]]) -> list[Name]:
    """Every view that reads *start*, directly or through other views (each once)."""
    seen: list[Name] = []
    todo = list(direct.get(start, []))
    while todo:
        n = todo.pop(0)
        if n not in seen and n != start:
            seen.append(n)
            todo += direct.get(n, [])
    return seen


def belonging(archive: Archive, name: Name) -> list[Entry]:
    """The entries that make relation *name* and what hangs on it (comments, grants,
    indexes, rules, triggers), in the archive's order."""
    bare = f"{name.schema}.{name.name}"
    out = []
    for e in archive.entries:
        if e.schema != name.schema:
            continue
        own = e.kind in VIEW_KINDS and e.name == name.name
        tagged = e.name in (f"VIEW {name.name}", f"MATERIALIZED VIEW {name.name}")
        tagged |= e.kind == "ACL" and e.name == f"TABLE {name.name}"
        hangs = e.kind != "TABLE" and (e.table or "").replace('"', "") == bare
        if own or tagged or hangs:
            out.append(e)
    return out


def relation_entry(archive: Archive, name: Name) -> Entry | None:
    return next(
        (e for e in archive.entries if e.kind in VIEW_KINDS and (e.schema, e.name) == name), None
    )


def rebuilt_readers(
    view: Entry, qa_catalog: Catalog | None, qa: Archive, reference: Archive
) -> tuple[list[Entry], list[Entry], list[Entry]]:
    """For a view QA drops: QA's entries of the views reading it (to drop), then what
    makes them again: production's entries where production has the view, QA's own
    entries for a view only QA has."""
    drops: list[Entry] = []
    theirs: list[Entry] = []
    ours: list[Entry] = []
    if qa_catalog is None or view.kind not in VIEW_KINDS:
        return drops, theirs, ours
    for n in closure(Name(view.schema, view.name), readers(qa_catalog)):
        mine = relation_entry(qa, n)
        if mine is None:
            continue
        drops.append(mine)
        if relation_entry(reference, n) is not None:
            theirs += belonging(reference, n)
        else:
            ours += belonging(qa, n)
    return drops, theirs, ours
