"""Backups of QA and rollbacks to them.

Two methods, the fastest the server allows:

* **template**: ``CREATE DATABASE <qa>__pgferry_<name> TEMPLATE <qa>``, a
  file-level copy made by the server in seconds.  Needs superuser, or CREATEDB
  and ownership of QA, and QA without other sessions for that moment
  (``force`` ends them).  The copy is tagged with a JSON comment so
  :func:`list_backups` finds it with its time, size and method.
* **dump**: a ``pg_dump -Fd -j N`` archive, made by a pg_dump at least as new
  as QA's server, in a folder (``./pgferry-backups/`` by default) with a JSON
  sidecar.  Needs only read access.

:func:`rollback` brings QA back exactly (data, schema, sequence states): it
builds the backup's state in a new database and renames it into place in one
transaction (QA is never half restored), or, for a dump when the role may not
create databases, restores in place in one transaction: the drops of what was
added since the backup, then the archive replayed as a script.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo as pgconninfo

from .. import clienttools, defaults, queries
from ..endpoints import Endpoint, connect, mask
from ..errors import BackupError as BackupError  # defined in pgferry.errors, kept here too
from ..errors import ConfigError, PgferryError, PrivilegeError, first_line, translating
from ..protect import refuse_protected
from . import databases
from .databases import Conn, DatabaseInfo

DEFAULT_FOLDER = defaults.BACKUP_FOLDER
DEFAULT_KEEP = defaults.BACKUP_KEEP


class BackupMethod(StrEnum):
    """How a backup is taken (the first three may be asked for), as listed and in JSON."""

    AUTO = "auto"  # asked for: template when the server allows, else dump
    TEMPLATE = "template"  # a server-side copy of QA (CREATEDB, QA alone for a moment)
    DUMP = "dump"  # a pg_dump archive in a folder
    SWAP = "swap"  # the database a --strategy swap replaced (never asked for)
    #: a database named like a backup but never tagged: its backup was interrupted
    INCOMPLETE = "incomplete"


#: The methods that may be asked for (``--method``, ``[backup] method``).
METHODS = defaults.BACKUP_METHODS
#: A database named like a backup but never tagged: its backup was interrupted.
INCOMPLETE = BackupMethod.INCOMPLETE
_UNTAGGED_SWAP = "the database a swap replaced (the swap stopped before tagging it)"
_INCOMPLETE_WHY = "interrupted before it was finished: not a usable backup (retention removes it)"
#: Databases a rollback or swap works in while it runs: never listed.
_WORKING = ("incoming", "replaced", "next")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")

Say = Callable[[str], None]


@dataclass(frozen=True)
class Backup:
    """A backup of a QA database: a template copy on its server, or a pg_dump archive."""

    name: str
    method: BackupMethod | str  # a BackupMethod; a plain string is accepted
    database: str  # the QA database it is a copy of
    created: str  # ISO 8601, UTC
    size: int
    location: str  # a database on QA's server, or a folder
    server: str  # host:port of QA's server
    reason: str = ""  # why this method was chosen

    @property
    def rollback_command(self) -> str:
        return f"pgferry rollback --db <QA URL> --backup {self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "database": self.database,
            "created": self.created,
            "size": self.size,
            "location": self.location,
            "server": self.server,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RollbackResult:
    backup: Backup
    database: str
    how: str
    seconds: float
    #: database-level settings or grants this role could not carry over to the new QA
    not_carried: tuple[str, ...] = ()


def server_key(endpoint: Endpoint) -> str:
    p = endpoint.params()
    return f"{p.get('host') or p.get('hostaddr') or 'local socket'}:{p.get('port') or '5432'}"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def default_name() -> str:
    return time.strftime("%Y%m%d_%H%M%S", time.gmtime())


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(
            f"backup name {name!r} is not usable",
            hint="use 1 to 40 letters, digits, '_', '.' or '-'",
        )
    return name


def template_name(dbname: str, name: str) -> str:
    return databases.derived_name(dbname, f"__pgferry_{name}")


# -- taking ----------------------------------------------------------------------


@translating()
def backup(
    endpoint: Endpoint,
    name: str | None = None,
    *,
    method: BackupMethod | str = defaults.BACKUP_METHOD,
    force: bool = False,
    folder: Path | None = None,
    keep: int | None = DEFAULT_KEEP,
    jobs: int = 2,
    say: Say | None = None,
    protected: Sequence[str] = (),
) -> Backup:
    """Back QA (*endpoint*) up by *method* and keep the newest *keep* backups.  A target
    matching a *protected* pattern (``[target] protected``) is refused before anything
    is written, as ``migrate`` refuses it."""
    refuse_protected(endpoint, endpoint.dbname, protected)
    if method not in METHODS:
        raise ConfigError(f"unknown backup method {method!r}", hint="auto, template or dump")
    given = name
    name = _check_name(name or default_name())
    folder = folder or DEFAULT_FOLDER
    with databases.maintenance_session(endpoint) as conn:
        db = databases.info(conn, endpoint.dbname)
        listed = _listed(conn, endpoint, folder)
        # an interrupted backup is listed by its database's name, not the backup's: a
        # name is taken when its database or dump folder exists, complete or not
        taken = {b.name for b in listed} | {b.location for b in listed}

        def used(candidate: str) -> bool:
            return (
                candidate in taken
                or template_name(db.name, candidate) in taken
                or (folder / f"{db.name}__{candidate}").exists()
            )

        if given is None:  # two runs in one second: a suffix, not an error
            base, n = name, 1
            while used(name):
                n += 1
                name = f"{base}_{n}"
        if used(name):
            raise ConfigError(
                f"a backup named {name!r} of {db.name} exists already",
                hint="pick another --name, or leave it out for a timestamp",
            )
        chosen, reason = choose_method(conn, db, method, force)
        if say:
            say(f"backup {name}: {chosen} ({reason})")
        if chosen is BackupMethod.TEMPLATE:
            made = _by_template(conn, endpoint, db, name, force, reason)
        else:
            made = _by_dump(endpoint, db, name, folder, jobs, reason)
        if keep:
            for old in prune(conn, endpoint, folder, keep, spare=made.name, say=say):
                if say:
                    say(f"retention: removed backup {old.name} ({old.method})")
    return made


def choose_method(
    conn: Conn,
    db: DatabaseInfo,
    method: BackupMethod | str,
    force: bool,
    ignore: Sequence[int] = (),
) -> tuple[BackupMethod, str]:
    """(method, why) for *method* (``auto`` picks), or an error saying what is missing.
    Sessions in *ignore* (the caller's own) do not count."""
    if method == BackupMethod.TEMPLATE:
        if not db.can_copy:
            raise PrivilegeError(
                f"a template backup needs CREATEDB: {db.why_not_copy}",
                hint=f"ALTER ROLE {db.role} CREATEDB (and make it QA's owner), or use "
                "--method dump",
            )
        return BackupMethod.TEMPLATE, "asked for"
    if method == BackupMethod.DUMP:
        _dump_tool(db)
        return BackupMethod.DUMP, "asked for"
    if db.can_copy:
        others = databases.sessions(conn, db.name, ignore)
        if not others or force:
            return BackupMethod.TEMPLATE, "the role may copy QA and no other session is on it"
        if suitable_tool("pg_dump", db.server_major) is not None:
            return BackupMethod.DUMP, (
                f"{len(others)} other session(s) on QA and a template copy needs it alone "
                "(--force would end them)"
            )
        return BackupMethod.TEMPLATE, "no suitable pg_dump; a template copy needs QA alone"
    if suitable_tool("pg_dump", db.server_major) is None:
        raise BackupError(
            f"cannot back up {db.name}: {db.why_not_copy} (needed for a template copy) and "
            f"no pg_dump {db.server_major} or newer is installed",
            hint=f"ALTER ROLE {db.role} CREATEDB, or "
            + clienttools.install_hint("pg_dump", db.server_major)
            + "; pgferry migrate --no-backup runs without one",
        )
    return BackupMethod.DUMP, f"{db.why_not_copy}, so no template copy"


def _by_template(
    conn: Conn, endpoint: Endpoint, db: DatabaseInfo, name: str, force: bool, reason: str
) -> Backup:
    copy = template_name(db.name, name)
    created = now()
    databases.create_copy(
        conn,
        copy,
        db.name,
        force=force,
        why="a template copy needs QA to itself for a moment",
        size=db.size,
    )
    return tag_copy(
        conn,
        endpoint,
        copy,
        of=db.name,
        name=name,
        method=BackupMethod.TEMPLATE,
        reason=reason,
        created=created,
    )


def tag_copy(
    conn: Conn,
    endpoint: Endpoint,
    copy: str,
    *,
    of: str,
    name: str,
    method: BackupMethod | str,
    reason: str,
    created: str | None = None,
) -> Backup:
    """Tag database *copy* as a backup of *of* (``method`` template, or swap: the
    database a swap replaced), so ``pgferry backups`` lists it; return its record."""
    created = created or now()
    method = _method(method)
    kind = "swap" if method == BackupMethod.SWAP else "backup"
    meta = {"kind": kind, "of": of, "name": name, "method": str(method)}
    databases.tag(conn, copy, {**meta, "created": created, "reason": reason})
    size = databases.info(conn, copy).size
    return Backup(name, method, of, created, size, copy, server_key(endpoint), reason)


def suitable_tool(name: str, server_major: int) -> clienttools.Tool | None:
    """The *name* closest to the server's version among those at least as new: a newer
    pg_restore sends settings an older server rejects (``SET transaction_timeout``)."""
    usable = [t for t in clienttools.find_tools(name) if t.major >= server_major]
    return min(usable, key=lambda t: (t.major, -t.version[1]), default=None)


def _dump_tool(db: DatabaseInfo, name: str = "pg_dump") -> clienttools.Tool:
    tool = suitable_tool(name, db.server_major)
    if tool is None:
        raise BackupError(
            f"no {name} {db.server_major} or newer found for QA's PostgreSQL {db.server_major}",
            hint=clienttools.install_hint(name, db.server_major),
        )
    return tool


def client_env(endpoint: Endpoint, dbname: str) -> tuple[str, dict[str, str]]:
    """A connection string without the password, and an environment that carries it."""
    params = pgconninfo.conninfo_to_dict(endpoint.conninfo)
    password = params.pop("password", None)
    params["dbname"] = dbname
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    env.setdefault("PGAPPNAME", "pgferry backup")
    return pgconninfo.make_conninfo("", **params), env


def run_tool(args: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        shown = "; ".join(lines[:3]) or f"exit {proc.returncode}"
        raise BackupError(f"{what} failed: {mask(shown)}", hint=f"ran {Path(args[0]).name}")


def _by_dump(
    endpoint: Endpoint, db: DatabaseInfo, name: str, folder: Path, jobs: int, reason: str
) -> Backup:
    tool = _dump_tool(db)
    home = folder / f"{db.name}__{name}"
    try:
        home.mkdir(parents=True, exist_ok=False)
    except FileExistsError:  # the same name for a database of that name on another server
        raise BackupError(
            f"the backup folder {home} exists already",
            hint="pick another --name, or another backup folder ([backup] folder)",
        ) from None
    except OSError as exc:
        raise BackupError(
            f"cannot create the backup folder {home}: {exc.strerror}",
            hint="pick a writable backup folder ([backup] folder)",
        ) from None
    created = now()
    dsn, env = client_env(endpoint, db.name)
    try:
        with connect(endpoint, autocommit=True) as conn:
            relations = [list(r) for r in conn.execute(queries.load("user_relations"))]
        run_tool(
            [
                str(tool.path),
                "-Fd",
                "-j",
                str(max(1, jobs)),
                "-f",
                str(home / "archive"),
                "-d",
                dsn,
            ],
            env,
            f"pg_dump of {db.name}",
        )
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in (home / "archive").rglob("*") if p.is_file())
    made = Backup(
        name,
        BackupMethod.DUMP,
        db.name,
        created,
        size,
        str(home.resolve()),
        server_key(endpoint),
        reason,
    )
    sidecar = {
        **made.to_dict(),
        "pgferry": 1,
        "tool": tool.label,
        "owner": db.owner,
        "relations": relations,
    }
    (home / "backup.json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return made


# -- listing and retention --------------------------------------------------------


def _in_folder(endpoint: Endpoint, folder: Path) -> Iterable[tuple[Backup, dict[str, Any]]]:
    if not folder.is_dir():
        return
    server, dbname = server_key(endpoint), endpoint.dbname
    for sidecar in sorted(folder.glob("*/backup.json")):
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("database") != dbname or data.get("server") != server:
            continue
        yield (
            Backup(
                str(data["name"]),
                BackupMethod.DUMP,
                dbname,
                str(data["created"]),
                int(data.get("size", 0)),
                str(sidecar.parent.resolve()),
                server,
                str(data.get("reason", "")),
            ),
            data,
        )


#: Said of a backup database whose size this role may not read (no CONNECT on it).
_SIZE_UNKNOWN = "size unknown: this role may not connect to it"


def _noted(reason: str, size: int | None) -> str:
    return reason if size is not None else "; ".join(r for r in (reason, _SIZE_UNKNOWN) if r)


def _method(value: object) -> BackupMethod | str:
    """A tag's method: a :class:`BackupMethod`, or its text as written when not one."""
    try:
        return BackupMethod(str(value))
    except ValueError:
        return str(value)


def _listed(conn: Conn, endpoint: Endpoint, folder: Path) -> list[Backup]:
    dbname, server = endpoint.dbname, server_key(endpoint)
    found = [
        Backup(
            str(meta.get("name", name)),
            _method(meta.get("method", BackupMethod.TEMPLATE)),
            dbname,
            str(meta.get("created", "")),
            size or 0,
            name,
            server,
            _noted(str(meta.get("reason", "")), size),
        )
        for name, meta, size in databases.tagged(conn)
        if meta.get("of") == dbname and meta.get("kind") in ("backup", "swap")
    ]
    found += [b for b, _ in _in_folder(endpoint, folder)]
    working = {databases.derived_name(dbname, f"__pgferry_{w}") for w in _WORKING}
    for name, size in databases.untagged(conn, dbname, "__pgferry_"):
        if name in working:
            continue
        if "__pgferry_old_" in name:  # a swap stopped between its rename and its tag: the
            # only copy of QA from before it, so a usable backup, never a leftover
            why = _noted(_UNTAGGED_SWAP, size)
            found.append(Backup(name, BackupMethod.SWAP, dbname, "", size or 0, name, server, why))
        else:
            why = _noted(_INCOMPLETE_WHY, size)
            found.append(Backup(name, INCOMPLETE, dbname, "", size or 0, name, server, why))
    return sorted(found, key=lambda b: (b.created, b.name))


@translating()
def list_backups(endpoint: Endpoint, folder: Path | None = None) -> list[Backup]:
    """Every backup of QA (*endpoint*'s database), oldest first."""
    with databases.maintenance_session(endpoint) as conn:
        return _listed(conn, endpoint, folder or DEFAULT_FOLDER)


def remove(conn: Conn, item: Backup) -> None:
    if item.method == BackupMethod.DUMP:
        shutil.rmtree(item.location, ignore_errors=True)
    else:
        databases.drop(conn, item.location)


@translating()
def prune(
    conn: Conn,
    endpoint: Endpoint,
    folder: Path,
    keep: int,
    *,
    spare: str | None = None,
    say: Callable[[str], None] | None = None,
) -> list[Backup]:
    """Remove all but the newest *keep* backups of QA; return the removed ones.

    *spare* (the backup just taken) counts towards *keep* and is never removed,
    whatever the clocks say.  Retention is best effort: a backup that cannot be
    removed (someone is connected to it) is left, said through *say*, and never
    fails the run that took a new one.
    """
    listed = [b for b in _listed(conn, endpoint, folder) if b.name != spare]
    room = keep - (1 if spare else 0)
    old = listed[: max(0, len(listed) - room)]
    removed: list[Backup] = []
    for item in old:
        try:
            remove(conn, item)
        except (PgferryError, psycopg.Error, OSError) as exc:
            if say:
                first = first_line(exc)
                say(f"retention: backup {item.name} left in place: {first}")
            continue
        removed.append(item)
    return removed


# -- rolling back ----------------------------------------------------------------


@translating()
def find(endpoint: Endpoint, name: str | None, folder: Path | None = None) -> Backup:
    """The backup called *name* (or at *name*), or the newest usable one."""
    usable = [b for b in list_backups(endpoint, folder) if b.method != INCOMPLETE]
    if not usable:
        raise BackupError(
            f"no backup of {endpoint.dbname} found on {server_key(endpoint)} or in "
            f"{folder or DEFAULT_FOLDER}/",
            hint="pgferry backup takes one; pgferry migrate takes one unless --no-backup",
        )
    if name is None:
        return usable[-1]
    for item in usable:
        if name in (item.name, item.location):
            return item
    raise BackupError(
        f"no backup named {name!r} of {endpoint.dbname}",
        hint="pgferry backups lists them: " + ", ".join(b.name for b in usable[-5:]),
    )


__all__ = [
    "Backup",
    "BackupError",
    "BackupMethod",
    "RollbackResult",
    "backup",
    "list_backups",
]
