"""Rolling QA back: :func:`rollback`, on the backups :mod:`pgferry.safety.backup` made.

From a database copy (a template backup, or the database a swap replaced) or
from a dump archive, into a new database renamed into place in one
transaction; or, for a dump when the role may not create databases, in place,
in one transaction.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psycopg import sql

from .. import clienttools, queries, runlock
from ..endpoints import Endpoint, connect, mask
from ..errors import PgferryError, PrivilegeError, translating
from ..protect import refuse_protected
from . import databases
from .backup import (
    DEFAULT_FOLDER,
    Backup,
    BackupError,
    BackupMethod,
    RollbackResult,
    Say,
    client_env,
    find,
    run_tool,
    suitable_tool,
)
from .databases import Conn, DatabaseInfo

_ALONE = "rollback replaces the whole database, which needs it alone for a moment"


def _switch(conn: Conn, db: DatabaseInfo, incoming: str, force: bool) -> list[str]:
    """Rename *incoming* into QA's place in one transaction, then drop the replaced QA."""
    replaced = databases.derived_name(db.name, "__pgferry_replaced")
    databases.drop(conn, replaced)
    try:
        missed = databases.carry_properties(conn, db.name, incoming)
        databases.rename_all(
            conn, [(db.name, replaced), (incoming, db.name)], force=force, why=_ALONE
        )
    except BaseException:
        databases.drop(conn, incoming, force=True)
        raise
    databases.drop(conn, replaced, force=True)
    return missed


def _incoming(conn: Conn, db: DatabaseInfo) -> str:
    name = databases.derived_name(db.name, "__pgferry_incoming")
    databases.drop(conn, name, force=True)  # left by an interrupted rollback
    return name


def from_copy(conn: Conn, db: DatabaseInfo, item: Backup, force: bool) -> tuple[str, list[str]]:
    if not db.can_copy:
        raise PrivilegeError(
            f"rolling back to a database copy needs CREATEDB: {db.why_not_copy}",
            hint=f"ALTER ROLE {db.role} CREATEDB, or run pgferry rollback as QA's owner",
        )
    databases.clear_sessions(conn, db.name, force=force, why=_ALONE)  # fail before copying
    incoming = _incoming(conn, db)
    databases.create_copy(conn, incoming, item.location, owner=_owner(db))
    missed = _switch(conn, db, incoming, force)
    return f"re-created from database {item.location} (kept)", missed


def _owner(db: DatabaseInfo) -> str | None:
    return db.owner if db.owner != db.role else None


def _restore_tool(db: DatabaseInfo, item: Backup) -> clienttools.Tool:
    """A pg_restore for QA's server that also reads the archive: at least as new as the
    pg_dump that wrote it (an older one stops at "unsupported version in file header")."""
    need = max(db.server_major, _archive_major(item))
    tool = suitable_tool("pg_restore", need)
    if tool is None:
        raise BackupError(
            f"no pg_restore {need} or newer found for backup {item.name} "
            f"(QA's PostgreSQL {db.server_major}, archive from pg_dump {_archive_major(item)})",
            hint=clienttools.install_hint("pg_restore", need),
        )
    return tool


