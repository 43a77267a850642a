"""Benchmark ``pgferry migrate`` with masks against the same run unmasked, and time
``pgferry pii scan``.

Issue 14's measure: ``migrate`` at scale 1 of the app data set with masks on
``users.email``, ``clients.name``, ``clients.email``, ``clients.phone`` and
``orders.notes`` (a million rows at scale 1) against the same run unmasked,
same data, same run: at most 1.3x.  Also the scanner's time on the corpora and
the app data set.

One run starts two throwaway PostgreSQL clusters with durable settings (fsync
and synchronous_commit on), "prod" and "qa", from the same install.  prod gets
``app_schema.sql`` + ``app_data.sql`` at ``--scale`` (psql ``-v scale=N``), QA
the schema.  One untimed warm-up ``migrate`` fills QA, then ``--rounds``
rounds (default 3) each time both arms, in alternating order (unmasked first
in odd rounds, masked first in even ones), with a CHECKPOINT on both clusters
before each clock starts:

- **unmasked**: ``pgferry migrate --from PROD --to QA --yes --no-backup
  --no-report --json``, run in a folder without a ``pgferry.toml``;
- **masked**: the same command in a folder whose ``pgferry.toml`` holds the five
  rules (:data:`MASK_TOML`), with ``PGFERRY_MASK_KEY`` set to a fixed test key
  (both arms get the same environment).

Every run is checked before its time counts: QA's row counts equal prod's (the
migration history pgferry never copies keeps QA's own rows), every table's
content hash equals prod's (unmasked), or, masked: every unmasked table's hash
and the hash of the unmasked columns of each masked table equal prod's (and
``sum(orders.total)``), no masked column holds production's value for the same
id on a sample of rows, NULL stays NULL and only NULL, and the masked columns
are the same in every masked run (deterministic).

Then ``pgferry pii scan --from URL --json`` is timed ``--rounds`` times on the app
data set and on each corpus of ``../shared/corpora`` (each loaded into its own
database of the prod cluster, as tests/test_migrate_corpora.py loads it), and
its seconds per database printed.  The corpora are skipped, saying so, where
that folder is absent.

This is a measurement, not a test: the exit code is 1 only if a check failed, a
command exited with an unexpected code, or the benchmark could not run.

Run with ``make bench-mask`` or ``.venv/bin/python bench/mask_bench.py --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATASETS = SHARED / "datasets"
CORPORA = SHARED / "corpora"
PROD_DB = "app"
QA_DB = "qa"
#: Both clusters: a WAL allowance large enough that a load's checkpoints do not
#: land in a timing; every other setting is the default (durable).
SETTINGS = {"max_wal_size": "4GB"}
TARGET_RATIO = 1.3
TARGET_SCALE = 1.0

#: A fixed test key: the same masks in every run of the benchmark.
MASK_KEY = "pgferry-bench-mask-key-not-a-secret-0123456789"
MASK_TOML = """\
[mask.users]
email = "email"

[mask.clients]
name = "company"
email = "email"
phone = "phone"

