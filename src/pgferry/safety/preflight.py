"""The pre-migration checklist, as a command: a line per check, each ok, warn or fail.

Connections and versions, the client tools, production's read privileges and
row-level security, QA's write privileges, how QA will be backed up, schema
compatibility (from the plan), sizes (free disk space cannot be read from
SQL, and the line says so), sessions and long transactions on QA, and a run
time estimate.  :func:`gate` is the cheap part ``migrate`` runs before writing:
it raises the error of the first failing line.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import psycopg

from .. import clienttools, journal, queries
from ..catalog import Catalog, Name, read_catalog
from ..endpoints import Endpoint, connect
from ..errors import (
    ConfigError,
    ConnectionFailed,
    PgferryError,
    PrivilegeError,
    SchemaMismatch,
    SessionsOpen,
    translating,
)
from ..plan import Plan, build_plan, empty_selection
from ..schema import SchemaDiff, diff
from . import backup as backupmod
from . import databases

#: What the estimate assumes a refresh moves per second, counting tables with their
#: indexes: bench/migrate_bench.py moved 697 MB in 7.9 s (superuser) to 11.0 s (owner)
#: on two cores, 63 to 88 MB/s; 50 MB/s leaves room for a busier server.  An
#: assumption, not a measurement of yours.
ASSUMED_BYTES_PER_SECOND = 50 * 1024 * 1024

Conn = psycopg.Connection[Any]


class Mark(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    key: str
    mark: Mark
    title: str
    reason: str
    fix: str = ""
    error: type[PgferryError] = PgferryError

    def to_dict(self) -> dict[str, str]:
        return {
            "check": self.key,
            "mark": self.mark.value,
            "title": self.title,
            "reason": self.reason,
            "fix": self.fix,
        }


@dataclass
class PreflightReport:
    """Every check ``pgferry preflight`` ran, each with its mark (ok, warn, fail)."""

    source: str
    target: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.mark is Mark.FAIL]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "ok": self.ok,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class Scope:
    """What the refresh would do, as ``migrate``'s options say."""

    tables: Sequence[str] = ()
    exclude: Sequence[str] = ()
    schemas: Sequence[str] = ()
    backup: bool = True
    backup_method: backupmod.BackupMethod | str = backupmod.BackupMethod.AUTO
    strategy: str = "refresh"  # a pgferry.refresh.options.Strategy (not importable here)
    force: bool = False


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _names(names: Sequence[Name], limit: int = 5) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _connect(endpoint: Endpoint, title: str, read_only: bool) -> tuple[Conn | None, Check]:
    try:
        conn = connect(endpoint, read_only=read_only, autocommit=True, application_name="pgferry")
    except ConnectionFailed as exc:
        return None, Check(
            endpoint.role, Mark.FAIL, title, exc.message, exc.hint or "", ConnectionFailed
        )
    version = conn.info.parameter_status("server_version") or "?"
    return conn, Check(
        endpoint.role, Mark.OK, title, f"{endpoint.describe()}, PostgreSQL {version}"
    )


@translating()
def preflight(source: Endpoint, target: Endpoint, scope: Scope | None = None) -> PreflightReport:
    """Run the whole checklist."""
    return _run(source, target, scope or Scope(), full=True)


def gate(
    source: Endpoint, target: Endpoint, scope: Scope, ignore: Sequence[int] = ()
) -> PreflightReport:
    """The checks ``migrate`` runs before writing (privileges, backup, sessions): raise the
    first failing line's error.  Schema and row-level security are ``migrate``'s own
    refusals, which list every problem.  Sessions in *ignore* (the caller's) do not count."""
    report = _run(source, target, scope, full=False, ignore=ignore)
    if report.failed:
        first = report.failed[0]
        raise first.error(
            f"preflight: {first.title}: {first.reason}; nothing was written", hint=first.fix
        )
    return report


