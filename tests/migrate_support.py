"""Shared helpers for the ``pgferry migrate`` tests: fingerprints read with our own SQL.

Content is compared order-independently inside each server: an md5 over every
row's text form, sorted under the "C" collation, in sessions whose output
settings are pinned identically on both clusters, so PostgreSQL 18 and 15
format every value the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

import pgferry
from pgferry.migrate import MigrateOptions, MigrateReport, migrate
from tests.pgtest import Database

Conn = psycopg.Connection[Any]

#: Output settings for fingerprint sessions, the same on both servers.
OUTPUT_SETTINGS = {
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "TimeZone": "UTC",
    "extra_float_digits": "3",
    "bytea_output": "hex",
    "lc_monetary": "C",
    "search_path": "",
}

#: Every user relation that holds rows, by (schema, name), with its relkind.
_RELATIONS = """
SELECT n.nspname, c.relname, CASE WHEN c.relispopulated THEN c.relkind::text ELSE '-' END
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgferry')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY 1, 2
"""

_FOREIGN_KEYS = """
SELECT format('%I.%I', n.nspname, c.relname), con.conname, con.convalidated,
       pg_catalog.pg_get_constraintdef(con.oid)
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2
"""

_TRIGGERS = """
SELECT format('%I.%I', n.nspname, c.relname), t.tgname, t.tgenabled::text
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2
"""


def fingerprint_session(db: Database) -> Conn:
    """A superuser session with the output settings pinned (our own, not pgferry's)."""
    conn = db.connect()
    for name, value in OUTPUT_SETTINGS.items():
        conn.execute("SELECT pg_catalog.set_config(%s, %s, false)", (name, value))
    return conn


def relations(db: Database) -> dict[tuple[str, str], str]:
    """(schema, name) -> relkind of every relation holding rows ('-': not populated)."""
    return {(s, n): k for s, n, k in db.execute(_RELATIONS)}


def fingerprints(
    db: Database, tables: Iterable[tuple[str, str]] | None = None
) -> dict[tuple[str, str], tuple[int, str]]:
    """(schema, name) -> (rows, md5 of the sorted rows).

    A partitioned table is read with all its partitions (its own rows are its
    partitions'), anything else with ONLY, so inheritance children are not
    counted twice.
    """
    kinds = relations(db)
    wanted = sorted(kinds) if tables is None else sorted(tables)
    out: dict[tuple[str, str], tuple[int, str]] = {}
    with fingerprint_session(db) as conn:
        for schema, name in wanted:
            kind = kinds.get((schema, name))
            assert kind is not None, f"{schema}.{name} does not exist in {db.name}"
            if kind == "-":  # a materialized view never refreshed cannot be read
                out[(schema, name)] = (-1, "not populated")
                continue
            only = sql.SQL("" if kind == "p" else "ONLY ")
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, '|' "
                    "ORDER BY t::text COLLATE \"C\"), '')) FROM {}{} t"
                ).format(only, sql.Identifier(schema, name))
            ).fetchone()
            assert row is not None
            out[(schema, name)] = (int(row[0]), str(row[1]))
    return out


def assert_same_content(
    prod: Database,
    qa: Database,
    tables: Iterable[tuple[str, str]] | None = None,
    *,
    expect_rows: bool = True,
) -> dict[tuple[str, str], tuple[int, str]]:
    """Every production table (or *tables*) holds exactly production's rows in QA."""
    names = sorted(relations(prod)) if tables is None else sorted(tables)
    want = fingerprints(prod, names)
    got = fingerprints(qa, names)
    differ = {n: (want[n], got[n]) for n in names if want[n] != got[n]}
    assert not differ, f"tables differ between prod and QA (prod, qa): {differ}"
    if expect_rows:
        assert sum(rows for rows, _ in want.values()) > 0, "nothing to compare"
    return want


def foreign_keys(db: Database) -> list[tuple[str, str, bool, str]]:
    return [tuple(r) for r in db.execute(_FOREIGN_KEYS)]  # type: ignore[misc]


def triggers(db: Database) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in db.execute(_TRIGGERS)]  # type: ignore[misc]


def journal_rows(db: Database) -> int | None:
    """Rows in pgferry.journal, None when there is no journal."""
    if not db.scalar("SELECT to_regclass('pgferry.journal') IS NOT NULL"):
        return None
    return int(db.scalar("SELECT count(*) FROM pgferry.journal"))


def sequences_healthy(db: Database) -> list[str]:
    """Names of the sequences pgferry's checker finds behind (empty when healthy)."""
    with pgferry.connect(pgferry.parse(db.url), autocommit=True) as conn:
        report = pgferry.check_sequences(conn)
    return [str(s.name) for s in report.behind] + (
        [] if report.healthy else ["(report not healthy)"]
    )


