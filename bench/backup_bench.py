"""Benchmark ``pgferry backup`` + ``pgferry rollback`` against pg_dump -Fc + pg_restore.

One run starts a throwaway PostgreSQL cluster with durable settings (fsync and
synchronous_commit on) and loads the benchmark QA database: ``app_schema.sql``
+ ``app_data.sql`` at ``--scale`` (psql ``-v scale=N``), then VACUUM and
CHECKPOINT.  Then, for each method, a backup is timed, QA is damaged (the
largest table truncated, a sequence moved, a table added: not timed), and the
rollback is timed; afterwards every table's row count and every sequence's
position must equal what they were before the backup:

a. ``pgferry backup --method template`` + ``pgferry rollback --yes`` (the
   real CLI, superuser): a server-side copy, renamed into place;
b. ``pgferry backup --method dump`` + ``pgferry rollback --yes``: ``pg_dump
   -Fd -j 2``, restored into a new database with ``pg_restore -j 2`` and
   renamed into place;
c. the peer: ``pg_dump -Fc -f FILE`` + ``pg_restore --clean --if-exists -j 2
   -d qa FILE`` (the guide's ``pg_dump`` / restore, with the same two jobs).

It prints each method's backup, rollback and total seconds and the ratio of
the peer's total to each method's.  A measurement, not a test: only a wrong
result decides the exit code.

Run with ``make bench-backup`` or ``.venv/bin/python bench/backup_bench.py --help``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

import pgferry
from benchlib import BenchError, choose_install, clean_env, pgferry_executable, say, terminate
from pgferry.embedded import Cluster, PgInstall

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
QA_DB = "qa"
SETTINGS = {"max_wal_size": "4GB"}
JOBS = 2

_COUNTS = """
SELECT format('%I.%I', n.nspname, c.relname), c.oid::regclass::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
"""
_SEQUENCES = "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"


@dataclass
class Step:
    command: str
    seconds: float


@dataclass
class Method:
    key: str
    label: str
    backup: Step | None = None
    rollback: Step | None = None
    correct: bool = False
    note: str = ""

    @property
    def total(self) -> float:
        return (self.backup.seconds if self.backup else 0) + (
            self.rollback.seconds if self.rollback else 0
        )


@dataclass
class Figures:
    postgresql: str
    scale: float
    database_bytes: int = 0
    rows: int = 0
    methods: list[Method] = field(default_factory=list)


def run(cmd: list[str], cwd: str) -> Step:
    say("$ " + shlex.join(cmd))
    started = time.perf_counter()
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise BenchError(f"{shlex.join(cmd)} exited {proc.returncode}: {proc.stderr[-1500:]}")
    return Step(pgferry.mask(shlex.join(cmd)), seconds)


def snapshot(url: str) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    with psycopg.connect(url, autocommit=True) as conn:
        counts = {}
        for name, reg in conn.execute(_COUNTS).fetchall():
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(reg))).fetchone()
            counts[name] = int(row[0]) if row else -1
        seqs = [tuple(r) for r in conn.execute(_SEQUENCES).fetchall()]
    return counts, seqs


def damage(url: str, largest: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(largest)))
        conn.execute("CREATE TABLE public.added_after_backup (x int)")
        seq = conn.execute(
            "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences LIMIT 1"
        ).fetchone()
        if seq:
            conn.execute("SELECT nextval(%s::regclass) FROM generate_series(1, 5)", (seq[0],))


def load(install: PgInstall, cluster: Cluster, datasets: Path, scale: float) -> str:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(QA_DB)))
    url = cluster.url(QA_DB)
    psql = [str(install.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]
    for part, extra in (
        ("app_schema.sql", []),
        ("app_data.sql", ["-v", f"scale={scale:g}"]),
    ):
        say(f"qa: loading {part} (scale {scale:g})")
        proc = subprocess.run(
            [*psql, *extra, "-f", str(datasets / part)],
            env=clean_env(),
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise BenchError(f"loading {part} failed: {proc.stderr[-1500:]}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM")
        conn.execute("CHECKPOINT")
    return url


def bench(install: PgInstall, scale: float, datasets: Path) -> Figures:
    exe = pgferry_executable()
    cluster = Cluster(install, name="bench-backup", fast=False, settings=dict(SETTINGS))
    work = tempfile.mkdtemp(prefix="pgferry-bench-backup-")
    try:
        say(f"starting PostgreSQL {install.version} ({install.source}) in {cluster.basedir}")
        cluster.start()
        url = load(install, cluster, datasets, scale)
        before = snapshot(url)
        largest = max(before[0], key=lambda k: before[0][k])
        fig = Figures(f"{install.version} ({install.source})", scale, rows=sum(before[0].values()))
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            fig.database_bytes = int(row[0]) if row else 0
        say(f"qa: {fig.rows:,} rows, {fig.database_bytes / 1e6:.0f} MB; largest table {largest}")

        def checkpoint() -> None:
            with psycopg.connect(cluster.url(), autocommit=True) as conn:
                conn.execute("CHECKPOINT")  # no method pays for another's dirty pages

        for method in ("template", "dump"):
            m = Method(method, f"pgferry backup --method {method} + pgferry rollback")
            fig.methods.append(m)
            checkpoint()
            m.backup = run(
                [
                    exe,
                    "backup",
                    "--db",
                    url,
                    "--method",
                    method,
                    "--name",
                    method,
                    "--folder",
                    f"{work}/backups",
                ],
                work,
            )
            damage(url, largest)
            checkpoint()
            m.rollback = run(
                [
                    exe,
                    "rollback",
                    "--db",
                    url,
                    "--backup",
                    method,
                    "--yes",
                    "--folder",
                    f"{work}/backups",
                ],
                work,
            )
            m.correct = snapshot(url) == before
        m = Method("peer", "pg_dump -Fc + pg_restore --clean --if-exists -j 2")
        fig.methods.append(m)
        archive = f"{work}/qa.dump"
        checkpoint()
        m.backup = run([str(install.tool("pg_dump")), "-Fc", "-f", archive, "-d", url], work)
        damage(url, largest)
        checkpoint()
        m.rollback = run(
            [
                str(install.tool("pg_restore")),
                "--clean",
                "--if-exists",
                "-j",
                str(JOBS),
                "-d",
                url,
                archive,
            ],
            work,
        )
        after = snapshot(url)
        m.correct = after == before
        if not m.correct and after[1] == before[1]:
            m.note = "tables added after the backup are left in place"
        return fig
    finally:
        cluster.stop()
        subprocess.run(["rm", "-rf", work], check=False)


def render(fig: Figures) -> str:
    peer = next(m for m in fig.methods if m.key == "peer")
    lines = [
        f"PostgreSQL {fig.postgresql}; QA: app_schema.sql + app_data.sql at scale {fig.scale:g}: "
        f"{fig.rows:,} rows, {fig.database_bytes / 1e6:.0f} MB (fsync on)",
        "",
        f"{'method':<55} {'backup s':>9} {'rollback s':>11} {'total s':>8} "
        f"{'peer/this':>10}  exact",
    ]
    for m in fig.methods:
        ratio = peer.total / m.total if m.total else 0
        lines.append(
            f"{m.label:<55} {m.backup.seconds if m.backup else 0:>9.1f} "
            f"{m.rollback.seconds if m.rollback else 0:>11.1f} {m.total:>8.1f} {ratio:>9.1f}x  "
            f"{'yes' if m.correct else 'NO'}{' (' + m.note + ')' if m.note else ''}"
        )
    lines += ["", "commands:"]
    for m in fig.methods:
        lines += [f"  {s.command}" for s in (m.backup, m.rollback) if s]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="app_data.sql scale (default 1)")
    parser.add_argument("--pg-major", type=int, help="PostgreSQL major (default: first found)")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, terminate)
    try:
        fig = bench(choose_install(args.pg_major), args.scale, args.datasets)
    except KeyboardInterrupt:
        say("interrupted; cluster removed")
        return 130
    except (BenchError, pgferry.PgferryError, psycopg.Error, OSError) as exc:
        say(f"error: {exc}")
        return 1
    print(render(fig))
    if args.json:
        args.json.write_text(json.dumps(asdict(fig), indent=2, default=str) + "\n")
    # pgferry's methods must be exact; the peer's result is reported, not required
    return 0 if all(m.correct for m in fig.methods if m.key != "peer") else 1


if __name__ == "__main__":
    raise SystemExit(main())
