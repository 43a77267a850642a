"""Production, read at one instant and never written to.

:class:`Snapshot` holds a ``REPEATABLE READ, READ ONLY`` transaction on the
source and exports its snapshot; every worker connection imports it, so all
tables are read at the same moment even while production keeps writing.
Nothing is created on the source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from .. import queries
from ..catalog import Catalog, Name, read_catalog
from ..endpoints import Endpoint, connect
from ..identity import ServerIdentity, server_identity
from ..sequences import read_positions


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
