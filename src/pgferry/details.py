"""What pg_dump shows for each object a load sets aside, so that it comes back exactly.

``pg_get_indexdef`` and ``pg_get_constraintdef`` give an index's and a key's
definition, not what hangs on them: the index's tablespace, the table's
``CLUSTER ON`` it, the statistics targets of its expression columns, and the
comments on either.  pg_dump writes every one of them (an index's archive entry
holds its ``CLUSTER ON`` and ``SET STATISTICS``, its tablespace is the
``default_tablespace`` in force for it, comments are entries of their own), so
rather than deparse them itself pgferry dumps, before setting anything aside,
the schema of the tables concerned from QA (:mod:`pgferry.schema.archive`, the
same archive schema fidelity uses) and keeps for each object the statements
that recreate it.  They are journaled with it (:mod:`pgferry.journal`), so even
a killed run puts the object back whole.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path

from .catalog import Constraint, Index, Name
from .endpoints import Endpoint
from .schema import archive

#: Up to this many tables are named to pg_dump one by one; beyond, the whole schema is
#: dumped (one argument per table makes a long command line and a slow pattern match).
MAX_NAMED_TABLES = 300


def _bare(tag: str) -> str:
    """A tag without its quoting, to match pg_dump's tags whatever it quoted."""
    return tag.replace('"', "")


def read(
    target: Endpoint,
    server_major: int,
    indexes: Sequence[Index],
    foreign_keys: Sequence[Constraint],
    *,
    lock_wait: str | None = None,
) -> dict[tuple[Name, str], str]:
    """For each of *indexes* and *foreign_keys* (by table and name), the statements that
    give it back what pg_dump shows beyond its definition: an index's whole archive
    entry (in its tablespace) with its comment; a key's comment.  Objects without any
    are left out for keys; raises :class:`~pgferry.errors.DatabaseError` when QA cannot
    be dumped."""
    if not indexes and not foreign_keys:
        return {}
    tables: Collection[Name] = {ix.table for ix in indexes} | {fk.table for fk in foreign_keys}
    named = sorted(tables) if len(tables) <= MAX_NAMED_TABLES else []
    with tempfile.TemporaryDirectory(prefix="pgferry-aside-") as tmp:
        dumped = archive.dump(
            target,
            server_major,
            Path(tmp) / "qa.dump",
            tables=[(t.schema, t.name) for t in named],
            grants=False,
            tablespaces=True,
            lock_wait=lock_wait,
            label="QA",
        )
    comments = {(e.schema, _bare(e.name)): e.sql for e in dumped.entries if e.kind == "COMMENT"}
    out: dict[tuple[Name, str], str] = {}
    for ix in indexes:
        entry = dumped.by_key.get(("INDEX", ix.table.schema, ix.name))
        if entry is None:
            continue
        parts = [f"SET LOCAL {k} = {v};" for k, v in entry.settings if k == "default_tablespace"]
        parts.append(entry.sql)
        comment = comments.get((ix.table.schema, _bare(f"INDEX {ix.name}")))
        if comment:
            parts.append(comment)
        out[(ix.table, ix.name)] = "\n".join(parts)
    for fk in foreign_keys:
        tag = _bare(f"CONSTRAINT {fk.name} ON {fk.table.name}")
        if comment := comments.get((fk.table.schema, tag)):
            out[(fk.table, fk.name)] = comment
    return out