def _run(
    source: Endpoint, target: Endpoint, scope: Scope, *, full: bool, ignore: Sequence[int] = ()
) -> PreflightReport:
    report = PreflightReport(source.describe(), target.describe())
    with ExitStack() as stack:
        sconn, line = _connect(source, "production connection", read_only=True)
        report.checks.append(line)
        tconn, line = _connect(target, "QA connection", read_only=False)
        report.checks.append(line)
        for c in (sconn, tconn):
            if c is not None:
                stack.callback(c.close)
        if sconn is None or tconn is None:
            return report
        src_cat, dst_cat = read_catalog(sconn), read_catalog(tconn)
        plan = build_plan(
            src_cat, dst_cat, tables=scope.tables, exclude=scope.exclude, schemas=scope.schemas
        )
        empty = empty_selection(
            plan, src_cat, tables=scope.tables, exclude=scope.exclude, schemas=scope.schemas
        )
        if empty is not None:  # nothing else to check: the run would copy nothing
            report.checks.append(
                Check(
                    "selection",
                    Mark.FAIL,
                    "tables to copy",
                    empty.message,
                    empty.hint or "",
                    ConfigError,
                )
            )
            return report
        if full:
            report.checks.append(_qa_state(tconn))
            report.checks.append(_versions(src_cat, dst_cat))
            report.checks.append(_tools(src_cat, dst_cat))
        report.checks.append(_source_privileges(sconn, plan))
        if full:
            report.checks.append(_rls(sconn, plan, src_cat))
        report.checks.append(_target_privileges(tconn, plan, dst_cat))
        report.checks.append(_backup(target, scope, [tconn.info.backend_pid, *ignore]))
        if full:
            report.checks.append(_schema(plan, diff(src_cat, dst_cat, schemas=scope.schemas)))
            sizes = _sizes(sconn, plan)
            report.checks.append(_space(sconn, tconn, sizes, scope))
        report.checks.append(_sessions(tconn, dst_cat.database, scope, ignore))
        if full:
            report.checks.append(_estimate(plan, sizes))
    return report


def _qa_state(conn: Conn) -> Check:
    """Whether a pgferry load into QA did not finish: the next migrate completes it."""
    line = journal.mid_refresh(conn)
    if line is None:
        return Check("qa_state", Mark.OK, "QA state", "no unfinished pgferry load")
    return Check(
        "qa_state",
        Mark.WARN,
        "QA state",
        line.split("; ", 1)[0],
        "pgferry migrate finishes the refresh (or pgferry rollback returns to the backup)",
    )


def _versions(src: Catalog, dst: Catalog) -> Check:
    reason = f"production PostgreSQL {src.server_version}, QA {dst.server_version}"
    if dst.major_version < src.major_version:
        reason += " (QA older: fine for data; pgferry pins what differs)"
    return Check("versions", Mark.OK, "server versions", reason)


def _tools(src: Catalog, dst: Catalog) -> Check:
    for_source = backupmod.suitable_tool("pg_dump", src.major_version)
    for_qa = backupmod.suitable_tool("pg_dump", dst.major_version)
    parts = [
        f"pg_dump for production: {for_source.label if for_source else 'none'}",
        f"pg_dump/pg_restore for QA backups: {for_qa.label if for_qa else 'none'}",
    ]
    missing = [
        m for m, t in ((src.major_version, for_source), (dst.major_version, for_qa)) if not t
    ]
    if not missing:
        return Check("tools", Mark.OK, "client tools", "; ".join(parts))
    return Check(
        "tools",
        Mark.WARN,
        "client tools",
        "; ".join(parts) + " (migrate copies without them; schema push and dump backups need them)",
        clienttools.install_hint("pg_dump", max(missing)),
    )


