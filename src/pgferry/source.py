"""Production, read at one instant and never written to.

:class:`Snapshot` holds a ``REPEATABLE READ, READ ONLY`` transaction on the
source and exports its snapshot; every worker connection imports it, so all
tables are read at the same moment even while production keeps writing.
Nothing is created on the source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from . import queries
from .catalog import Catalog, Name, read_catalog
from .endpoints import Endpoint, connect
from .errors import RefusedError
from .sequences import read_positions


class Snapshot:
    """An open, exported snapshot of the source database."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.conn = connect(endpoint, read_only=True, application_name="pgferry source")
        try:
            self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            row = self.conn.execute("SELECT pg_catalog.pg_export_snapshot()").fetchone()
            assert row is not None
            self.snapshot_id = str(row[0])
        except BaseException:
            self.conn.close()
            raise

    def catalog(self) -> Catalog:
        return read_catalog(self.conn)

    def sequence_positions(self, catalog: Catalog) -> dict[Name, int]:
        return read_positions(self.conn, catalog)

    def rls_filtered(self, tables: Sequence[Name]) -> list[Name]:
        """The *tables* row-level security would filter for this role: reading them fails."""
        if not tables:
            return []
        rows = self.conn.execute(
            queries.load("rls_active"), ([t.schema for t in tables], [t.name for t in tables])
        ).fetchall()
        return [Name(str(r[0]), str(r[1])) for r in rows]

    def identity(self) -> ServerIdentity:
        return server_identity(self.conn)

    @contextmanager
    def worker(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection whose transaction reads the same snapshot."""
        conn = connect(self.endpoint, read_only=True, application_name="pgferry source worker")
        try:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.execute(
                sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(self.snapshot_id))
            )
            yield conn
        finally:
            conn.close()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ServerIdentity(NamedTuple):
    """Which cluster and database a session is on (see :func:`server_identity`)."""

    system_identifier: int | None  # None where the role may not call pg_control_system()
    database: str
    database_oid: int
    started_us: int  # the postmaster's start, microseconds since the epoch

    def same_as(self, other: ServerIdentity) -> bool:
        """The same database: by the system identifier where both sides could read it,
        else by the postmaster's start (to the microsecond) and the database's OID."""
        if (self.database, self.database_oid) != (other.database, other.database_oid):
            return False
        if self.system_identifier is not None and other.system_identifier is not None:
            return self.system_identifier == other.system_identifier
        return self.started_us == other.started_us


def server_identity(conn: psycopg.Connection[Any]) -> ServerIdentity:
    """Which cluster and database *conn* is on, for any role: the system identifier only
    where it may be read (a revoked ``pg_control_system()`` must not stop every run)."""
    row = conn.execute(queries.load("server_identity")).fetchone()
    assert row is not None
    may_read, database, oid, started = row
    system_identifier = None
    if may_read:
        got = conn.execute(queries.load("server_system_identifier")).fetchone()
        system_identifier = None if got is None else int(got[0])
    return ServerIdentity(system_identifier, str(database), int(oid), int(started))


def refuse_same_database(
    source_id: ServerIdentity, target_id: ServerIdentity, target: Endpoint
) -> None:
    """Refuse when the target is the source (see :meth:`ServerIdentity.same_as`)."""
    if source_id.same_as(target_id):
        raise RefusedError(
            f"the target {target.describe()} is the production database itself",
            hint="check --to / QA_DATABASE_URL: it points at production",
        )


def count_rows(
    conn: psycopg.Connection[Any], tables: Sequence[tuple[Name, bool]], batch: int = 100
) -> dict[Name, int]:
    """Exact row counts, a batch of tables per statement."""
    out: dict[Name, int] = {}
    for start in range(0, len(tables), batch):
        part = tables[start : start + batch]
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {i}::int, count(*) FROM {only}{t}").format(
                i=sql.Literal(i),
                only=sql.SQL("ONLY " if only else ""),
                t=name.ident,
            )
            for i, (name, only) in enumerate(part)
        )
        for i, n in conn.execute(query).fetchall():
            out[part[i][0]] = int(n)
    return out
