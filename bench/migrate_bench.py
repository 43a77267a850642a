"""Benchmark ``pgferry migrate`` against pg_dump | psql and pg_dump/pg_restore.

One run starts two throwaway PostgreSQL clusters with durable settings (fsync
and synchronous_commit on), "prod" and "qa", from the same install.  It loads
``app_schema.sql`` + ``app_data.sql`` at ``--scale`` into prod, then, for each
method, creates a fresh QA database holding only the schema (before the clock
starts) and times the copy of prod's data into it:

a. ``pg_dump --data-only --disable-triggers | psql`` (superuser QA role): the
   baseline;
b. ``pg_dump -Fd -j 2 --data-only`` then ``pg_restore -j 2 --data-only
   --disable-triggers`` (superuser), timed together and each;
c. ``pgferry migrate --yes --no-report --json`` as the real CLI, superuser QA
   role ("replica" mode), with its peak memory (max RSS from ``wait4``);
d. the same as a non-superuser role ``qa_app`` that owns QA's tables
   ("constraints" mode); and ``pg_dump --data-only | psql`` as that role, which
   cannot run (no ``--disable-triggers`` without superuser, and the schema has
   a foreign-key cycle): its first error is reported, never a time.

After each method every table's row count in QA must equal prod's, QA's
constraints (validated) and indexes must be prod's, no trigger may be left
disabled, and pgferry must exit 0.  Statements of 100 ms or more are logged
by the QA server, which gives a breakdown of where each method's time goes.
The figures are printed with the targets, and optionally written as JSON.
This is a measurement, not a test: timings never decide the exit code.

Run with ``make bench-migrate`` or ``.venv/bin/python bench/migrate_bench.py --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

import pgferry
from benchlib import (
    BenchError,
    choose_install,
    clean_env,
    pgferry_executable,
    say,
    table,
    terminate,
)
from pgferry.embedded import Cluster, PgInstall

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PROD_DB = "prod"
#: Server settings of both clusters, so of every method alike: large enough a
#: WAL allowance that checkpoints forced by WAL volume do not dominate a load.
SETTINGS = {"max_wal_size": "4GB"}
#: Set on every QA database (all methods alike): the server logs each statement
#: that runs this long, with its duration, which gives the breakdown.
LOG_SLOW_MS = 100
QA_ROLE = "qa_app"
QA_ROLE_PASSWORD = "qa-app-bench"
RESTORE_JOBS = 2
#: Tables pgferry documents it never copies by default (docs/migrate.md: the
#: migration history describes QA's schema): QA must keep its own rows there.
PGFERRY_KEEPS = ("public._prisma_migrations",)

TARGET_RATIO = 0.6
TARGET_RSS_MB = 200.0

SHOWN_SETTINGS = (
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_level",
    "max_wal_size",
    "checkpoint_timeout",
    "shared_buffers",
    "maintenance_work_mem",
    "work_mem",
    "max_parallel_maintenance_workers",
)

_SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema', 'pg_toast', 'pgferry')"

_TABLES = f"""
SELECT n.nspname, c.relname
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname NOT IN {_SYSTEM_SCHEMAS}
  AND n.nspname NOT LIKE 'pg\\_temp%%'
