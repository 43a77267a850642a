"""Benchmark ``pgferry verify --checksums`` against a plain count pass plus one full scan.

The issue's target: ``verify --checksums`` on the benchmark data set (scale 1)
in at most 1.5x the time of a plain ``SELECT count(*)`` pass over the same
tables plus one full scan, on each side.

One run starts two throwaway PostgreSQL clusters with durable settings (fsync
and synchronous_commit on), "prod" and "qa", from the same install.  It loads
``app_schema.sql`` + ``app_data.sql`` at ``--scale`` into prod and the schema
into QA, copies the data with ``pgferry migrate --yes --no-report`` (timed for
information only), runs VACUUM ANALYZE and CHECKPOINT on both, reads every
table once on both (so every figure is taken with warm caches), then times,
best of ``--repeat`` runs each:

a. the count pass: ``SELECT count(*) FROM ONLY t`` for every table verify
   compares, one session per side, prod then QA;
b. the full scan: ``SELECT sum(length(t::text)) FROM ONLY t t`` for the same
   tables (it reads every row and every column and writes each row as text:
   the work any content comparison has to do), prod then QA;
c. ``pgferry verify --from PROD --to QA --checksums --no-insert-check --json``
   as the real CLI, wall clock (Python start-up, both catalogs, sequence and
   foreign-key checks included), and the same with the insert check;
d. for the breakdown: ``pgferry verify`` without checksums (counts only, no
   insert check): the fixed cost around the hashing.

The verdict is c / (a + b) <= 1.5, with a and b the sum of both sides run one
after the other (the literal reading: "a count pass plus one full scan on each
side").  verify hashes both sides at the same time, so the ratio against a and
b with both sides run at the same time is printed too (the stricter reading).

Then, for where the time goes, each content expression is timed on prod alone
(one session, table after table): the scan above, verify's
``hashtextextended(ROW(...)::text)``, the same over the whole-row reference,
an ``md5`` of the row text, and ``hash_record_extended`` (no text at all;
PostgreSQL 14+, and only for types with a hash function, so not usable by
verify in general).

This is a measurement, not a test: the exit code is 1 only when verify does
not report QA equal to prod, or the benchmark could not run.

Run with ``make bench-verify`` or ``.venv/bin/python bench/verify_bench.py --help``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

import pgferry
from benchlib import BenchError, choose_install, clean_env, pgferry_executable, say, terminate
from pgferry.embedded import Cluster, PgInstall
from pgferry.plan import build_plan

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DBNAME = "app"
#: Both clusters: a WAL allowance large enough that the load's checkpoints do
#: not land in a timing.
SETTINGS = {"max_wal_size": "4GB"}
TARGET_RATIO = 1.5
TARGET_SCALE = 1.0

SCAN_EXPRESSION = "sum(length(t::text))"

#: Content expressions timed on prod for the breakdown: (label, SELECT list).
#: ``{row}`` is ``ROW(col, ...)`` over the compared columns, ``t`` the whole row.
HASH_VARIANTS: tuple[tuple[str, str], ...] = (
    ("count(*) only", "count(*)"),
    ("full scan: sum(length(t::text))", "sum(length(t::text))"),
    (
        "verify: sum(hashtextextended(ROW(cols)::text, 0))",
        "count(*), sum(pg_catalog.hashtextextended({row}::text, 0))",
    ),
    (
        "sum(hashtextextended(t::text, 0)) (whole row)",
        "sum(pg_catalog.hashtextextended(t::text, 0))",
    ),
    (
        "md5(ROW(cols)::text), 64 bits summed",
        "sum(('x' || substr(md5({row}::text), 1, 16))::bit(64)::bigint)",
    ),
    ("sum(hash_record_extended(ROW(cols), 0)) (PG 14+)", "sum(hash_record_extended({row}, 0))"),
)


@dataclass
class Timing:
    label: str
    runs: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def best(self) -> float:
        return min(self.runs) if self.runs else 0.0


@dataclass
class Figures:
    """Everything one run measured; written with ``--json``."""

    postgresql_version: str
    postgresql_source: str
    cpus: int
    scale: float
    repeat: int
    settings: dict[str, str] = field(default_factory=dict)
    tables: list[dict[str, Any]] = field(default_factory=list)
    total_rows: int = 0
    total_table_bytes: int = 0
    load_seconds: float = 0.0
    migrate_seconds: float = 0.0
    scan_expression: str = SCAN_EXPRESSION
    timings: dict[str, Timing] = field(default_factory=dict)
    command: str = ""
    verify_summary: str = ""
    verify_equal: bool = False
    ratio: float = 0.0
    ratio_concurrent_baseline: float = 0.0
    ratio_with_insert_check: float = 0.0
    target_met: bool = False
    variants: list[Timing] = field(default_factory=list)
    target_values: dict[str, float] = field(
        default_factory=lambda: {"ratio_at_most": TARGET_RATIO, "for_scale": TARGET_SCALE}
    )


# -- helpers ----------------------------------------------------------------------


def run(
    argv: Sequence[str], cwd: str | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started, proc


def psql(install: PgInstall, url: str, *args: str) -> None:
    cmd = [str(install.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, *args]
    _, proc = run(cmd)
    if proc.returncode != 0:
        raise BenchError(f"psql {' '.join(args)} failed: {proc.stderr.strip()[-2000:]}")


def best_of(repeat: int, label: str, fn: Callable[[], float], note: str = "") -> Timing:
    t = Timing(label, note=note)
    for _ in range(repeat):
        t.runs.append(fn())
    say(f"{label}: best {t.best:.2f} s of {', '.join(f'{x:.2f}' for x in t.runs)}")
    return t


# -- setting up -------------------------------------------------------------------


def create_database(cluster: Cluster) -> str:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DBNAME)))
    return cluster.url(DBNAME)


Tables = list[tuple[str, str, bool, list[str]]]


def compared_tables(prod_url: str, qa_url: str) -> Tables:
    """(schema, name, only, compared columns) of every table verify compares:
    pgferry's own plan."""
    with (
        pgferry.connect(pgferry.parse(prod_url, role="prod")) as p,
        pgferry.connect(pgferry.parse(qa_url, role="qa")) as q,
    ):
        plan = build_plan(pgferry.read_catalog(p), pgferry.read_catalog(q))
    if plan.blocking:
        raise BenchError(f"QA's schema does not fit: {plan.blocking[0].message}")
    return [(tp.source.schema, tp.source.name, tp.only, list(tp.columns)) for tp in plan.tables]