[mask.orders]
notes = "lorem"
"""
#: The masked columns, by table (all in public, each with an ``id`` primary key).
MASKED: dict[str, tuple[str, ...]] = {
    "users": ("email",),
    "clients": ("name", "email", "phone"),
    "orders": ("notes",),
}
#: Tables pgferry never copies by default (docs/migrate.md): QA keeps its own rows.
PGFERRY_KEEPS = ("public._prisma_migrations",)
#: Whose CPU time each run records.
CPU_OF = ("pgferry", "prod", "qa")
#: Rows per masked table whose masked values are compared with production's.
SAMPLE_ROWS = 2000

#: The corpora scanned, each in its own database of the prod cluster: (database,
#: files under ../shared/corpora), as tests/test_migrate_corpora.py loads them.
#: pgcopydb's unit/, cdc-* and extensions/ need set-up (a search_path, pagila
#: underneath, PostGIS) and are left out.
CORPUS_DATABASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pagila", ("pagila/pagila-schema.sql", "pagila/pagila-data.sql")),
    ("chinook_serial", ("chinook/chinook-serial.sql",)),
    ("chinook_identity", ("chinook/chinook-identity.sql",)),
    ("chinook_quoted", ("chinook/chinook-quoted.sql",)),
    ("northwind", ("northwind/northwind.sql",)),
    ("pgsync_schema1", ("pgsync/schema1.sql",)),
    (
        "neon_happiness_periodic",
        ("samples/neon/happiness_index.sql", "samples/neon/periodic_table.sql"),
    ),
    ("neon_netflix", ("samples/neon/netflix.sql",)),
    ("exercises", ("samples/pgexercises/clubdata.sql",)),  # its GRANTs name "exercises"
    ("iso_3166", ("samples/iso-3166/iso-3166.sql",)),
    ("pgcopydb_filtering_extra", ("pgcopydb/filtering/extra.sql",)),
    ("pgcopydb_partitioned_source", ("pgcopydb/partitioned-target/source.sql",)),
)
#: The scripts that make and enter their own database (chinook, pgexercises): those
#: lines are left out and the script runs in the database made for it.
_DATABASE_SWITCH = re.compile(
    r"^(?:DROP DATABASE IF EXISTS \w+|CREATE DATABASE \w+|\\c \w+);?[ \t]*$\n?",
    re.MULTILINE | re.IGNORECASE,
)

_TABLES = """
SELECT n.nspname, c.relname
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'pgferry')
  AND n.nspname NOT LIKE 'pg\\_temp%%'
ORDER BY 1, 2
"""
_COLUMNS = """
SELECT attname FROM pg_catalog.pg_attribute
WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum
"""


# -- figures ----------------------------------------------------------------------


@dataclass
class Run:
    """One timed ``pgferry migrate`` and what its checks found."""

    arm: str  # "unmasked" or "masked"
    round: int  # 0: the warm-up, not counted
    seconds: float
    pgferry_seconds: float = 0.0  # the run's own figure from --json
    #: CPU seconds (user + system) of the pgferry process, of prod's and of QA's server
    cpu: dict[str, float] = field(default_factory=dict)
    table_seconds: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return not self.problems


@dataclass
class Spread:
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else 0.0

    @property
    def low(self) -> float:
        return min(self.runs) if self.runs else 0.0

    @property
    def high(self) -> float:
        return max(self.runs) if self.runs else 0.0

    def text(self, places: int = 2) -> str:
        if not self.runs:
            return "-"
        return f"{self.median:.{places}f} ({self.low:.{places}f}-{self.high:.{places}f})"


@dataclass
class ScanTiming:
    """``pgferry pii scan`` on one database."""

    database: str
    what: str
    runs: list[float] = field(default_factory=list)
    exit_code: int | None = None
    tables: int = 0
    columns: int = 0
    findings: int = 0
    found: list[str] = field(default_factory=list)  # table.column: kind
    problem: str = ""  # could not load or scan

    @property
    def spread(self) -> Spread:
        return Spread(self.runs)


@dataclass
class Figures:
    """Everything one run measured; written with ``--json``."""

    postgresql_version: str
    postgresql_source: str
    cpus: int
    scale: float
    rounds: int
    settings: dict[str, str] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)  # rows in prod
    prod_bytes: int = 0
    load_seconds: float = 0.0
    commands: dict[str, str] = field(default_factory=dict)
    mask_toml: str = MASK_TOML
    runs: list[Run] = field(default_factory=list)
    ratio: float = 0.0
    target_met: bool = False
    scans: list[ScanTiming] = field(default_factory=list)
    corpora_note: str = ""
    target_values: dict[str, float] = field(
        default_factory=lambda: {"masked_over_unmasked_at_most": TARGET_RATIO}
    )

    def counted(self, arm: str) -> list[Run]:
        return [r for r in self.runs if r.arm == arm and r.round > 0]

    def spread(self, arm: str) -> Spread:
        return Spread([r.seconds for r in self.counted(arm)])

    @property
    def correct(self) -> bool:
        return all(r.correct for r in self.runs) and not any(s.problem for s in self.scans)


# -- helpers ----------------------------------------------------------------------


def run(
    argv: Sequence[str], cwd: str | None = None, env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        env=env if env is not None else clean_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started, proc


def psql(install: PgInstall, url: str, *args: str, stdin: str | None = None) -> None:
    """The install's psql with ON_ERROR_STOP, for setting up (never timed)."""
    cmd = [str(install.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, *args]
    proc = subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, env=clean_env(), check=False
    )
    if proc.returncode != 0:
        raise BenchError(f"psql {' '.join(args)} failed: {proc.stderr.strip()[-2000:]}")