ORDER BY 1, 2
"""

_CONSTRAINTS = f"""
SELECT n.nspname || '.' || c.relname, k.conname, k.contype::text, k.convalidated,
       pg_catalog.pg_get_constraintdef(k.oid)
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN {_SYSTEM_SCHEMAS}
"""

_INDEXES = f"""
SELECT schemaname || '.' || indexname, indexdef
FROM pg_catalog.pg_indexes WHERE schemaname NOT IN {_SYSTEM_SCHEMAS}
"""

_DISABLED_TRIGGERS = f"""
SELECT n.nspname || '.' || c.relname || ': ' || t.tgname || ' (' || t.tgenabled::text || ')'
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE t.tgenabled <> 'O' AND n.nspname NOT IN {_SYSTEM_SCHEMAS}
"""

#: "... [pid] LOG:  duration: 12.345 ms  statement: COPY ..." (also "execute <name>:")
_SLOW_LINE = re.compile(
    r"\[(\d+)\] LOG:  duration: ([0-9.]+) ms  (?:statement|execute [^:]*): (.*)$"
)

#: Statement kinds of the breakdown, first match wins.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("COPY into QA", re.compile(r"^COPY\b.*\bFROM\s+STDIN", re.I)),
    ("CREATE INDEX", re.compile(r"^CREATE\s+(UNIQUE\s+)?INDEX", re.I)),
    ("ANALYZE", re.compile(r"^(VACUUM\s*(\(.*\))?\s*)?ANALYZE", re.I)),
    ("VALIDATE CONSTRAINT", re.compile(r"^ALTER\s+TABLE\b.*\bVALIDATE\s+CONSTRAINT", re.I)),
    ("ADD CONSTRAINT", re.compile(r"^ALTER\s+TABLE\b.*\bADD\s+CONSTRAINT", re.I)),
    ("TRUNCATE", re.compile(r"^TRUNCATE", re.I)),
    ("SELECT (counts, setval, catalog)", re.compile(r"^(SELECT|WITH)\b", re.I)),
)


@dataclass
class ProcRun:
    """One client process of a method: how it ended and its peak memory."""

    name: str
    argv: list[str]
    exit_code: int
    max_rss_kib: int  # ru_maxrss from wait4
    stderr: str = ""
    #: Linux starts a child's ru_maxrss at the peak RSS of the process that spawned
    #: it (this script): the floor under max_rss_kib.
    spawner_rss_kib: int = 0
    #: VmHWM of the process itself, read from /proc while it ran (a cross-check).
    vmhwm_kib: int = 0


@dataclass
class SlowStatement:
    ms: float
    pid: int
    kind: str
    text: str


@dataclass
class MethodResult:
    """One method's run and checks."""

    key: str
    label: str
    role: str
    database: str
    commands: list[str] = field(default_factory=list)
    ran: bool = False  # finished without error (exit codes 0)
    expected_to_fail: bool = False
    failure: str = ""  # first error line when it did not run
    seconds: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)
    processes: list[ProcRun] = field(default_factory=list)
    peak_rss_mb: float | None = None
    ratio: float | None = None
    counts_ok: bool = False
    count_problems: list[str] = field(default_factory=list)
    kept_by_design: dict[str, int] = field(default_factory=dict)  # table: QA's rows before
    schema_ok: bool = False
    schema_problems: list[str] = field(default_factory=list)
    pgferry: dict[str, Any] | None = None
    slow_statements: list[SlowStatement] = field(default_factory=list)
    dump_bytes: int = 0

    @property
    def correct(self) -> bool:
        return self.ran and self.counts_ok and self.schema_ok

    @property
    def pgferry_mode(self) -> str:
        return str((self.pgferry or {}).get("mode", "?"))


@dataclass
class TableInfo:
    name: str
    rows: int
    table_bytes: int  # heap + TOAST
    total_bytes: int  # with indexes


@dataclass
class Figures:
    """Everything one run measured; written with ``--json``."""

    postgresql_version: str
    postgresql_source: str
    scale: float
    settings: dict[str, str] = field(default_factory=dict)
    cluster_settings: dict[str, str] = field(default_factory=lambda: dict(SETTINGS))
    log_min_duration_statement_ms: int = LOG_SLOW_MS
    prod_load_seconds: float = 0.0
    prod_load_parts: dict[str, float] = field(default_factory=dict)
    tables: list[TableInfo] = field(default_factory=list)
    total_rows: int = 0
    total_table_bytes: int = 0
    total_bytes_with_indexes: int = 0
    prod_database_bytes: int = 0
    methods: list[MethodResult] = field(default_factory=list)
    targets: dict[str, bool] = field(default_factory=dict)
    target_values: dict[str, float] = field(
        default_factory=lambda: {
            "pgferry_superuser_over_baseline_at_most": TARGET_RATIO,
            "pgferry_peak_rss_mb_below": TARGET_RSS_MB,
        }
    )

    def method(self, key: str) -> MethodResult | None:
        return next((m for m in self.methods if m.key == key), None)


# -- small helpers ----------------------------------------------------------------


def first_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if "ERROR" in ln or "FATAL" in ln:
            return ln
    return lines[-1] if lines else ""