def vacuum(*urls: str) -> None:
    """Hint bits and visibility maps set, statistics fresh, no checkpoint pending."""
    for url in urls:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")


def describe(fig: Figures, url: str, tables: Tables) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for schema, name, only, _ in tables:
            ident = sql.Identifier(schema, name)
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), pg_catalog.pg_table_size({lit}::regclass) FROM {o}{t}"
                ).format(
                    lit=sql.Literal(f'"{schema}"."{name}"'),
                    o=sql.SQL("ONLY " if only else ""),
                    t=ident,
                )
            ).fetchone()
            assert row is not None
            fig.tables.append(
                {"table": f"{schema}.{name}", "rows": int(row[0]), "bytes": int(row[1])}
            )
    fig.total_rows = sum(t["rows"] for t in fig.tables)
    fig.total_table_bytes = sum(t["bytes"] for t in fig.tables)


def server_settings(url: str) -> tuple[str, dict[str, str]]:
    names = (
        "fsync",
        "synchronous_commit",
        "shared_buffers",
        "work_mem",
        "max_parallel_workers_per_gather",
        "jit",
    )
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('server_version')").fetchone()
        values = {
            n: str(v[0])
            for n in names
            if (v := conn.execute("SELECT current_setting(%s)", (n,)).fetchone())
        }
    return (str(row[0]) if row else "?"), values


# -- measuring --------------------------------------------------------------------