def _archive_major(item: Backup) -> int:
    """The major version of the pg_dump that wrote a dump backup (0 when unknown)."""
    try:
        sidecar = json.loads((Path(item.location) / "backup.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    m = re.search(r"\((\d+)\.\d+\)\s*$", str(sidecar.get("tool", "")))
    return int(m.group(1)) if m else 0


def from_dump_new(
    conn: Conn, endpoint: Endpoint, db: DatabaseInfo, item: Backup, force: bool, jobs: int
) -> tuple[str, list[str]]:
    tool = _restore_tool(db, item)
    databases.clear_sessions(conn, db.name, force=force, why=_ALONE)
    incoming = _incoming(conn, db)
    databases.create_empty(conn, incoming, db)
    dsn, env = client_env(endpoint, incoming)
    archive = str(Path(item.location) / "archive")
    try:
        run_tool(
            [str(tool.path), "--exit-on-error", "-j", str(max(1, jobs)), "-d", dsn, archive],
            env,
            f"pg_restore of backup {item.name}",
        )
    except BaseException:
        databases.drop(conn, incoming, force=True)
        raise
    missed = _switch(conn, db, incoming, force)
    return f"restored from {item.location} into a new database, renamed into place", missed


def from_dump_in_place(endpoint: Endpoint, db: DatabaseInfo, item: Backup) -> str:
    """Restore over QA itself (no CREATEDB): in ONE transaction, drop what was created
    after the backup, then replay the archive (``pg_restore --clean`` as a script, fed
    to psql).  The transaction commits only when pg_restore has written the whole
    script: a failure anywhere leaves QA as it was."""
    tool = _restore_tool(db, item)
    psql = tool.path.with_name("psql")
    if not psql.is_file():
        found = suitable_tool("psql", tool.major)
        if found is None:
            raise BackupError(
                f"no psql {tool.major} or newer beside {tool.label}",
                hint=clienttools.install_hint("psql", tool.major),
            )
        psql = found.path
    sidecar = json.loads((Path(item.location) / "backup.json").read_text(encoding="utf-8"))
    kept = {tuple(r) for r in sidecar.get("relations", [])}
    with connect(endpoint, autocommit=True) as conn:
        drops = [
            _drop_added(str(kind), str(schema), None if name is None else str(name)).as_string(conn)
            for kind, schema, name in conn.execute(queries.load("user_relations")).fetchall()
            if not ((kind, schema, name) in kept or (kind == "schema" and schema == "public"))
        ]
    dsn, env = client_env(endpoint, db.name)
    archive = str(Path(item.location) / "archive")
    with tempfile.TemporaryFile() as psql_err, tempfile.TemporaryFile() as restore_err:
        replay = subprocess.Popen(
            [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
            env=env,
        )
        assert replay.stdin is not None
        try:
            replay.stdin.write(("BEGIN;\n" + "".join(d + ";\n" for d in drops)).encode())
            replay.stdin.flush()
            script = subprocess.run(
                [str(tool.path), "--clean", "--if-exists", "-f", "-", archive],
                stdout=replay.stdin,
                stderr=restore_err,
                env=env,
                check=False,
            )
            # COMMIT only after the whole script; without it psql's end rolls back
            if script.returncode == 0:
                replay.stdin.write(b"COMMIT;\n")
        except BrokenPipeError:  # psql stopped on an error: its message says which
            script = None
        finally:
            with contextlib.suppress(BrokenPipeError):
                replay.stdin.close()
            replay.wait()
        if script is None or script.returncode != 0 or replay.returncode != 0:
            raise _replay_failed(item, db, psql_err, restore_err, script)
    return f"restored in place from {item.location} (drops and pg_restore in one transaction)"


def _replay_failed(
    item: Backup,
    db: DatabaseInfo,
    psql_err: Any,
    restore_err: Any,
    script: subprocess.CompletedProcess[bytes] | None,
) -> PgferryError:
    def first_lines(f: Any) -> str:
        f.seek(0)
        lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
        return "; ".join(lines[:3])

    said = first_lines(psql_err) if script is None or script.returncode == 0 else ""
    said = said or first_lines(restore_err) or first_lines(psql_err) or "no message"
    cls: type[PgferryError] = PrivilegeError if "permission denied" in said else BackupError
    return cls(
        f"restoring backup {item.name} into {db.name} failed, QA is as it was: {mask(said)}",
        hint="run the rollback as QA's owner or a superuser"
        if cls is PrivilegeError
        else "check the backup folder is complete (pgferry backups), then roll back again",
    )


_DROP = {
    "schema": "SCHEMA",
    "r": "TABLE",
    "p": "TABLE",
    "f": "FOREIGN TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "S": "SEQUENCE",
}


def _drop_added(kind: str, schema: str, name: str | None) -> sql.Composed:
    """DROP what was created after the backup (the restore would leave it)."""
    target = sql.Identifier(schema) if name is None else sql.Identifier(schema, name)
    return sql.SQL("DROP {} IF EXISTS {} CASCADE").format(sql.SQL(_DROP[kind]), target)


@translating()
def rollback(
    endpoint: Endpoint,
    backup_name: str | None = None,
    *,
    force: bool = False,
    folder: Path | None = None,
    jobs: int = 2,
    say: Say | None = None,
    protected: Sequence[str] = (),
) -> RollbackResult:
    """Bring QA back to *backup_name* (default: the newest backup).  A target matching a
    *protected* pattern (``[target] protected``) is refused, as ``migrate`` refuses it."""
    started = time.monotonic()
    refuse_protected(endpoint, endpoint.dbname, protected)
    folder = folder or DEFAULT_FOLDER
    item = find(endpoint, backup_name, folder)
    if say:
        say(f"rolling {endpoint.dbname} back to backup {item.name} ({item.method})")
    with runlock.held(endpoint, "rollback"), databases.maintenance_session(endpoint) as conn:
        db = databases.info(conn, endpoint.dbname)
        if item.method != BackupMethod.DUMP:
            how, missed = from_copy(conn, db, item, force)
        elif db.can_copy:
            how, missed = from_dump_new(conn, endpoint, db, item, force, jobs)
        else:
            how, missed = from_dump_in_place(endpoint, db, item), []
    return RollbackResult(item, db.name, how, time.monotonic() - started, tuple(missed))


__all__ = ["rollback"]