def _source_privileges(conn: Conn, plan: Plan) -> Check:
    tables = [tp.source for tp in plan.tables]
    schemas = sorted({t.schema for t in tables})
    rows = conn.execute(
        queries.load("privileges_source"),
        ([t.schema for t in tables], [t.name for t in tables], schemas),
    ).fetchall()
    missing = [(str(k), Name(str(s), str(n))) for k, s, n in rows]
    title = "production read privileges"
    if not missing:
        return Check(
            "source_privileges",
            Mark.OK,
            title,
            f"SELECT on all {len(tables)} tables to copy and their schemas' sequences",
        )
    names = [n for _, n in missing]
    return Check(
        "source_privileges",
        Mark.FAIL,
        title,
        f"no SELECT on {_names(names)}",
        f"GRANT SELECT ON {names[0]} TO the production "
        "role (GRANT SELECT ON ALL TABLES/SEQUENCES IN SCHEMA ...), or --exclude them",
        PrivilegeError,
    )


def _rls(conn: Conn, plan: Plan, src: Catalog) -> Check:
    rls = [tp.source for tp in plan.tables if (t := src.table(tp.source)) and t.rls_enabled]
    filtered: list[Name] = []
    if rls:
        rows = conn.execute(
            queries.load("rls_active"), ([t.schema for t in rls], [t.name for t in rls])
        ).fetchall()
        filtered = [Name(str(r[0]), str(r[1])) for r in rows]
    title = "row-level security"
    if not filtered:
        why = f"{len(rls)} table(s) have RLS and role {src.role} bypasses it" if rls else "none"
        return Check("rls", Mark.OK, title, why)
    return Check(
        "rls",
        Mark.FAIL,
        title,
        f"RLS would hide rows of {_names(filtered)} from role {src.role}",
        f"ALTER ROLE {src.role} BYPASSRLS, read as the tables' owner, or --exclude them",
        PrivilegeError,
    )


def _target_privileges(conn: Conn, plan: Plan, dst: Catalog) -> Check:
    tables = list(plan.truncate)
    rows = conn.execute(
        queries.load("privileges_target"),
        ([t.schema for t in tables], [t.name for t in tables]),
    ).fetchall()
    problems: list[str] = []
    for schema, name, may_truncate, may_insert, owns, sets_aside in rows:
        lacking = [p for p, ok in (("TRUNCATE", may_truncate), ("INSERT", may_insert)) if not ok]
        if sets_aside and not owns:
            lacking.append("ownership (to set foreign keys and triggers aside)")
        if lacking:
            problems.append(f"{Name(schema, name)}: {', '.join(lacking)}")
    more = f" and {len(problems) - 3} more table(s)" if len(problems) > 3 else ""
    problems = problems[:3]
    if more:
        problems[-1] += more
    schemas = sorted({t.schema for t in tables})
    frozen = conn.execute(queries.load("sequences_not_updatable"), (schemas,)).fetchall()
    if frozen:
        seqs = [Name(str(s), str(n)) for s, n in frozen]
        problems.append(f"UPDATE on sequence(s) {_names(seqs, 3)} (setval)")
    problems += _qa_rls(conn, plan) + _create(conn)
    title = "QA write privileges"
    if not problems:
        return Check(
            "target_privileges",
            Mark.OK,
            title,
            f"role {dst.role}: TRUNCATE, INSERT on {len(tables)} tables, UPDATE on sequences, "
            "owns what it sets aside",
        )
    return Check(
        "target_privileges",
        Mark.FAIL,
        title,
        f"role {dst.role} lacks " + "; ".join(problems),
        "run as QA's owner (the role prisma migrate uses), or GRANT what is named "
        "(GRANT CREATE ON DATABASE ... TO the role; ALTER ROLE ... BYPASSRLS)",
        PrivilegeError,
    )


def _qa_rls(conn: Conn, plan: Plan) -> list[str]:
    """QA tables whose row-level security applies to this role: COPY into them fails (or
    would keep only the rows a policy lets in), after QA was emptied."""
    tables = [tp.target for tp in plan.tables]
    rows = conn.execute(
        queries.load("rls_active"), ([t.schema for t in tables], [t.name for t in tables])
    ).fetchall()
    if not rows:
        return []
    names = [Name(str(r[0]), str(r[1])) for r in rows]
    return [
        f"a way past row-level security on {_names(names, 3)} in QA (the load would be "
        "filtered): run as the tables' owner (without FORCE ROW LEVEL SECURITY) or a role "
        "with BYPASSRLS"
    ]


