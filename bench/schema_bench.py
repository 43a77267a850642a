"""Benchmark ``pgferry schema diff`` between two 5,000-table databases.

One run starts a throwaway cluster and builds two databases of N tables each
(a serial key, a NOT NULL text column, a numeric, a timestamp default, an index
on every tenth table, a view on every hundredth), then drifts the second one:
a column dropped from one table in 200, a type changed on one in 200, one
table in 500 dropped and 10 extra tables added.  Then it times, side by side:

* ``pgferry schema diff --from A --to B --json`` as the real CLI (wall clock,
  Python start-up included), best of 3, and checks that every planted
  difference was found: in the exact mode (production's schema restored into a
  scratch database on QA's server, compared there; the default) and with
  ``--across-servers`` (the two databases compared directly);
* the manual way a guide describes: ``pg_dump --schema-only`` of each database
  and a ``diff -u`` of the two files (the same pg_dump the cluster ships).

Target (issue #4): schema diff under 5 seconds for 5,000 tables.  This is a
measurement, not a test: a missed target is reported, never asserted.

Run with ``make bench-schema`` or ``.venv/bin/python bench/schema_bench.py --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg

from benchlib import BenchError, choose_install, clean_env, pgferry_executable, say, terminate
from pgferry.embedded import Cluster, PgInstall

TARGET_TABLES = 5000
TARGET_SECONDS = 5.0
REPEATS = 3
BUILD_BATCH = 250

_MAKE = """
CREATE FUNCTION pg_temp.bench_make(lo int, hi int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN lo..hi LOOP
        EXECUTE format('CREATE TABLE %I (id serial PRIMARY KEY, name text NOT NULL, '
                       'amount numeric(12,2), note varchar(50), '
                       'created timestamptz NOT NULL DEFAULT now())',
                       't_' || lpad(i::text, 5, '0'));
        IF i % 10 = 0 THEN
            EXECUTE format('CREATE INDEX ON %I (name)', 't_' || lpad(i::text, 5, '0'));
        END IF;
        IF i % 100 = 0 THEN
            EXECUTE format('CREATE VIEW %I AS SELECT id, name FROM %I WHERE amount > 0',
                           'v_' || lpad(i::text, 5, '0'), 't_' || lpad(i::text, 5, '0'));
        END IF;
    END LOOP;
END $$
"""


def build(cluster: Cluster, dbname: str, tables: int) -> None:
    cluster.psql("postgres", "-c", f"CREATE DATABASE {dbname}")
    with psycopg.connect(cluster.url(dbname), autocommit=True) as conn:
        conn.execute(_MAKE)
        for lo in range(1, tables + 1, BUILD_BATCH):
            with conn.transaction():
                conn.execute(
                    "SELECT pg_temp.bench_make(%s, %s)", (lo, min(lo + BUILD_BATCH - 1, tables))
                )


def drift(cluster: Cluster, dbname: str, tables: int) -> dict[str, int]:
    """Plant differences in *dbname*; return how many of each kind."""
    every = 100
    planted = {"missing column": 0, "changed column": 0, "missing table": 0, "extra table": 0}
    with psycopg.connect(cluster.url(dbname), autocommit=True) as conn, conn.transaction():
        for i in range(1, tables + 1):
            name = f"t_{i:05d}"
            if i % (every * 2) == 1:
                conn.execute(f"ALTER TABLE {name} DROP COLUMN amount CASCADE")
                planted["missing column"] += 1
            elif i % (every * 2) == 2:
                conn.execute(f"ALTER TABLE {name} ALTER COLUMN note TYPE text")
                planted["changed column"] += 1
            elif i % (every * 5) == 3:
                conn.execute(f"DROP TABLE {name} CASCADE")
                planted["missing table"] += 1
        for i in range(10):
            conn.execute(f"CREATE TABLE qa_only_{i} (id int)")
            planted["extra table"] += 1
    return planted


def found(report: dict[str, object]) -> dict[str, int]:
    counts = {"missing column": 0, "changed column": 0, "missing table": 0, "extra table": 0}
    for d in report["differences"]:  # type: ignore[attr-defined]
        key = f"{d['change']} {d['kind']}"
        if d["kind"] == "column" and d["change"] == "changed" and "(column order)" in d["name"]:
            continue
        if key in counts:
            counts[key] += 1
    return counts


def timed(args: Sequence[str], **kw: object) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
        **kw,  # type: ignore[arg-type]
    )
    return time.perf_counter() - started, proc


def bench(install: PgInstall, tables: int) -> dict[str, object]:
    exe = pgferry_executable()
    cluster = Cluster(install, name="bench-schema")
    try:
        say(f"starting PostgreSQL {install.version} ({install.source})")
        cluster.start()
        for db in ("prod", "qa"):
            say(f"building {tables} tables in {db}")
            build(cluster, db, tables)
        planted = drift(cluster, "qa", tables)
        say(f"planted in qa: {planted}")
        prod, qa = cluster.url("prod"), cluster.url("qa")

        report: dict[str, object] = {}
        modes: dict[str, list[float]] = {"exact": [], "across servers": []}
        for _ in range(REPEATS):
            for mode, runs in modes.items():
                extra = ["--across-servers"] if mode == "across servers" else []
                seconds, proc = timed(
                    [exe, "schema", "diff", "--from", prod, "--to", qa, "--json", *extra]
                )
                if proc.returncode != 0:
                    raise BenchError(f"schema diff exited {proc.returncode}: {proc.stderr[-500:]}")
                runs.append(seconds)
                report = json.loads(proc.stdout)
                if report.get("mode") != mode:
                    raise BenchError(f"schema diff compared {report.get('mode')!r}, not {mode!r}")
                got = found(report)
                if got != planted:
                    raise BenchError(f"schema diff ({mode}) found {got}, planted {planted}")
        runs = modes["exact"]

        pg_dump = str(install.bindir / "pg_dump")
        peer_runs = []
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(REPEATS):
                started = time.perf_counter()
                for name, url in (("prod", prod), ("qa", qa)):
                    _, dump = timed([pg_dump, "--schema-only", "-f", f"{tmp}/{name}.sql", url])
                    if dump.returncode != 0:
                        raise BenchError(f"pg_dump failed: {dump.stderr[-500:]}")
                _, diffed = timed(["diff", "-u", f"{tmp}/prod.sql", f"{tmp}/qa.sql"])
                peer_runs.append(time.perf_counter() - started)
                if diffed.returncode != 1:
                    raise BenchError("diff -u found no difference between the dumps")
        best, peer = min(runs), min(peer_runs)
        return {
            "postgresql": install.version,
            "tables": tables,
            "differences": len(report["differences"]),  # type: ignore[arg-type]
            "planted": planted,
            "schema_diff_seconds": round(best, 3),
            "schema_diff_runs": [round(r, 3) for r in runs],
            "across_servers_seconds": round(min(modes["across servers"]), 3),
            "exact_vs_across": round(best / min(modes["across servers"]), 2),
            "pg_dump_and_diff_seconds": round(peer, 3),
            "ratio": round(best / peer, 2),
            "target_seconds": TARGET_SECONDS,
            "target_met": best < TARGET_SECONDS,
        }
    finally:
        cluster.stop()


def render(fig: dict[str, object]) -> str:
    met = "met" if fig["target_met"] else "MISSED"
    return "\n".join(
        [
            f"PostgreSQL {fig['postgresql']}, {fig['tables']} tables on each side, "
            f"{fig['differences']} differences found (planted: {fig['planted']})",
            f"pgferry schema diff (CLI, best of {REPEATS}):  {fig['schema_diff_seconds']:.2f} s  "
            f"(exact: scratch database on QA's server; target < {TARGET_SECONDS:g} s: {met})",
            f"pgferry schema diff --across-servers:       {fig['across_servers_seconds']:.2f} s  "
            f"(exact / across: {fig['exact_vs_across']:.2f}x)",
            f"pg_dump --schema-only x2 + diff -u:        {fig['pg_dump_and_diff_seconds']:.2f} s",
            f"ratio pgferry / pg_dump+diff:               {fig['ratio']:.2f}x",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time pgferry schema diff on two large schemas.")
    parser.add_argument("--tables", type=int, default=TARGET_TABLES, help="tables per database")
    parser.add_argument("--pg-major", type=int, help="PostgreSQL major (default: first found)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    if args.tables < 100:
        parser.error("--tables must be at least 100")
    signal.signal(signal.SIGTERM, terminate)
    try:
        fig = bench(choose_install(args.pg_major), args.tables)
    except BenchError as exc:
        say(f"error: {exc}")
        return 1
    print(render(fig))
    if args.json:
        with contextlib.suppress(OSError):
            args.json.write_text(json.dumps(fig, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