def _pass(url: str, tables: Tables, select: str) -> float:
    """One session: ``SELECT <select> FROM [ONLY] t t`` for every table; seconds."""
    with psycopg.connect(url, autocommit=True) as conn:
        queries = [
            sql.SQL("SELECT " + select + " FROM {o}{t} t").format(
                o=sql.SQL("ONLY " if only else ""), t=sql.Identifier(schema, name)
            )
            for schema, name, only, _ in tables
        ]
        started = time.perf_counter()
        for q in queries:
            conn.execute(q).fetchall()
        return time.perf_counter() - started


def sides_one_after_the_other(prod: str, qa: str, tables: Tables, select: str) -> float:
    return _pass(prod, tables, select) + _pass(qa, tables, select)


def sides_at_once(prod: str, qa: str, tables: Tables, select: str) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for f in [pool.submit(_pass, url, tables, select) for url in (prod, qa)]:
            f.result()
    return time.perf_counter() - started


def _workers(plan: Any) -> int:
    """Parallel workers planned anywhere in an EXPLAIN (FORMAT JSON) plan tree."""
    if isinstance(plan, dict):
        own = int(plan.get("Workers Planned", 0))
        return max([own, *(_workers(v) for v in plan.values())])
    if isinstance(plan, list):
        return max([0, *(_workers(v) for v in plan)])
    return 0


def workers_planned(url: str, table: tuple[str, str, bool, list[str]], select: str) -> int:
    """Parallel workers PostgreSQL plans for *select* over *table*."""
    schema, name, only, columns = table
    row = sql.SQL("ROW({})").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    query = sql.SQL("EXPLAIN (FORMAT JSON) SELECT " + select + " FROM {o}{t} t").format(
        row=row, o=sql.SQL("ONLY " if only else ""), t=sql.Identifier(schema, name)
    )
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(query).fetchone()
    return _workers(found[0]) if found else 0


def _variant(url: str, tables: Tables, select: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        queries = []
        for schema, name, only, columns in tables:
            row = sql.SQL("ROW({})").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))
            queries.append(
                sql.SQL("SELECT " + select + " FROM {o}{t} t").format(
                    row=row, o=sql.SQL("ONLY " if only else ""), t=sql.Identifier(schema, name)
                )
            )
        started = time.perf_counter()
        for q in queries:
            conn.execute(q).fetchall()
        return time.perf_counter() - started


# -- the run ----------------------------------------------------------------------