def _create(conn: Conn) -> list[str]:
    """CREATE on QA's database: a run creates the schema of its journal there."""
    row = conn.execute(queries.load("privileges_create")).fetchone()
    if row is None or row[0]:
        return []
    return [f"CREATE on database {row[2]} (for the pgferry schema that holds the run's journal)"]


def _backup(target: Endpoint, scope: Scope, own: Sequence[int]) -> Check:
    title = "backup of QA"
    needs_copy = scope.strategy == "swap"
    if not scope.backup and not needs_copy:
        return Check("backup", Mark.WARN, title, "off (--no-backup): no way back but a re-run")
    try:
        with databases.maintenance_session(target) as conn:
            db = databases.info(conn, target.dbname)
            if needs_copy:
                if not db.can_copy:
                    return Check(
                        "backup",
                        Mark.FAIL,
                        title,
                        f"--strategy swap builds a sibling database: {db.why_not_copy}",
                        f"ALTER ROLE {db.role} CREATEDB (and make it QA's owner), or run "
                        "without --strategy swap (QA is then refreshed in place, after a backup)",
                        PrivilegeError,
                    )
                return Check(
                    "backup", Mark.OK, title, "swap: the replaced database stays as the backup"
                )
            method, why = backupmod.choose_method(conn, db, scope.backup_method, scope.force, own)
    except PgferryError as exc:
        hint = exc.hint or ""
        if "--no-backup" not in hint:
            hint = (hint + "; or " if hint else "") + "pass --no-backup to migrate without one"
        # the same class, so the exit code says what is missing (5: a privilege)
        return Check("backup", Mark.FAIL, title, exc.message, hint, type(exc))
    return Check("backup", Mark.OK, title, f"{method}: {why}")


def _schema(plan: Plan, found: SchemaDiff) -> Check:
    """Blocking: what stops this migrate (the tables it copies); the rest of ``schema diff``
    is counted alongside."""
    title = "schema compatibility"
    rest = (
        f"; schema diff: {len(found.differences)} difference(s) in all, "
        f"{len(found.blocking)} blocking"
        if found
        else ""
    )
    if plan.blocking:
        shown = "; ".join(p.message for p in plan.blocking[:3])
        more = f" (and {len(plan.blocking) - 3} more)" if len(plan.blocking) > 3 else ""
        return Check(
            "schema",
            Mark.FAIL,
            title,
            f"{len(plan.blocking)} blocking difference(s): {shown}{more}{rest}",
            "pgferry schema push (--dry-run shows the SQL), or migrate --push-schema; "
            "pgferry schema diff lists every difference",
            SchemaMismatch,
        )
    if plan.warnings:
        return Check(
            "schema",
            Mark.WARN,
            title,
            f"{len(plan.tables)} tables fit; {len(plan.warnings)} difference(s) left alone: "
            + "; ".join(p.message for p in plan.warnings[:2])
            + rest,
        )
    return Check("schema", Mark.OK, title, f"{len(plan.tables)} tables fit{rest}")


