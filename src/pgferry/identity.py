"""Which cluster and database a session is on, to refuse a target that is the source.

Lower in the flow than the snapshot (:mod:`pgferry.refresh.snapshot`): ``schema diff`` and
``push``, ``verify`` and ``migrate`` all check it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import psycopg

from . import queries
from .endpoints import Endpoint
from .errors import RefusedError


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


__all__ = ["ServerIdentity", "refuse_same_database", "server_identity"]