def bench(install: PgInstall, scale: float, datasets: Path, repeat: int) -> Figures:
    exe = pgferry_executable()
    for f in ("app_schema.sql", "app_data.sql"):
        if not (datasets / f).is_file():
            raise BenchError(f"{datasets / f} is absent (see --datasets)")
    prod = Cluster(install, name="vbench-prod", fast=False, settings=dict(SETTINGS))
    qa = Cluster(install, name="vbench-qa", fast=False, settings=dict(SETTINGS))
    workdir = tempfile.mkdtemp(prefix="pgferry-vbench-")  # no pgferry.toml of the caller
    try:
        for c in (prod, qa):
            say(f"starting PostgreSQL {install.version} ({install.source}) in {c.basedir}")
            c.start()
        prod_url, qa_url = create_database(prod), create_database(qa)
        version, settings = server_settings(prod_url)
        fig = Figures(
            postgresql_version=version,
            postgresql_source=f"{install.source}: {install.bindir}",
            cpus=os.cpu_count() or 1,
            scale=scale,
            repeat=repeat,
            settings=settings,
        )
        say(f"prod: loading app_schema.sql + app_data.sql at scale {scale:g}")
        started = time.perf_counter()
        psql(install, prod_url, "-f", str(datasets / "app_schema.sql"))
        psql(install, prod_url, "-v", f"scale={scale:g}", "-f", str(datasets / "app_data.sql"))
        psql(install, qa_url, "-f", str(datasets / "app_schema.sql"))
        fig.load_seconds = time.perf_counter() - started

        say("copying to QA: pgferry migrate --yes --no-report (not part of the figures)")
        fig.migrate_seconds, proc = run(
            [exe, "migrate", "--from", prod_url, "--to", qa_url, "--yes", "--no-report"], workdir
        )
        if proc.returncode != 0:
            raise BenchError(f"pgferry migrate exited {proc.returncode}: {proc.stderr[-2000:]}")
        say("VACUUM ANALYZE + CHECKPOINT on both sides")
        vacuum(prod_url, qa_url)
        tables = compared_tables(prod_url, qa_url)
        describe(fig, prod_url, tables)
        say(f"{len(tables)} tables, {fig.total_rows:,} rows, {fig.total_table_bytes / 1e6:.0f} MB")

        say("warming the caches: one full scan on each side (not timed)")
        sides_one_after_the_other(prod_url, qa_url, tables, SCAN_EXPRESSION)

        t = fig.timings
        t["a"] = best_of(
            repeat,
            "(a) count(*) pass, prod then QA",
            lambda: sides_one_after_the_other(prod_url, qa_url, tables, "count(*)"),
        )
        t["b"] = best_of(
            repeat,
            f"(b) full scan {SCAN_EXPRESSION}, prod then QA",
            lambda: sides_one_after_the_other(prod_url, qa_url, tables, SCAN_EXPRESSION),
        )
        t["a_at_once"] = best_of(
            repeat,
            "(a') count(*) pass, both sides at once",
            lambda: sides_at_once(prod_url, qa_url, tables, "count(*)"),
        )
        t["b_at_once"] = best_of(
            repeat,
            "(b') full scan, both sides at once",
            lambda: sides_at_once(prod_url, qa_url, tables, SCAN_EXPRESSION),
        )

        base = [exe, "verify", "--from", prod_url, "--to", qa_url]
        checksums = [*base, "--checksums", "--no-insert-check", "--json"]
        fig.command = shlex.join(checksums)

        def timed_verify(argv: list[str]) -> Callable[[], float]:
            def once() -> float:
                seconds, proc = run(argv, workdir)
                if proc.returncode != 0:
                    raise BenchError(
                        f"verify exited {proc.returncode}: {(proc.stderr or proc.stdout)[-2000:]}"
                    )
                if "--json" in argv:
                    data = json.loads(proc.stdout)
                    fig.verify_equal = bool(data["ok"]) and all(
                        x["content_equal"] for x in data["tables"]
                    )
                    fig.verify_summary = (
                        f"ok={data['ok']}, {len(data['tables'])} tables, content equal in "
                        f"{sum(1 for x in data['tables'] if x['content_equal'])}"
                    )
                return seconds

            return once

        t["c"] = best_of(
            repeat, "(c) pgferry verify --checksums --no-insert-check", timed_verify(checksums)
        )
        t["c_insert"] = best_of(
            repeat,
            "(c') pgferry verify --checksums (with the insert check)",
            timed_verify([*base, "--checksums"]),
        )
        t["d"] = best_of(
            repeat,
            "(d) pgferry verify, counts only, --no-insert-check",
            timed_verify([*base, "--no-insert-check"]),
        )
        baseline = t["a"].best + t["b"].best
        fig.ratio = t["c"].best / baseline if baseline else 0.0
        at_once = t["a_at_once"].best + t["b_at_once"].best
        fig.ratio_concurrent_baseline = t["c"].best / at_once if at_once else 0.0
        fig.ratio_with_insert_check = t["c_insert"].best / baseline if baseline else 0.0
        fig.target_met = fig.ratio <= TARGET_RATIO

        say("breakdown: content expressions on prod, one session")
        sizes = {t["table"]: t["bytes"] for t in fig.tables}
        largest = max(tables, key=lambda x: sizes.get(f"{x[0]}.{x[1]}", 0))
        for label, select in HASH_VARIANTS:
            if "hash_record_extended" in select and install.major < 14:
                continue
            timing = best_of(repeat, label, functools.partial(_variant, prod_url, tables, select))
            n = workers_planned(prod_url, largest, select)
            timing.note = f"{n} parallel workers planned on {largest[0]}.{largest[1]}"
            fig.variants.append(timing)
        return fig
    finally:
        for c in (prod, qa):
            c.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# -- reporting --------------------------------------------------------------------