def mb(kib: int) -> float:
    """KiB (as ru_maxrss gives on Linux) to MB (10^6 bytes)."""
    return kib * 1024 / 1e6


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def psql_setup(install: PgInstall, url: str, *args: str) -> None:
    """Run the install's psql (ON_ERROR_STOP) for setting up; not timed by callers."""
    cmd = [str(install.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, *args]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=clean_env(), check=False, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise BenchError(f"{shlex.join(cmd)} failed: {proc.stderr.strip()[-2000:]}")


# -- running a method's processes -------------------------------------------------


@dataclass
class Pipeline:
    """Client processes, each stage's stdout piped into the next one's stdin."""

    stages: list[tuple[str, list[str]]]
    cwd: str | None = None
    stdout: IO[bytes] | None = None  # where the last stage writes (default: discarded)
    sample_hwm: bool = False  # read each process's VmHWM from /proc while it runs

    def run(self) -> tuple[float, list[ProcRun]]:
        """Wall-clock seconds from the first start to the last exit, and each process."""
        procs: list[subprocess.Popen[bytes]] = []
        samplers: list[HwmSampler] = []
        spawner_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with contextlib.ExitStack() as files:
            errs: list[IO[bytes]] = [
                files.enter_context(tempfile.TemporaryFile()) for _ in self.stages
            ]
            try:
                started = time.perf_counter()
                upstream: IO[bytes] | None = None
                for n, (_, argv) in enumerate(self.stages):
                    last = n == len(self.stages) - 1
                    proc = subprocess.Popen(
                        argv,
                        stdin=upstream if upstream is not None else subprocess.DEVNULL,
                        stdout=(self.stdout or subprocess.DEVNULL) if last else subprocess.PIPE,
                        stderr=errs[n],
                        env=clean_env(),
                        cwd=self.cwd,
                    )
                    if upstream is not None:
                        upstream.close()  # so the producer gets SIGPIPE if the consumer dies
                    upstream = proc.stdout
                    procs.append(proc)
                    if self.sample_hwm:
                        samplers.append(HwmSampler(proc.pid))
                usage: dict[int, tuple[int, int]] = {}
                for proc in reversed(procs):  # the consumer first
                    _, status, rusage = os.wait4(proc.pid, 0)
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    usage[proc.pid] = (proc.returncode, rusage.ru_maxrss)  # KiB on Linux
                seconds = time.perf_counter() - started
            finally:
                for sampler in samplers:
                    sampler.stop()
                for proc in procs:
                    if proc.returncode is None:  # interrupted: leave no client behind
                        with contextlib.suppress(OSError):
                            proc.kill()
                        proc.wait()
            runs: list[ProcRun] = []
            for (name, argv), proc, errfile in zip(self.stages, procs, errs, strict=True):
                errfile.seek(0)
                text = errfile.read().decode(errors="replace").strip()
                code, rss = usage[proc.pid]
                hwm = next((x.peak_kib for x in samplers if x.pid == proc.pid), 0)
                runs.append(ProcRun(name, argv, code, rss, text[-4000:], spawner_rss, hwm))
        return seconds, runs

    def command(self) -> str:
        return " | ".join(shlex.join(argv) for _, argv in self.stages)


class HwmSampler:
    """Reads ``VmHWM`` (the process's own peak RSS) from /proc every few ms."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.pid = pid
        self.every = every
        self.peak_kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"hwm-{pid}")
        self._thread.start()

    def _run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._done.is_set():
            try:
                text = status.read_text()
            except OSError:
                return
            m = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
            if m:
                self.peak_kib = max(self.peak_kib, int(m.group(1)))
            self._done.wait(self.every)

    def stop(self) -> None:
        self._done.set()
        self._thread.join(1)


# -- the QA side ------------------------------------------------------------------


class Qa:
    """The QA cluster: fresh schema-only databases, and the checks after a load."""

    def __init__(self, cluster: Cluster, install: PgInstall, schema_sql: Path) -> None:
        self.cluster = cluster
        self.install = install
        self.schema_sql = schema_sql
        self.current: str | None = None

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.cluster.url(), autocommit=True)

    def create_role(self) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(QA_ROLE), sql.Literal(QA_ROLE_PASSWORD)
                )
            )

    def url(self, dbname: str, role: str) -> str:
        if role == QA_ROLE:
            return self.cluster.url(dbname, user=QA_ROLE, password=QA_ROLE_PASSWORD)
        return self.cluster.url(dbname)

    def fresh(self, dbname: str, role: str) -> str:
        """Drop the previous QA database; create *dbname* owned by *role*, load the schema
        as *role* (so it owns every object), checkpoint; return *role*'s URL to it."""
        self.drop_current()
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(role)
                )
            )
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET log_min_duration_statement = {}").format(
                    sql.Identifier(dbname), sql.Literal(f"{LOG_SLOW_MS}ms")
                )
            )
        self.current = dbname
        url = self.url(dbname, role)
        psql_setup(self.install, url, "-f", str(self.schema_sql))
        with self.admin() as conn:
            conn.execute("CHECKPOINT")  # no checkpoint of the set-up lands in a timing
        return url

    def drop_current(self) -> None:
        if self.current is None:
            return
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.current)
                )
            )
        self.current = None

    def log_offset(self) -> int:
        try:
            return self.cluster.logfile.stat().st_size
        except OSError:
            return 0

    def slow_statements(self, since: int) -> list[SlowStatement]:
        try:
            with self.cluster.logfile.open("rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
        except OSError:
            return []
        found: list[SlowStatement] = []
        for line in text.splitlines():
            m = _SLOW_LINE.search(line)
            if not m:
                continue
            stmt = m.group(3).strip()
            kind = next((k for k, rx in _KINDS if rx.search(stmt)), "other")
            found.append(SlowStatement(float(m.group(2)), int(m.group(1)), kind, stmt[:160]))
        return found


def read_tables(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [(str(r[0]), str(r[1])) for r in conn.execute(_TABLES).fetchall()]


def count_tables(url: str, tables: Sequence[tuple[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for schema, name in tables:
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))
            ).fetchone()
            counts[f"{schema}.{name}"] = int(row[0]) if row else -1
    return counts


def kept_rows(qa_url: str, tables: Sequence[tuple[str, str]]) -> dict[str, int]:
    """QA's rows, before the load, in the tables pgferry leaves to QA by design."""
    kept = [t for t in tables if f"{t[0]}.{t[1]}" in PGFERRY_KEEPS]
    return count_tables(qa_url, kept)


def schema_shape(url: str) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]], list[str]]:
    """Constraints (with validated), indexes, and triggers not enabled."""
    with psycopg.connect(url, autocommit=True) as conn:
        constraints = {tuple(r) for r in conn.execute(_CONSTRAINTS).fetchall()}
        indexes = {tuple(r) for r in conn.execute(_INDEXES).fetchall()}
        disabled = [str(r[0]) for r in conn.execute(_DISABLED_TRIGGERS).fetchall()]
    return constraints, indexes, disabled


