"""Large objects: copied from production's snapshot with their OIDs, or counted.

A table's ``oid`` (or ``lo``) column holds only the number of a large object;
the data live in ``pg_largeobject``, outside every table.  ``migrate`` copies
*all* of production's large objects (which tables point at which object is
the application's business, and a rule "only the referenced ones" would miss
objects referenced from text, JSON or another database): QA's own are removed
first, as its tables are emptied, and each of production's is created again in
QA under the same OID, read in chunks from the same exported snapshot the
tables are read from.  QA's role owns them; production's owners and grants
are not copied (the roles differ between the servers).

Each object is written whole inside one transaction, a batch of objects per
commit: after a crash, an object is either complete in QA or absent, and the
next run removes them all and copies again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from . import queries
from .errors import PrivilegeError

#: Bytes read from production and written to QA per statement: a large object
#: never sits whole in memory.
CHUNK = 1024 * 1024
#: Objects removed per transaction (each removal takes a lock).
UNLINK_BATCH = 1000
#: Commit QA's transaction once it holds this many objects or bytes.
COMMIT_OBJECTS = 1000
COMMIT_BYTES = 64 * 1024 * 1024

_READ = "SELECT pg_catalog.lo_get(%s::oid, %s::bigint, %s::integer)"
_CREATE = "SELECT pg_catalog.lo_from_bytea(%s::oid, %s::bytea)"
_APPEND = "SELECT pg_catalog.lo_put(%s::oid, %s::bigint, %s::bytea)"


@dataclass(frozen=True)
class Copied:
    objects: int
    bytes: int


@dataclass
class Tally:
    """Large objects in a run: production's count (in the snapshot), QA's afterwards."""

    production: int
    #: whether they were copied (``--no-large-objects``: left behind, QA's left alone)
    copied: bool = True
    qa: int | None = None  # counted after the copy
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.copied or self.qa is None or self.qa == self.production

    def to_dict(self) -> dict[str, Any]:
        return {
            "production": self.production,
            "copied": self.copied,
            "qa": self.qa,
            "bytes": self.bytes,
            "left_behind": 0 if self.copied else self.production,
            "ok": self.ok,
        }


def count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(queries.load("largeobjects_count")).fetchone()
    assert row is not None
    return int(row[0])


def check_readable(conn: psycopg.Connection[Any]) -> None:
    """Raise :class:`PrivilegeError` naming a large object this role may not read.

    *conn* should be a session of its own (a snapshot worker): a failure aborts
    its transaction.
    """
    try:
        conn.execute(queries.load("largeobjects_unreadable"))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PrivilegeError(
            f"production: {(exc.diag.message_primary or str(exc)).strip()} "
            "(reading large objects needs SELECT on each)",
            hint="GRANT SELECT ON LARGE OBJECT <oid> TO this role (as their owner), run as "
            "their owner or a superuser, or pass --no-large-objects ([migrate] "
            "large_objects = false) to leave them behind",
        ) from None


def check_removable(conn: psycopg.Connection[Any]) -> None:
    """Raise :class:`PrivilegeError` when QA holds a large object this role cannot remove."""
    row = conn.execute(queries.load("largeobjects_not_owned")).fetchone()
    if row is not None:
        raise PrivilegeError(
            f"QA: large object {row[0]} belongs to {row[1]}, and only its owner can remove it "
            "(QA's large objects are replaced by production's)",
            hint=f"run as {row[1]} or a superuser, GRANT {row[1]} TO this role, or pass "
            "--no-large-objects ([migrate] large_objects = false) to leave them alone",
        )


def remove_all(conn: psycopg.Connection[Any]) -> int:
    """Remove every large object of *conn*'s database (autocommit: a batch per transaction)."""
    removed = 0
    while True:
        with conn.transaction():
            row = conn.execute(queries.load("largeobjects_unlink"), (UNLINK_BATCH,)).fetchone()
        n = int(row[0]) if row is not None else 0
        removed += n
        if n < UNLINK_BATCH:
            return removed


def copy_all(
    source: psycopg.Connection[Any],
    target: psycopg.Connection[Any],
    *,
    say: Callable[[str], None] | None = None,
) -> Copied:
    """Create each large object *source* sees in *target*, same OID, chunk by chunk.

    *source* reads the snapshot (a transaction that stays open); *target* must not
    be in autocommit mode: objects are committed in batches.
    """
    oids = [int(r[0]) for r in source.execute(queries.load("largeobjects_list")).fetchall()]
    total = pending_objects = pending_bytes = 0
    for oid in oids:
        offset = 0
        while True:
            row = source.execute(_READ, (oid, offset, CHUNK), binary=True).fetchone()
            data = bytes(row[0]) if row is not None and row[0] is not None else b""
            if offset == 0:
                target.execute(_CREATE, (oid, data))
            elif data:
                target.execute(_APPEND, (oid, offset, data))
            offset += len(data)
            if len(data) < CHUNK:
                break
        total += offset
        pending_objects += 1
        pending_bytes += offset
        if pending_objects >= COMMIT_OBJECTS or pending_bytes >= COMMIT_BYTES:
            target.commit()
            pending_objects = pending_bytes = 0
    target.commit()
    if say is not None:
        say(f"large objects: copied {len(oids)} ({total} bytes)")
    return Copied(len(oids), total)