def render(fig: Figures) -> str:
    t = fig.timings
    baseline = t["a"].best + t["b"].best
    at_once = t["a_at_once"].best + t["b_at_once"].best
    lines = [
        f"PostgreSQL {fig.postgresql_version} ({fig.postgresql_source}), {fig.cpus} CPUs; "
        + ", ".join(f"{k} {v}" for k, v in fig.settings.items()),
        f"data: app_schema.sql + app_data.sql at scale {fig.scale:g}: {len(fig.tables)} tables "
        f"compared, {fig.total_rows:,} rows, {fig.total_table_bytes / 1e6:.0f} MB of tables "
        f"per side (load {fig.load_seconds:.0f} s, pgferry migrate {fig.migrate_seconds:.1f} s)",
        f"caches warm (one untimed scan first); best of {fig.repeat} runs each",
        f"full scan = SELECT {fig.scan_expression} FROM ONLY t t (every row, every column)",
        f"command: {fig.command}",
        "",
    ]
    rows = [
        ("measure", "seconds"),
        (t["a"].label, f"{t['a'].best:.2f}"),
        (t["b"].label, f"{t['b'].best:.2f}"),
        ("(a + b) baseline", f"{baseline:.2f}"),
        (t["c"].label, f"{t['c'].best:.2f}"),
        (t["c_insert"].label, f"{t['c_insert'].best:.2f}"),
        (t["d"].label, f"{t['d'].best:.2f}"),
        (t["a_at_once"].label, f"{t['a_at_once'].best:.2f}"),
        (t["b_at_once"].label, f"{t['b_at_once'].best:.2f}"),
    ]
    w = max(len(r[0]) for r in rows)
    for n, (label, value) in enumerate(rows):
        lines.append(f"{label.ljust(w)}  {value.rjust(8)}")
        if n == 0:
            lines.append("-" * (w + 10))
    verdict = "met" if fig.target_met else "NOT MET"
    lines += [
        "",
        f"ratio c / (a + b) = {fig.ratio:.2f}  (target <= {TARGET_RATIO:g}): {verdict}",
        f"with the insert check: {fig.ratio_with_insert_check:.2f}; against a' + b' (both "
        f"sides at once, {at_once:.2f} s): {fig.ratio_concurrent_baseline:.2f}",
        f"verify found QA equal to prod: {'yes' if fig.verify_equal else 'NO'} "
        f"({fig.verify_summary})",
    ]
    if fig.variants:
        lines += ["", "breakdown, prod only, one session (and its parallel workers), every table:"]
        w = max(len(v.label) for v in fig.variants)
        for v in fig.variants:
            lines.append(f"  {v.label.ljust(w)}  {v.best:8.2f} s   ({v.note})")
    if fig.scale != TARGET_SCALE:
        lines.append(f"note: the target is set for scale {TARGET_SCALE:g}; indicative here")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time `pgferry verify --checksums` against a count(*) pass plus one full "
        "scan on each side, on two throwaway PostgreSQL clusters (fsync on)."
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="app_data.sql scale (default 1: about 5 M rows)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, best kept (3)")
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
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.repeat < 1:
        parser.error("--scale must be positive and --repeat at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, terminate)
    try:
        fig = bench(choose_install(args.pg_major), args.scale, args.datasets, args.repeat)
    except KeyboardInterrupt:
        say("interrupted; clusters removed")
        return 130
    except (BenchError, pgferry.PgferryError, psycopg.Error) as exc:
        say(f"error: {exc}")
        return 1
    print(render(fig))
    if args.json:
        args.json.write_text(json.dumps(asdict(fig), indent=2) + "\n")
        say(f"figures written to {args.json}")
    return 0 if fig.verify_equal else 1


if __name__ == "__main__":
    sys.exit(main())