def verify(
    res: MethodResult,
    qa_url: str,
    tables: Sequence[tuple[str, str]],
    prod_counts: dict[str, int],
    prod_shape: tuple[set[tuple[Any, ...]], set[tuple[Any, ...]], list[str]],
) -> None:
    counts = count_tables(qa_url, tables)
    expected = {**prod_counts, **res.kept_by_design}
    res.count_problems = [
        f"{name}: expected {want} ({'QA kept' if name in res.kept_by_design else 'prod'}), "
        f"QA {counts.get(name)}"
        for name, want in expected.items()
        if counts.get(name) != want
    ]
    res.counts_ok = not res.count_problems
    constraints, indexes, disabled = schema_shape(qa_url)
    problems: list[str] = []
    for c in sorted(prod_shape[0] - constraints, key=str):
        problems.append(f"constraint {c[0]}.{c[1]} missing or not validated in QA")
    for c in sorted(constraints - prod_shape[0], key=str):
        problems.append(f"constraint {c[0]}.{c[1]} in QA differs from prod (validated {c[3]})")
    for i in sorted(prod_shape[1] - indexes, key=str):
        problems.append(f"index {i[0]} missing in QA")
    problems += [f"trigger not enabled: {t}" for t in disabled]
    res.schema_problems = problems
    res.schema_ok = not problems


# -- the methods ------------------------------------------------------------------