def create_database(cluster: Cluster, name: str) -> str:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return cluster.url(name)


def checkpoint(*clusters: Cluster) -> None:
    for c in clusters:
        with psycopg.connect(c.url(), autocommit=True) as conn:
            conn.execute("CHECKPOINT")


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int, children: bool) -> float:
    """utime + stime of *pid* from /proc (with *children*: of its reaped children too)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rpartition(")")[2].split()  # after the command name, from the state on
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICK


def server_cpu(cluster: Cluster) -> float:
    """CPU seconds the server has used so far: its postmaster with every backend it has
    reaped, plus the processes still running under it (checkpointer, WAL writer, ...).
    Linux only (0 elsewhere)."""
    try:
        postmaster = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = _proc_cpu(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(Path(entry, "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == postmaster:
            total += _proc_cpu(int(entry.name), children=False)
    return total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_settings(url: str) -> tuple[str, dict[str, str]]:
    names = ("fsync", "synchronous_commit", "shared_buffers", "max_wal_size", "wal_level")
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('server_version')").fetchone()
        values = {
            n: str(v[0])
            for n in names
            if (v := conn.execute("SELECT current_setting(%s)", (n,)).fetchone())
        }
    return (str(row[0]) if row else "?"), values


# -- what a run must leave in QA ------------------------------------------------------


@dataclass
class Content:
    """What the checks compare: counts and content hashes of one database."""

    counts: dict[str, int]
    #: every table's ``sum(hashtextextended(t::text, 0))``
    whole: dict[str, int]
    #: per masked table, the same over its unmasked columns
    unmasked: dict[str, int]
    #: per masked table, the same over its masked columns (determinism across runs)
    masked: dict[str, int]
    #: per masked table, NULLs per masked column
    nulls: dict[str, tuple[int, ...]]
    orders_total: str


def _hash(conn: psycopg.Connection[Any], table: str, columns: Sequence[str] | None) -> int:
    row_sql = (
        sql.SQL("t::text")
        if columns is None
        else sql.SQL("ROW({})::text").format(sql.SQL(", ").join(map(sql.Identifier, columns)))
    )
    query = sql.SQL(
        "SELECT coalesce(sum(pg_catalog.hashtextextended({r}, 0)), 0) FROM ONLY {t} t"
    ).format(r=row_sql, t=sql.Identifier(*table.split(".", 1)))
    found = conn.execute(query).fetchone()
    return int(found[0]) if found else 0


def content(url: str) -> Content:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [f"{s}.{n}" for s, n in conn.execute(_TABLES).fetchall()]
        counts: dict[str, int] = {}
        whole: dict[str, int] = {}
        for t in tables:
            found = conn.execute(
                sql.SQL("SELECT count(*) FROM ONLY {}").format(sql.Identifier(*t.split(".", 1)))
            ).fetchone()
            counts[t] = int(found[0]) if found else -1
            whole[t] = _hash(conn, t, None)
        unmasked: dict[str, int] = {}
        masked: dict[str, int] = {}
        nulls: dict[str, tuple[int, ...]] = {}
        for name, cols in MASKED.items():
            t = f"public.{name}"
            every = [str(r[0]) for r in conn.execute(_COLUMNS, (f'"public"."{name}"',))]
            unmasked[t] = _hash(conn, t, [c for c in every if c not in cols])
            masked[t] = _hash(conn, t, list(cols))
            found = conn.execute(
                sql.SQL("SELECT {} FROM ONLY {}").format(
                    sql.SQL(", ").join(
                        sql.SQL("count(*) FILTER (WHERE {} IS NULL)").format(sql.Identifier(c))
                        for c in cols
                    ),
                    sql.Identifier("public", name),
                )
            ).fetchone()
            nulls[t] = tuple(int(x) for x in found) if found else ()
        found = conn.execute("SELECT sum(total)::text FROM ONLY public.orders").fetchone()
        total = str(found[0]) if found else ""
    return Content(counts, whole, unmasked, masked, nulls, total)


Sample = dict[str, dict[int, tuple[str | None, ...]]]


def sample_ids(url: str) -> dict[str, list[int]]:
    """Per masked table, a pseudo-random sample of ids (by a hash of the id)."""
    out: dict[str, list[int]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name in MASKED:
            rows = conn.execute(
                sql.SQL(
                    "SELECT id FROM ONLY {} ORDER BY pg_catalog.hashint8(id::bigint) LIMIT {}"
                ).format(sql.Identifier("public", name), sql.Literal(SAMPLE_ROWS))
            ).fetchall()
            out[name] = [int(r[0]) for r in rows]
    return out


def sample(url: str, ids: dict[str, list[int]]) -> Sample:
    out: Sample = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, cols in MASKED.items():
            rows = conn.execute(
                sql.SQL("SELECT id, {} FROM ONLY {} WHERE id = ANY(%s)").format(
                    sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in cols),
                    sql.Identifier("public", name),
                ),
                (ids[name],),
            ).fetchall()
            out[name] = {int(r[0]): tuple(r[1:]) for r in rows}
    return out


@dataclass
class Reference:
    """Production's side of every check, read once before the rounds."""

    content: Content
    ids: dict[str, list[int]]
    sample: Sample
    masked_hash: dict[str, int] | None = None  # the first masked run's (determinism)