def _sizes(conn: Conn, plan: Plan) -> tuple[int, int]:
    """(table data, with indexes) in bytes of the tables to copy, on production."""
    tables = [tp.source for tp in plan.tables]
    row = conn.execute(
        queries.load("table_sizes"), ([t.schema for t in tables], [t.name for t in tables])
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _space(sconn: Conn, tconn: Conn, sizes: tuple[int, int], scope: Scope) -> Check:
    def one(conn: Conn, q: str) -> int:
        row = conn.execute(q).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    prod = one(sconn, "SELECT pg_catalog.pg_database_size(current_database())")
    qa = one(tconn, "SELECT pg_catalog.pg_database_size(current_database())")
    spaces = tconn.execute(queries.load("tablespace_sizes")).fetchall()
    copy, with_indexes = sizes
    extra = ""
    if scope.strategy == "swap":
        extra = f" + about {_size(qa + with_indexes)} for the sibling database"
    elif scope.backup:
        extra = f" + up to {_size(qa)} for a backup of QA"
    shown = ", ".join(f"{n} {_size(s)}" for n, _, s in spaces if s is not None)
    return Check(
        "space",
        Mark.WARN,
        "disk space",
        f"free disk space cannot be known from SQL: the copy needs about {_size(copy)} of table "
        f"data ({_size(with_indexes)} with indexes){extra}; production is {_size(prod)}, "
        f"QA {_size(qa)} (tablespaces: {shown})",
        "check free space on QA's server (df) against these figures",
    )


def _sessions(conn: Conn, dbname: str, scope: Scope, ignore: Sequence[int]) -> Check:
    found = databases.sessions(conn, dbname, ignore)
    title = "sessions on QA"
    if not found:
        return Check("sessions", Mark.OK, title, "no other session")
    stuck = [s for s in found if s.state.startswith("idle in transaction")]
    long = [
        s for s in found if s.xact_seconds is not None and s.xact_seconds > 60 and s not in stuck
    ]
    listed = ", ".join(str(s) for s in found[:3])
    hidden = [s for s in found if s.hidden]
    if hidden:  # counted and named all the same; what this role cannot see is said
        listed += (
            f"; {len(hidden)} of other roles, whose state role {conn.info.user} may not see "
            "(pg_read_all_stats shows it)"
        )
    if stuck or long:
        shown = ", ".join(str(s) for s in (stuck + long)[:3])
        return Check(
            "sessions",
            Mark.FAIL,
            title,
            f"{len(stuck)} idle in transaction, {len(long)} in a transaction open over 60 s "
            f"({shown}): their locks would make TRUNCATE wait",
            "commit or end them (SELECT pg_terminate_backend(pid)); fix the app that leaves "
            "transactions open (--force does not end a transaction in progress: its work "
            "would be lost)",
            SessionsOpen,
        )
    template = scope.backup and scope.backup_method == backupmod.BackupMethod.TEMPLATE
    needs_alone = scope.strategy == "swap" or template
    unending = [s for s in found if not s.may_end]
    if needs_alone and scope.force and unending:
        shown = "; ".join(f"{s}: {s.why_not_end}" for s in unending[:3])
        return Check(
            "sessions",
            Mark.FAIL,
            title,
            f"{len(found)} other session(s) and --force may not end {len(unending)} ({shown})",
            "stop the app for a moment, or GRANT pg_signal_backend TO this role",
            PrivilegeError,
        )
    if needs_alone and not scope.force:
        what = "the swap renames QA" if scope.strategy == "swap" else "a template backup"
        return Check(
            "sessions",
            Mark.FAIL,
            title,
            f"{len(found)} other session(s) ({listed}) and {what}, which needs QA alone",
            "stop the app for a moment, or pass --force to end those sessions",
            SessionsOpen,
        )
    return Check(
        "sessions",
        Mark.WARN,
        title,
        f"{len(found)} other session(s) ({listed}): the app sees QA while it is refreshed",
        "stop the app during the refresh, or use --strategy swap",
    )


def _estimate(plan: Plan, sizes: tuple[int, int]) -> Check:
    moved = sizes[1]
    seconds = moved / ASSUMED_BYTES_PER_SECOND
    shown = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
    return Check(
        "estimate",
        Mark.OK,
        "run time",
        f"about {shown} to copy {len(plan.tables)} tables, {_size(moved)} with indexes "
        f"(assumes {_size(ASSUMED_BYTES_PER_SECOND)}/s, what bench/migrate_bench.py measured on "
        "two cores with room to spare; plus a backup)",
    )


__all__ = ["Check", "Mark", "PreflightReport", "Scope", "gate", "preflight"]