def run_baseline(
    res: MethodResult, install: PgInstall, prod_url: str, qa_url: str, disable_triggers: bool
) -> None:
    dump = [str(install.tool("pg_dump")), "--data-only"]
    if disable_triggers:
        dump.append("--disable-triggers")
    dump += ["-d", prod_url]
    load = [str(install.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", qa_url]
    pipe = Pipeline([("pg_dump", dump), ("psql", load)])
    res.commands = [pipe.command()]
    say(f"{res.key}: {res.commands[0]}")
    res.seconds, res.processes = pipe.run()
    consumer = res.processes[-1]
    res.ran = all(p.exit_code == 0 for p in res.processes)
    if not res.ran:
        culprit = consumer if consumer.exit_code != 0 else res.processes[0]
        res.failure = f"{culprit.name} exited {culprit.exit_code}: {first_error(culprit.stderr)}"


def run_dump_restore(res: MethodResult, install: PgInstall, prod_url: str, qa_url: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="pgferry-bench-dump-"))
    try:
        target = workdir / "dump"
        dump = Pipeline(
            [
                (
                    "pg_dump",
                    [
                        str(install.tool("pg_dump")),
                        "-Fd",
                        "-j",
                        str(RESTORE_JOBS),
                        "--data-only",
                        "-f",
                        str(target),
                        "-d",
                        prod_url,
                    ],
                )
            ]
        )
        restore = Pipeline(
            [
                (
                    "pg_restore",
                    [
                        str(install.tool("pg_restore")),
                        "-j",
                        str(RESTORE_JOBS),
                        "--data-only",
                        "--disable-triggers",
                        "-d",
                        qa_url,
                        str(target),
                    ],
                )
            ]
        )
        res.commands = [dump.command(), restore.command()]
        say(f"{res.key}: {res.commands[0]}")
        dump_s, dump_runs = dump.run()
        res.processes = list(dump_runs)
        res.parts["pg_dump -Fd"] = dump_s
        if dump_runs[0].exit_code == 0:
            res.dump_bytes = tree_bytes(target)
            say(f"{res.key}: {res.commands[1]}")
            restore_s, restore_runs = restore.run()
            res.processes += restore_runs
            res.parts["pg_restore"] = restore_s
        res.seconds = sum(res.parts.values())
        res.ran = all(p.exit_code == 0 for p in res.processes)
        if not res.ran:
            bad = next(p for p in res.processes if p.exit_code != 0)
            res.failure = f"{bad.name} exited {bad.exit_code}: {first_error(bad.stderr)}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_pgferry(res: MethodResult, exe: str, prod_url: str, qa_url: str) -> None:
    argv = [exe, "migrate", "--from", prod_url, "--to", qa_url, "--yes", "--no-report", "--json"]
    argv.append("--no-backup")  # the peers measured take none either
    with (
        tempfile.TemporaryDirectory(prefix="pgferry-bench-cwd-") as cwd,
        tempfile.TemporaryFile(dir=cwd) as out,
    ):
        # an empty working folder, so no ./pgferry.toml of the caller is read
        pipe = Pipeline([("pgferry", argv)], cwd=cwd, stdout=out, sample_hwm=True)
        res.commands = [pipe.command()]
        say(f"{res.key}: {pipe.command()}")
        res.seconds, res.processes = pipe.run()
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    proc = res.processes[0]
    res.peak_rss_mb = mb(proc.max_rss_kib)
    try:
        data = json.loads(stdout)
        res.pgferry = data if isinstance(data, dict) else None
    except json.JSONDecodeError:
        res.pgferry = None
    res.ran = proc.exit_code == 0
    if not res.ran:
        res.failure = f"pgferry exited {proc.exit_code}: {first_error(proc.stderr or stdout)}"


# -- the run ----------------------------------------------------------------------


def server_settings(url: str) -> tuple[str, dict[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('server_version')").fetchone()
        values = {
            name: str(v[0])
            for name in SHOWN_SETTINGS
            if (v := conn.execute("SELECT current_setting(%s)", (name,)).fetchone())
        }
    return (str(row[0]) if row else "?"), values


def load_prod(fig: Figures, install: PgInstall, prod: Cluster, datasets: Path, scale: float) -> str:
    with psycopg.connect(prod.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PROD_DB)))
    url = prod.url(PROD_DB)
    for part, args in (
        ("app_schema.sql", ["-f", str(datasets / "app_schema.sql")]),
        ("app_data.sql", ["-v", f"scale={scale:g}", "-f", str(datasets / "app_data.sql")]),
    ):
        say(f"prod: loading {part} (scale {scale:g})")
        started = time.perf_counter()
        psql_setup(install, url, *args)
        fig.prod_load_parts[part] = time.perf_counter() - started
    fig.prod_load_seconds = sum(fig.prod_load_parts.values())
    say("prod: VACUUM, then CHECKPOINT (so no method pays for hint bits or a checkpoint)")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM")
        conn.execute("CHECKPOINT")
    fig.prod_load_parts["VACUUM + CHECKPOINT (not in the load time)"] = (
        time.perf_counter() - started
    )
    return url


def describe_prod(fig: Figures, url: str) -> tuple[list[tuple[str, str]], dict[str, int]]:
    tables = read_tables(url)
    counts = count_tables(url, tables)
    with psycopg.connect(url, autocommit=True) as conn:
        for schema, name in tables:
            ident = sql.Literal(f'"{schema}"."{name}"')
            row = conn.execute(
                sql.SQL(
                    "SELECT pg_catalog.pg_table_size({0}::regclass), "
                    "pg_catalog.pg_total_relation_size({0}::regclass)"
                ).format(ident)
            ).fetchone()
            full = f"{schema}.{name}"
            fig.tables.append(
                TableInfo(full, counts[full], int(row[0]) if row else 0, int(row[1]) if row else 0)
            )
        row = conn.execute("SELECT pg_catalog.pg_database_size(current_database())").fetchone()
        fig.prod_database_bytes = int(row[0]) if row else 0
    fig.total_rows = sum(t.rows for t in fig.tables)
    fig.total_table_bytes = sum(t.table_bytes for t in fig.tables)
    fig.total_bytes_with_indexes = sum(t.total_bytes for t in fig.tables)
    return tables, counts


def bench(
    install: PgInstall, scale: float, datasets: Path, also: Sequence[tuple[str, str]] = ()
) -> Figures:
    """Every method on the same data in one run; *also*: (label, executable) of other
    pgferry builds (an earlier commit's checkout), timed like ``c`` next to it."""
    exe = pgferry_executable()
    for f in ("app_schema.sql", "app_data.sql"):
        if not (datasets / f).is_file():
            raise BenchError(f"{datasets / f} is absent (see --datasets)")
    prod = Cluster(install, name="bench-prod", fast=False, settings=dict(SETTINGS))
    qa_cluster = Cluster(install, name="bench-qa", fast=False, settings=dict(SETTINGS))
    try:
        for c in (prod, qa_cluster):
            say(f"starting PostgreSQL {install.version} ({install.source}) in {c.basedir}")
            c.start()
        version, settings = server_settings(qa_cluster.url())
        fig = Figures(
            postgresql_version=version,
            postgresql_source=f"{install.source}: {install.bindir}",
            scale=scale,
            settings=settings,
        )
        prod_url = load_prod(fig, install, prod, datasets, scale)
        tables, prod_counts = describe_prod(fig, prod_url)
        prod_shape = schema_shape(prod_url)
        say(f"prod: {fig.total_rows} rows in {len(tables)} tables, {fig.prod_load_seconds:.1f} s")

        qa = Qa(qa_cluster, install, datasets / "app_schema.sql")
        qa.create_role()
        super_role = "postgres"

        def method(
            key: str, label: str, role: str, dbname: str, expected_to_fail: bool
        ) -> tuple[MethodResult, str]:
            res = MethodResult(key, label, role, dbname, expected_to_fail=expected_to_fail)
            say(f"{key}: fresh QA database {dbname} with the schema, owned by {role}")
            url = qa.fresh(dbname, role)
            fig.methods.append(res)
            return res, url

        def finish(res: MethodResult, since: int) -> None:
            res.slow_statements = qa.slow_statements(since)
            verify(res, qa.url(res.database, super_role), tables, prod_counts, prod_shape)
            state = "ran" if res.ran else f"did not run ({res.failure})"
            say(
                f"{res.key}: {res.seconds:.1f} s, {state}; counts "
                f"{'equal' if res.counts_ok else 'DIFFER'}; schema "
                f"{'intact' if res.schema_ok else 'NOT intact'}"
            )

        res, url = method(
            "a", "pg_dump --data-only --disable-triggers | psql", super_role, "qa_a", False
        )
        since = qa.log_offset()
        run_baseline(res, install, prod_url, url, disable_triggers=True)
        finish(res, since)

        res, url = method(
            "b",
            f"pg_dump -Fd -j {RESTORE_JOBS} + pg_restore -j {RESTORE_JOBS} --disable-triggers",
            super_role,
            "qa_b",
            False,
        )
        since = qa.log_offset()
        run_dump_restore(res, install, prod_url, url)
        finish(res, since)

        res, url = method("c", "pgferry migrate", super_role, "qa_c", False)
        res.kept_by_design = kept_rows(qa.url(res.database, super_role), tables)
        since = qa.log_offset()
        run_pgferry(res, exe, prod_url, url)
        finish(res, since)

        for n, (label, other) in enumerate(also):  # the same run, another build of pgferry
            res, url = method(
                f"c-{label}", f"pgferry migrate ({label})", super_role, f"qa_c{n}", False
            )
            res.kept_by_design = kept_rows(qa.url(res.database, super_role), tables)
            since = qa.log_offset()
            run_pgferry(res, other, prod_url, url)
            finish(res, since)

        res, url = method("d", "pgferry migrate", QA_ROLE, "qa_d", False)
        res.kept_by_design = kept_rows(qa.url(res.database, super_role), tables)
        since = qa.log_offset()
        run_pgferry(res, exe, prod_url, url)
        finish(res, since)

        res, url = method("d-a", "pg_dump --data-only | psql", QA_ROLE, "qa_d_a", True)
        since = qa.log_offset()
        run_baseline(res, install, prod_url, url, disable_triggers=False)
        finish(res, since)
        qa.drop_current()

        base = fig.method("a")
        for m in fig.methods:
            if base and base.ran and base.seconds and m.ran:
                m.ratio = m.seconds / base.seconds
        evaluate(fig)
        return fig
    finally:
        qa_cluster.stop()
        prod.stop()


# -- reporting --------------------------------------------------------------------


def evaluate(fig: Figures) -> None:
    c, d = fig.method("c"), fig.method("d")
    fig.targets = {
        "pgferry_superuser_ratio": bool(
            c and c.correct and c.ratio is not None and c.ratio <= TARGET_RATIO
        ),
        "pgferry_peak_rss": all(
            m is not None and m.peak_rss_mb is not None and m.peak_rss_mb < TARGET_RSS_MB
            for m in (c, d)
        ),
    }


def correct_where_expected(fig: Figures) -> bool:
    return all(m.correct for m in fig.methods if not m.expected_to_fail)


def role_text(m: MethodResult) -> str:
    if m.role == QA_ROLE:
        return f"{QA_ROLE} (not superuser)"
    return "postgres (superuser)"


def render(fig: Figures) -> str:
    lines = [
        f"PostgreSQL {fig.postgresql_version} ({fig.postgresql_source}); prod and QA: two "
        "throwaway clusters of this install on 127.0.0.1, client tools from the same install",
        "settings (both clusters, so every method alike): "
        + ", ".join(f"{k} {v}" for k, v in fig.settings.items()),
        f"  max_wal_size is raised to {SETTINGS['max_wal_size']} so WAL-forced checkpoints do "
        "not dominate; every other setting is the default (durable: fsync and "
        "synchronous_commit on)",
        f"  every QA database: log_min_duration_statement = {LOG_SLOW_MS} ms (for the "
        "breakdown below); CHECKPOINT before each clock starts",
        f"data: app_schema.sql + app_data.sql at scale {fig.scale:g}: {fig.total_rows:,} rows "
        f"in {len(fig.tables)} tables; tables {human(fig.total_table_bytes)}, with indexes "
        f"{human(fig.total_bytes_with_indexes)}; prod database {human(fig.prod_database_bytes)}",
        "prod load (not compared): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in fig.prod_load_parts.items()),
        "",
    ]
    lines += table(
        [("table (prod)", "rows", "size", "with indexes")]
        + [(t.name, f"{t.rows:,}", human(t.table_bytes), human(t.total_bytes)) for t in fig.tables],
        right=(1, 2, 3),
    )
    lines += ["", "Each method loads into a fresh QA database holding only the schema:", ""]
    rows: list[tuple[str, ...]] = [
        ("", "method", "QA role", "seconds", "vs (a)", "peak RSS", "checks")
    ]
    for m in fig.methods:
        label = m.label + (f" ({m.pgferry_mode} mode)" if m.pgferry is not None else "")
        if not m.ran:
            if m.expected_to_fail:
                secs, ratio, checks = "-", "-", "could not run (expected)"
            else:
                secs, ratio, checks = f"{m.seconds:.1f}", "-", "FAILED"
        else:
            secs = f"{m.seconds:.1f}"
            ratio = f"{m.ratio:.2f}x" if m.ratio is not None else "-"
            checks = "ok" if m.correct else "WRONG"
        rss = f"{m.peak_rss_mb:.0f} MB" if m.peak_rss_mb is not None else ""
        rows.append((m.key, label, role_text(m), secs, ratio, rss, checks))
        for part, s in m.parts.items():
            rows.append(("", f"  {part}", "", f"{s:.1f}", "", "", ""))
    lines += table(rows, right=(3, 4, 5))
    lines.append("")
    for m in fig.methods:
        if not m.ran:
            lines.append(
                f"({m.key}) {'could not run' if m.expected_to_fail else 'FAILED'}: {m.failure}"
            )
    c, d = fig.method("c"), fig.method("d")

    def verdict(key: str) -> str:
        return "met" if fig.targets.get(key) else "NOT MET"

    rss_values = [m.peak_rss_mb for m in (c, d) if m is not None and m.peak_rss_mb is not None]
    target_rows = [
        ("target", "value", "target", "result"),
        (
            "pgferry (superuser) / baseline (a)",
            f"{c.ratio:.2f}x" if c and c.ratio is not None else "-",
            f"<= {TARGET_RATIO:g}x",
            verdict("pgferry_superuser_ratio"),
        ),
        (
            "pgferry peak RSS (max of c and d)",
            f"{max(rss_values):.0f} MB" if rss_values else "-",
            f"< {TARGET_RSS_MB:g} MB",
            verdict("pgferry_peak_rss"),
        ),
        (
            f"pgferry ({QA_ROLE}, not superuser) / baseline (a)",
            f"{d.ratio:.2f}x" if d and d.ratio is not None else "-",
            "reported",
            "",
        ),
    ]
    lines += ["", *table(target_rows, right=(1,))]
    lines += [
        "",
        "(a) is the baseline; vs (a) = seconds / seconds of (a).  Peak RSS: ru_maxrss of the "
        "pgferry process (wait4), MB = 10^6 bytes.",
        *rss_notes(fig),
        "pgferry's time is its wall clock as a user sees it: Python start-up, planning, "
        "COPY, index builds, ANALYZE, foreign keys, sequences and its row-count check; "
        "(a) and (b) run no ANALYZE.",
        "",
        "Checks after each method: every table's row count equals prod's; constraints "
        "(validated) and indexes as prod's; no trigger left disabled; exit codes 0.",
    ]
    for m in fig.methods:
        if m.expected_to_fail and not m.ran:
            continue
        verdicts = [
            f"counts {'equal' if m.counts_ok else 'DIFFER'}",
            f"schema {'intact' if m.schema_ok else 'NOT intact'}",
            "exit codes " + ", ".join(f"{p.name} {p.exit_code}" for p in m.processes),
        ]
        lines.append(f"  ({m.key})".ljust(8) + "; ".join(verdicts))
        for name, n in m.kept_by_design.items():
            lines.append(
                f"        {name} kept QA's own {n} rows: pgferry never copies migration "
                "history by default (docs/migrate.md); the others copy prod's"
            )
        lines += [f"        {p}" for p in (m.count_problems + m.schema_problems)[:10]]
    lines += ["", "Commands (PROD and QA URLs as run):"]
    for m in fig.methods:
        for n, cmd in enumerate(m.commands):
            lines.append(f"  ({m.key}{'' if n == 0 else '+'})".ljust(8) + cmd)
    b = fig.method("b")
    if b and b.dump_bytes:
        lines.append(f"  (b) dump folder: {human(b.dump_bytes)} (default compression)")
    lines += ["", *render_breakdown(fig)]
    return "\n".join(lines)


def rss_notes(fig: Figures) -> list[str]:
    notes: list[str] = []
    for m in fig.methods:
        if m.peak_rss_mb is None or not m.processes:
            continue
        p = m.processes[0]
        notes.append(
            f"  ({m.key}) ru_maxrss {mb(p.max_rss_kib):.1f} MB; pgferry's own VmHWM read from "
            f"/proc while it ran {mb(p.vmhwm_kib):.1f} MB; floor: Linux starts a child's "
            f"ru_maxrss at its spawner's peak RSS, this script's {mb(p.spawner_rss_kib):.1f} MB"
        )
    return notes


def render_breakdown(fig: Figures) -> list[str]:
    lines = [
        f"Where the time goes: QA server time of statements >= {LOG_SLOW_MS} ms, summed "
        "per kind (seconds; parallel sessions add up beyond the wall clock):",
        "",
    ]
    shown = [m for m in fig.methods if m.slow_statements or m.ran]
    kinds = [k for k, _ in _KINDS] + ["other"]
    rows: list[tuple[str, ...]] = [("statement kind", *[f"({m.key})" for m in shown])]
    for kind in kinds:
        sums = [sum(s.ms for s in m.slow_statements if s.kind == kind) / 1000 for m in shown]
        if any(sums):
            rows.append((kind, *[f"{v:.1f}" if v else "-" for v in sums]))
    rows.append(("wall clock", *[f"{m.seconds:.1f}" for m in shown]))
    lines += table(rows, right=tuple(range(1, len(shown) + 1)))
    for m in fig.methods:
        if m.pgferry is None:
            continue
        data = m.pgferry
        per_table = data.get("tables") or []
        lines += [
            "",
            f"pgferry ({m.key}), {m.pgferry_mode} mode, as {role_text(m)}: wall clock "
            f"{m.seconds:.1f} s, of which pgferry's own run {float(data.get('seconds', 0)):.1f} s "
            f"(the rest is Python start-up and output); per table (its worker's COPY, "
            "then its index builds and ANALYZE):",
        ]
        trows: list[tuple[str, ...]] = [("table", "rows", "bytes", "seconds", "format")]
        for t in sorted(per_table, key=lambda t: -float(t.get("seconds", 0))):
            trows.append(
                (
                    str(t.get("table")),
                    f"{int(t.get('rows', 0)):,}",
                    human(int(t.get("bytes", 0))),
                    f"{float(t.get('seconds', 0)):.2f}",
                    str(t.get("format")),
                )
            )
        total = sum(float(t.get("seconds", 0)) for t in per_table)
        trows.append(
            ("sum", "", human(sum(int(t.get("bytes", 0)) for t in per_table)), f"{total:.2f}", "")
        )
        lines += table(trows, right=(1, 2, 3))
        top = sorted(m.slow_statements, key=lambda s: -s.ms)[:12]
        if top:
            lines += ["", f"  slowest QA statements of ({m.key}) (server pid, ms, statement):"]
            lines += [f"    [{s.pid}] {s.ms:10.1f}  {s.text[:110]}" for s in top]
    return lines


def figures_json(fig: Figures) -> dict[str, Any]:
    data: dict[str, Any] = asdict(fig)
    for m in data["methods"]:
        pg = m.get("pgferry")
        if isinstance(pg, dict):  # keep the summary, not the whole plan
            m["pgferry"] = {k: pg.get(k) for k in ("mode", "seconds", "ok", "tables", "counts")}
    return data


# -- entry point ------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time `pgferry migrate` against pg_dump --data-only | psql and "
        "pg_dump/pg_restore -j 2 on two throwaway PostgreSQL clusters (fsync on)."
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="app_data.sql scale (default 1: about 0.7 GB, 5 M rows)",
    )
    parser.add_argument(
        "--pg-major", type=int, help="PostgreSQL major version (default: the first found)"
    )
    parser.add_argument(
        "--datasets",
        type=Path,
        default=DATASETS,
        help=f"folder of app_schema.sql and app_data.sql (default: {DATASETS})",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="LABEL=EXE",
        help="also time another pgferry build next to this one (superuser QA), e.g. "
        "before=/path/to/old/.venv/bin/pgferry (repeatable)",
    )
    args = parser.parse_args(argv)
    if any("=" not in a for a in args.also):
        parser.error("--also takes LABEL=EXE")
    if args.scale <= 0:
        parser.error("--scale must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, terminate)
    try:
        also = [(label, exe) for label, _, exe in (a.partition("=") for a in args.also)]
        fig = bench(choose_install(args.pg_major), args.scale, args.datasets, also)
    except KeyboardInterrupt:
        say("interrupted; clusters removed")
        return 130
    except (BenchError, pgferry.PgferryError, psycopg.Error, OSError) as exc:
        say(f"error: {exc}")
        return 1
    print(render(fig))
    if args.json:
        args.json.write_text(json.dumps(figures_json(fig), indent=2, default=str) + "\n")
        say(f"figures written to {args.json}")
    # correctness, not timing, decides the exit code
    return 0 if correct_where_expected(fig) else 1


if __name__ == "__main__":
    sys.exit(main())