def check(ref: Reference, qa_url: str, arm: str) -> list[str]:
    """What is wrong with QA after one run of *arm* (nothing: the time counts)."""
    qa = content(qa_url)
    want = ref.content
    problems: list[str] = []
    for t, n in want.counts.items():
        expected = 0 if t in PGFERRY_KEEPS else n  # QA's own (empty) migration history
        if qa.counts.get(t) != expected:
            problems.append(f"{t}: {qa.counts.get(t)} rows in QA, expected {expected}")
    masked_tables = {f"public.{t}" for t in MASKED} if arm == "masked" else set()
    for t, h in want.whole.items():
        if t in PGFERRY_KEEPS or t in masked_tables:
            continue
        if qa.whole.get(t) != h:
            problems.append(f"{t}: content differs from production's")
    if arm == "unmasked":
        return problems
    for t in masked_tables:
        if qa.unmasked[t] != want.unmasked[t]:
            problems.append(f"{t}: the unmasked columns differ from production's")
        if qa.nulls[t] != want.nulls[t]:
            problems.append(f"{t}: NULLs per masked column {qa.nulls[t]}, prod {want.nulls[t]}")
        if qa.masked[t] == want.masked[t]:
            problems.append(f"{t}: the masked columns hash as production's")
    if qa.orders_total != want.orders_total:
        problems.append(f"sum(orders.total) {qa.orders_total}, prod {want.orders_total}")
    if ref.masked_hash is None:
        ref.masked_hash = dict(qa.masked)
    elif ref.masked_hash != qa.masked:
        problems.append("the masked columns differ from the first masked run's: not deterministic")
    got = sample(qa_url, ref.ids)
    for name, cols in MASKED.items():
        leaked = {c: 0 for c in cols}
        for id_, prod_values in ref.sample[name].items():
            qa_values = got[name].get(id_)
            if qa_values is None:
                problems.append(f"public.{name}: id {id_} missing in QA")
                continue
            for c, p, q in zip(cols, prod_values, qa_values, strict=True):
                if (p is None) != (q is None):
                    problems.append(f"public.{name}.{c}: id {id_} NULL on one side only")
                elif p is not None and p == q:
                    leaked[c] += 1
        for c, n in leaked.items():
            if n:
                problems.append(
                    f"public.{name}.{c}: {n} of {len(ref.sample[name])} sampled rows hold "
                    "production's value"
                )
    return problems


# -- the migrate rounds ---------------------------------------------------------------