def run_migrate(prod_url: str, qa_url: str, **options: Any) -> MigrateReport:
    """The library entry point, as a caller that already confirmed (``--yes``).

    No backup unless asked for: the backup tests cover it, the others need the speed.
    """
    options.setdefault("backup", False)
    return migrate(
        pgferry.parse(prod_url, role="prod"),
        pgferry.parse(qa_url, role="qa"),
        MigrateOptions(**options),
    )


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120, env: dict[str, str] | None = None
) -> Ran:
    """``python -m pgferry ARGS`` with no terminal on stdin, as in CI.

    It runs in an empty folder unless told otherwise, so neither a developer's
    ``pgferry.toml`` is picked up nor a report left in the checkout.
    """
    if cwd is None:
        with tempfile.TemporaryDirectory(prefix="pgferry-cli-") as empty:
            return run_cli(*args, cwd=Path(empty), timeout=timeout, env=env)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "pgferry", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=full_env,
        check=False,
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


def migrate_cli(
    prod: Database | str, qa: Database | str, *extra: str, backup: bool = False, **kw: Any
) -> Ran:
    """``pgferry migrate`` with ``--no-backup`` unless *backup* (see :func:`run_migrate`)."""
    src = prod if isinstance(prod, str) else prod.url
    dst = qa if isinstance(qa, str) else qa.url
    skip = () if backup else ("--no-backup",)
    return run_cli("migrate", "--from", src, "--to", dst, *skip, *extra, **kw)


def give_database_to(db: Database, role: str) -> None:
    """Make *role* own the database and its public schema (a Prisma app role)."""
    db.server.admin.execute(
        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(db.name), sql.Identifier(role)
        )
    )
    db.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(role)))


def run_as(db: Database, role: str, script: str, password: str = "secret-pw") -> None:
    """Run *script* as *role* (so it owns what it creates)."""
    with psycopg.connect(db.url_as(role, password), autocommit=True) as conn:
        conn.execute(script)  # type: ignore[arg-type]


def spawn_cli(*args: str, cwd: Path, stderr: int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """``python -m pgferry ARGS`` in the background, no PG* variables, stdout discarded
    (stderr too unless *stderr* is ``subprocess.PIPE``): a run to kill."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.Popen(
        [sys.executable, "-m", "pgferry", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
        env=env,
        cwd=cwd,
    )


def spawn_migrate(prod_url: str, qa_url: str, *extra: str, cwd: Path) -> subprocess.Popen[str]:
    """``pgferry migrate --yes`` in the background, output discarded (see :func:`spawn_cli`)."""
    return spawn_cli("migrate", "--from", prod_url, "--to", qa_url, "--yes", *extra, cwd=cwd)


def copying(qa: Database) -> bool:
    """Whether a pgferry load session is running COPY into QA's table ``parent`` now."""
    return bool(
        qa.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'pgferry load' AND state = 'active' "
            "AND query ILIKE 'COPY%parent%'"
        )
    )


def kill_mid_copy(
    proc: subprocess.Popen[str],
    qa: Database,
    *,
    timeout: float = 60,
    settle: float = 0.0,
    when: Callable[[Database], bool] = copying,
    what: str = "no COPY seen in QA",
) -> None:
    """Wait until *when* (by default: *proc* copies into QA's ``parent``), then (after
    *settle* seconds) kill -9 it; fail with *what* when it ends first or never gets there."""
    try:
        deadline = time.monotonic() + timeout
        while not when(qa):
            assert proc.poll() is None, "pgferry finished before it could be killed"
            assert time.monotonic() < deadline, what
            time.sleep(0.02)
        time.sleep(settle)
        assert proc.poll() is None, "pgferry finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


#: Tables created per transaction while building a big schema (creating takes locks too).
BUILD_BATCH = 250


def many_tables_ddl(start: int, stop: int) -> str:
    """Tables t<start>..t<stop-1>: every 10th references its neighbour, every 25th has a
    secondary index."""
    out = []
    for i in range(start, stop):
        ref = f" REFERENCES t{i - 1} (id)" if i % 10 == 1 else ""
        out.append(f"CREATE TABLE t{i} (id int PRIMARY KEY, v text, ref int{ref});")
        if i % 25 == 0:
            out.append(f"CREATE INDEX t{i}_v ON t{i} (v);")
    return "\n".join(out)


def build_many_tables(db: Database, tables: int, *, rows: bool, owner: str | None = None) -> None:
    """A schema of *tables* tables (see :func:`many_tables_ddl`), made in batches that fit the
    lock table; with *rows*, every 50th table holds a row."""
    for start in range(0, tables, BUILD_BATCH):
        script = many_tables_ddl(start, min(tables, start + BUILD_BATCH))
        if owner is None:
            db.execute(script)
        else:
            run_as(db, owner, script)
    if rows:
        db.execute(
            "DO $$BEGIN FOR i IN 0.." + str(tables - 1) + " BY 50 LOOP "
            "EXECUTE format('INSERT INTO t%s VALUES (1, %L, NULL)', i, 'row ' || i); "
            "END LOOP; END$$"
        )