def migrate_once(argv: list[str], cwd: str, env: dict[str, str], arm: str, number: int) -> Run:
    seconds, proc = run(argv, cwd, env)
    r = Run(arm, number, seconds)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        r.problems.append(f"pgferry migrate exited {proc.returncode}: {tail}")
        return r
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        r.problems.append("pgferry migrate --json printed no JSON")
        return r
    if not data.get("ok"):
        r.problems.append(f"pgferry migrate reported ok={data.get('ok')}: {data.get('error')}")
    r.pgferry_seconds = float(data.get("seconds", 0))
    r.table_seconds = {
        str(t.get("table")): float(t.get("seconds", 0)) for t in data.get("tables") or []
    }
    return r


def rounds(
    fig: Figures,
    clusters: tuple[Cluster, Cluster],
    prod_url: str,
    qa_url: str,
    ref: Reference,
    n: int,
) -> None:
    exe = pgferry_executable()
    plain_dir = tempfile.mkdtemp(prefix="pgferry-mbench-plain-")  # no pgferry.toml
    masked_dir = tempfile.mkdtemp(prefix="pgferry-mbench-masked-")
    try:
        Path(masked_dir, "pgferry.toml").write_text(MASK_TOML)
        argv = [
            exe,
            *("migrate", "--from", prod_url, "--to", qa_url),
            *("--yes", "--no-backup", "--no-report", "--json"),
        ]
        env = clean_env() | {"PGFERRY_MASK_KEY": MASK_KEY}  # both arms alike
        cwd = {"unmasked": plain_dir, "masked": masked_dir}
        fig.commands = {
            "unmasked": f"(cd <empty folder> && {pgferry.mask(shlex.join(argv))})",
            "masked": "(cd <folder with the pgferry.toml below> && "
            f"PGFERRY_MASK_KEY=<fixed test key> {pgferry.mask(shlex.join(argv))})",
        }
        schedule = [(0, "unmasked")]
        for number in range(1, n + 1):
            pair = ["unmasked", "masked"] if number % 2 else ["masked", "unmasked"]
            schedule += [(number, arm) for arm in pair]
        for number, arm in schedule:
            checkpoint(*clusters)
            what = "warm-up (not counted)" if number == 0 else f"round {number}/{n}"
            before = (children_cpu(), *(server_cpu(c) for c in clusters))
            r = migrate_once(argv, cwd[arm], env, arm, number)
            after = (children_cpu(), *(server_cpu(c) for c in clusters))
            r.cpu = {k: round(b - a, 2) for k, a, b in zip(CPU_OF, before, after, strict=True)}
            if r.correct:
                r.problems = check(ref, qa_url, arm)
            verdict = "checks ok" if r.correct else "WRONG: " + "; ".join(r.problems[:3])
            say(f"{what}, {arm}: {r.seconds:.2f} s; {verdict}")
            fig.runs.append(r)
            if not r.correct and proc_failed(r):
                raise BenchError(f"{arm} run failed: {r.problems[0]}")
    finally:
        shutil.rmtree(plain_dir, ignore_errors=True)
        shutil.rmtree(masked_dir, ignore_errors=True)


def proc_failed(r: Run) -> bool:
    """The run itself failed (not only a check): the later rounds would too."""
    return any(p.startswith("pgferry migrate") for p in r.problems)


# -- pii scan -------------------------------------------------------------------------


def corpus_sql(path: Path) -> str:
    return _DATABASE_SWITCH.sub("", path.read_text(encoding="utf-8"))


def load_corpora(install: PgInstall, cluster: Cluster, corpora: Path) -> list[ScanTiming]:
    out: list[ScanTiming] = []
    for dbname, files in CORPUS_DATABASES:
        timing = ScanTiming(dbname, "corpus: " + " + ".join(Path(f).name for f in files))
        out.append(timing)
        paths = [corpora / f for f in files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            timing.problem = f"absent: {', '.join(missing)}"
            continue
        say(f"prod: loading corpus {dbname} ({', '.join(files)})")
        try:
            url = create_database(cluster, dbname)
            for p in paths:
                psql(install, url, stdin=corpus_sql(p))
        except (BenchError, psycopg.Error) as exc:
            timing.problem = f"could not load: {exc}"
    return out


def scan_database(timing: ScanTiming, url: str, n: int, workdir: str) -> None:
    argv = [pgferry_executable(), "pii", "scan", "--from", url, "--json"]
    for _ in range(n):
        seconds, proc = run(argv, workdir)
        if proc.returncode not in (0, 1):  # 1: personal columns without a rule
            tail = (proc.stderr or proc.stdout).strip()[-1500:]
            timing.problem = f"pgferry pii scan exited {proc.returncode}: {tail}"
            return
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            said = (proc.stderr.strip() or proc.stdout.strip())[-1500:]
            timing.problem = f"pgferry pii scan exited {proc.returncode} without JSON: {said}"
            return
        timing.runs.append(seconds)
        timing.exit_code = proc.returncode
        timing.tables = int(data.get("tables", 0))
        timing.columns = int(data.get("columns", 0))
        findings = data.get("findings") or []
        timing.findings = len(findings)
        timing.found = [f"{f.get('table')}.{f.get('column')}: {f.get('kind')}" for f in findings]
    say(f"pii scan {timing.database}: {timing.spread.text()} s, {timing.findings} findings")


# -- the run --------------------------------------------------------------------------


def bench(
    install: PgInstall, scale: float, datasets: Path, corpora: Path, n: int, with_corpora: bool
) -> Figures:
    for f in ("app_schema.sql", "app_data.sql"):
        if not (datasets / f).is_file():
            raise BenchError(f"{datasets / f} is absent (see --datasets)")
    prod = Cluster(install, name="mbench-prod", fast=False, settings=dict(SETTINGS))
    qa = Cluster(install, name="mbench-qa", fast=False, settings=dict(SETTINGS))
    workdir = tempfile.mkdtemp(prefix="pgferry-mbench-")  # no pgferry.toml of the caller
    try:
        for c in (prod, qa):
            say(f"starting PostgreSQL {install.version} ({install.source}) in {c.basedir}")
            c.start()
        prod_url, qa_url = create_database(prod, PROD_DB), create_database(qa, QA_DB)
        version, settings = server_settings(prod_url)
        fig = Figures(
            postgresql_version=version,
            postgresql_source=f"{install.source}: {install.bindir}",
            cpus=os.cpu_count() or 1,
            scale=scale,
            rounds=n,
            settings=settings,
        )
        say(f"prod: loading app_schema.sql + app_data.sql at scale {scale:g}")
        started = time.perf_counter()
        psql(install, prod_url, "-f", str(datasets / "app_schema.sql"))
        psql(install, prod_url, "-v", f"scale={scale:g}", "-f", str(datasets / "app_data.sql"))
        psql(install, qa_url, "-f", str(datasets / "app_schema.sql"))
        with psycopg.connect(prod_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            found = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            fig.prod_bytes = int(found[0]) if found else 0
        fig.load_seconds = time.perf_counter() - started

        say("reading production's side of the checks (counts, hashes, a sample of ids)")
        ids = sample_ids(prod_url)
        ref = Reference(content(prod_url), ids, sample(prod_url, ids))
        fig.tables = ref.content.counts
        rounds(fig, (prod, qa), prod_url, qa_url, ref, n)
        unmasked, masked = fig.spread("unmasked"), fig.spread("masked")
        fig.ratio = masked.median / unmasked.median if unmasked.median else 0.0
        fig.target_met = fig.correct and fig.ratio <= TARGET_RATIO

        startup = ScanTiming("-", "start-up alone: pgferry --version (for reference)")
        fig.scans.append(startup)
        for _ in range(n):
            seconds, proc = run([pgferry_executable(), "--version"], workdir)
            if proc.returncode == 0:
                startup.runs.append(seconds)
        app = ScanTiming(PROD_DB, f"app data set, scale {scale:g}")
        fig.scans.append(app)
        scan_database(app, prod_url, n, workdir)
        if not with_corpora:
            fig.corpora_note = "corpora not scanned (--no-corpora)"
        elif not corpora.is_dir():
            fig.corpora_note = f"corpora skipped: {corpora} is absent (see --corpora)"
            say(fig.corpora_note)
        else:
            for timing in load_corpora(install, prod, corpora):
                fig.scans.append(timing)
                if not timing.problem:
                    scan_database(timing, prod.url(timing.database), n, workdir)
        return fig
    finally:
        for c in (prod, qa):
            c.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# -- reporting ------------------------------------------------------------------------


def render(fig: Figures) -> str:
    rows_total = sum(fig.tables.values())
    lines = [
        f"PostgreSQL {fig.postgresql_version} ({fig.postgresql_source}), {fig.cpus} CPUs; "
        "prod and QA: two throwaway clusters on 127.0.0.1; "
        + ", ".join(f"{k} {v}" for k, v in fig.settings.items()),
        f"data: app_schema.sql + app_data.sql at scale {fig.scale:g}: {rows_total:,} rows in "
        f"{len(fig.tables)} tables, prod database {fig.prod_bytes / 1e6:.0f} MB "
        f"(load {fig.load_seconds:.0f} s); orders: {fig.tables.get('public.orders', 0):,} rows",
        f"one warm-up run, then {fig.rounds} rounds of both arms, order alternating; "
        "CHECKPOINT on both clusters before each clock starts",
        "",
        "commands:",
        f"  unmasked: {fig.commands.get('unmasked', '')}",
        f"  masked:   {fig.commands.get('masked', '')}",
        "  pgferry.toml of the masked arm:",
        *[f"    {line}" for line in fig.mask_toml.splitlines()],
        "",
    ]
    rows: list[tuple[str, ...]] = [
        ("round", "arm", "seconds", "pgferry's own", "CPU pgferry", "prod", "QA", "checks")
    ]
    for r in fig.runs:
        rows.append(
            (
                "warm-up" if r.round == 0 else str(r.round),
                r.arm,
                f"{r.seconds:.2f}",
                f"{r.pgferry_seconds:.2f}",
                *(f"{r.cpu.get(k, 0):.2f}" for k in CPU_OF),
                "ok" if r.correct else "WRONG",
            )
        )
    lines += table(rows, right=(2, 3, 4, 5, 6))
    unmasked, masked = fig.spread("unmasked"), fig.spread("masked")
    lines += [
        "",
        f"unmasked: median {unmasked.median:.2f} s, range {unmasked.low:.2f}-{unmasked.high:.2f}"
        f" s ({len(unmasked.runs)} runs)",
        f"masked:   median {masked.median:.2f} s, range {masked.low:.2f}-{masked.high:.2f}"
        f" s ({len(masked.runs)} runs)",
        f"masked / unmasked (medians) = {fig.ratio:.2f}x; target <= {TARGET_RATIO:g}x: "
        + ("met" if fig.target_met else "not met"),
        "",
        "CPU seconds (user + system), median per arm: the pgferry process (RUSAGE_CHILDREN), "
        "and each server (postmaster, its reaped backends and its live processes, /proc):",
    ]
    for arm in ("unmasked", "masked"):
        counted = fig.counted(arm)
        cpu = {k: Spread([r.cpu.get(k, 0) for r in counted]).median for k in CPU_OF}
        wall = fig.spread(arm).median
        total = sum(cpu.values())
        lines.append(
            f"  {arm + ':':<10}pgferry {cpu['pgferry']:.1f}, prod {cpu['prod']:.1f}, "
            f"QA {cpu['qa']:.1f}; sum {total:.1f} over {wall:.1f} s of wall clock "
            f"({total / wall if wall else 0:.2f} of {fig.cpus} CPUs busy)"
        )
    if fig.scale != TARGET_SCALE:
        lines.append(f"note: the target is set for scale {TARGET_SCALE:g}; indicative here")
    per_table: dict[str, dict[str, Spread]] = {}
    for arm in ("unmasked", "masked"):
        counted = fig.counted(arm)
        for name in sorted({t for r in counted for t in r.table_seconds}):
            per_table.setdefault(name, {})[arm] = Spread(
                [r.table_seconds[name] for r in counted if name in r.table_seconds]
            )
    if per_table:
        lines += [
            "",
            "per table, from pgferry's --json (its worker's COPY, index builds and ANALYZE; "
            "median (range) seconds):",
        ]
        trows: list[tuple[str, ...]] = [("table", "rows", "unmasked", "masked", "masked rule")]
        for name, arms in sorted(per_table.items(), key=lambda kv: -kv[1]["unmasked"].median):
            short = name.removeprefix("public.")
            trows.append(
                (
                    name,
                    f"{fig.tables.get(name, 0):,}",
                    arms["unmasked"].text() if "unmasked" in arms else "-",
                    arms["masked"].text() if "masked" in arms else "-",
                    ", ".join(MASKED.get(short, ())),
                )
            )
        lines += table(trows, right=(1, 2, 3))
    lines += [
        "",
        "checks before a time counts: row counts equal prod's (the migration history keeps "
        "QA's own); unmasked: every table's content hash equals prod's; masked: unmasked "
        "tables' hashes, the masked tables' unmasked columns and sum(orders.total) equal prod's, "
        f"no masked value equals prod's for the same id ({SAMPLE_ROWS} sampled rows a table), "
        "NULLs where prod has NULL only, masked columns the same in every masked run",
    ]
    for r in fig.runs:
        for p in r.problems[:10]:
            lines.append(f"  {r.arm} round {r.round}: {p}")
    lines += ["", "pgferry pii scan --from URL --json, wall clock, median (range) seconds:"]
    srows: list[tuple[str, ...]] = [
        ("database", "what", "seconds", "tables", "columns", "findings", "exit")
    ]
    for s in fig.scans:
        srows.append(
            (
                s.database,
                s.what,
                s.spread.text() if not s.problem else "-",
                *(
                    (str(s.tables), str(s.columns), str(s.findings))
                    if s.database != "-"
                    else ("", "", "")
                ),
                "" if s.exit_code is None else str(s.exit_code),
            )
        )
    lines += table(srows, right=(3, 4, 5, 6))
    if fig.corpora_note:
        lines.append(fig.corpora_note)
    for s in fig.scans:
        if s.problem:
            lines.append(f"  {s.database}: {s.problem}")
    app = next((s for s in fig.scans if s.database == PROD_DB), None)
    if app and app.found:
        lines += [f"  found in the app data set: {', '.join(app.found)}"]
    lines.append(
        "  (exit 1: personal columns without a rule, as expected with no pgferry.toml; "
        "each database scanned once per round)"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time `pgferry migrate` with masks on five personal columns against the "
        "same run unmasked (interleaved rounds, checked), and `pgferry pii scan` on the app "
        "data set and the corpora, on two throwaway PostgreSQL clusters (fsync on)."
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="app_data.sql scale (default 1: about 5 M rows)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both arms (default 3)")
    parser.add_argument(
        "--pg-major", type=int, help="PostgreSQL major version (default: the first found)"
    )
    parser.add_argument(
        "--datasets",
        type=Path,
        default=DATASETS,
        help=f"folder of app_schema.sql and app_data.sql (default: {DATASETS})",
    )
    parser.add_argument(
        "--corpora", type=Path, default=CORPORA, help=f"the corpora (default: {CORPORA})"
    )
    parser.add_argument("--no-corpora", action="store_true", help="scan the app data set only")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.rounds < 1:
        parser.error("--scale must be positive and --rounds at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, terminate)
    try:
        fig = bench(
            choose_install(args.pg_major),
            args.scale,
            args.datasets,
            args.corpora,
            args.rounds,
            not args.no_corpora,
        )
    except KeyboardInterrupt:
        say("interrupted; clusters removed")
        return 130
    except (BenchError, pgferry.PgferryError, psycopg.Error, OSError) as exc:
        say(f"error: {exc}")
        return 1
    print(render(fig))
    if args.json:
        args.json.write_text(json.dumps(asdict(fig), indent=2, default=str) + "\n")
        say(f"figures written to {args.json}")
    # correctness, not timing, decides the exit code
    return 0 if fig.correct else 1


if __name__ == "__main__":
    sys.exit(main())
