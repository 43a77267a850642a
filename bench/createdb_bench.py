"""Benchmark ``CREATE DATABASE ... TEMPLATE`` with ``STRATEGY WAL_LOG`` against ``FILE_COPY``.

Issue 16 point 3: pgferry's template backup is ``CREATE DATABASE backup TEMPLATE qa``,
and PostgreSQL 15's default strategy (WAL_LOG) writes the whole copied database into
WAL and leaves its pages dirty for the next checkpoint, where FILE_COPY copies the
files and forces two checkpoints instead.  Which is cheaper, and from which size?

One run starts ONE throwaway PostgreSQL cluster (15 by default) with stock settings
(``max_wal_size`` 1 GB, ``shared_buffers`` 128 MB, fsync and synchronous_commit on)
and, for each ``--scales`` value, loads the template database ``app`` with
``app_schema.sql`` + ``app_data.sql`` (psql ``-v scale=N``), then VACUUM and CHECKPOINT.
Then ``--rounds`` interleaved rounds (the order of the two strategies alternates by
round) each time, for each strategy:

    CHECKPOINT                                   -- every statement starts equal
    CREATE DATABASE x TEMPLATE app STRATEGY S    -- timed; WAL bytes from the LSNs
    CHECKPOINT                                   -- timed: the cost left behind
    DROP DATABASE x

The copy's row counts are checked against the template's in the first round.

Then at ``--dirty-scales`` (default 1; none skips it), the cluster is restarted with
``shared_buffers`` at ``--dirty-shared-buffers`` (1 GB) and every run is preceded by a
big UPDATE of tables in another database (each under a quarter of shared_buffers, so
no ring buffer limits the dirtying) after the CHECKPOINT, so FILE_COPY's forced
checkpoint has many dirty buffers to write.  ``--dirty-control`` adds the same case
without the UPDATE, to tell shared_buffers' effect from the dirty pages'.

It prints, per case and strategy, the median (range) of the CREATE DATABASE, of the
CHECKPOINT after it and of their sum, the WAL written, and the checkpoints the server
ran during the CREATE.  A measurement, not a test: only a wrong copy decides the exit
code.

Run with ``.venv/bin/python bench/createdb_bench.py --help``; issue 16's figures came
from ``--dirty-scales 1 0.3 0.1 0.02 --dirty-control`` (about 8 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.abc import Query

import pgferry
from benchlib import BenchError, choose_install, clean_env, say, terminate
from pgferry.embedded import Cluster, PgInstall

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
TEMPLATE = "app"
COPY = "x"
BUSY_DB = "busy"
STRATEGIES = ("WAL_LOG", "FILE_COPY")
DEFAULT_SCALES = (0.02, 0.1, 0.3, 1.0)
ROUNDS = 3
#: Nothing but what a throwaway cluster needs: the server's defaults are the point.
SETTINGS: dict[str, str] = {}
DIRTY_SHARED_BUFFERS = "1GB"
#: The dirtying tables: each about 100 MB before its first UPDATE and 200 MB after,
#: under a quarter of 1 GB of shared_buffers, where a sequential scan would switch to
#: a 256 kB ring and write its own dirty pages.
BALLAST_TABLES = 3
BALLAST_ROWS = 700_000

_TABLES = """
SELECT c.oid::regclass::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
"""
_STATS = (
    "SELECT checkpoints_timed + checkpoints_req, buffers_checkpoint, buffers_backend "
    "FROM pg_stat_bgwriter"
)


# -- figures ----------------------------------------------------------------------


@dataclass
class Run:
    strategy: str
    round: int
    create_seconds: float
    checkpoint_seconds: float
    wal_bytes: int
    #: checkpoints the server started or finished during the CREATE DATABASE
    checkpoints_during: int
    #: buffers written by checkpoints during the CREATE DATABASE
    checkpoint_buffers_during: int
    dirty_buffers_before: int
    update_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return self.create_seconds + self.checkpoint_seconds


@dataclass
class Case:
    label: str
    scale: float
    shared_buffers: str
    dirty: bool
    database_bytes: int = 0
    rows: int = 0
    load_seconds: float = 0.0
    runs: list[Run] = field(default_factory=list)

    def of(self, strategy: str) -> list[Run]:
        return [r for r in self.runs if r.strategy == strategy]


@dataclass
class Figures:
    postgresql: str
    settings: dict[str, str]
    cases: list[Case] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return all(not r.problems for c in self.cases for r in c.runs)


def spread(values: Sequence[float], places: int = 2) -> str:
    if not values:
        return "-"
    return (
        f"{statistics.median(values):.{places}f} "
        f"({min(values):.{places}f}-{max(values):.{places}f})"
    )


# -- the server -------------------------------------------------------------------


def one(conn: psycopg.Connection[tuple[object, ...]], query: Query) -> object:
    row = conn.execute(query).fetchone()
    if row is None:
        raise BenchError(f"no row from {query!r}")
    return row[0]


def load(install: PgInstall, cluster: Cluster, datasets: Path, case: Case) -> dict[str, int]:
    """(Re)create the template at the case's scale; return its row counts."""
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    url = cluster.url(TEMPLATE)
    psql = [str(install.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]
    started = time.perf_counter()
    for part, extra in (
        ("app_schema.sql", []),
        ("app_data.sql", ["-v", f"scale={case.scale:g}"]),
    ):
        say(f"{TEMPLATE}: loading {part} (scale {case.scale:g})")
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
        case.load_seconds = time.perf_counter() - started
        case.database_bytes = int(str(one(conn, "SELECT pg_database_size(current_database())")))
    counts = row_counts(url)
    case.rows = sum(counts.values())
    say(
        f"{TEMPLATE}: {case.rows:,} rows, {case.database_bytes / 2**20:.0f} MiB, "
        f"loaded in {case.load_seconds:.0f} s"
    )
    return counts


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [str(r[0]) for r in conn.execute(_TABLES).fetchall()]
        return {
            t: int(str(one(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(t)))))
            for t in tables
        }


def make_ballast(cluster: Cluster) -> None:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(BUSY_DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BUSY_DB)))
    with psycopg.connect(cluster.url(BUSY_DB), autocommit=True) as conn:
        for n in range(BALLAST_TABLES):
            conn.execute(
                f"CREATE TABLE ballast{n} AS SELECT g::bigint AS id, g::bigint AS n, "
                f"repeat('x', 100) AS pad FROM generate_series(1, {BALLAST_ROWS}) g"
            )
            # vacuumed by vacuum_ballast() only: no autovacuum runs during a timed copy
            conn.execute(f"ALTER TABLE ballast{n} SET (autovacuum_enabled = off)")
        conn.execute("VACUUM")
        size = int(str(one(conn, "SELECT pg_database_size(current_database())")))
    say(f"{BUSY_DB}: {BALLAST_TABLES} ballast tables, {size / 2**20:.0f} MiB")


def dirty_the_buffers(cluster: Cluster) -> float:
    """UPDATE every ballast row (after the caller's CHECKPOINT); return its seconds."""
    with psycopg.connect(cluster.url(BUSY_DB), autocommit=True) as conn:
        started = time.perf_counter()
        for n in range(BALLAST_TABLES):
            conn.execute(f"UPDATE ballast{n} SET n = n + 1")
        return time.perf_counter() - started


def vacuum_ballast(cluster: Cluster) -> None:
    """Free the old row versions, so the next UPDATE fits in the same pages."""
    with psycopg.connect(cluster.url(BUSY_DB), autocommit=True) as conn:
        for n in range(BALLAST_TABLES):
            conn.execute(f"VACUUM ballast{n}")


def stats(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[int, int, int]:
    row = conn.execute(_STATS).fetchone()
    if row is None:
        raise BenchError("pg_stat_bgwriter is empty")
    return int(str(row[0])), int(str(row[1])), int(str(row[2]))


def timed_copy(
    cluster: Cluster,
    strategy: str,
    round_no: int,
    before: Callable[[], float] | None,
    expected: dict[str, int] | None,
) -> Run:
    admin = cluster.url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(COPY)))
        conn.execute("CHECKPOINT")
        update_seconds = before() if before else 0.0
        dirty = int(str(one(conn, "SELECT count(*) FILTER (WHERE isdirty) FROM pg_buffercache")))
        lsn0 = str(one(conn, "SELECT pg_current_wal_lsn()"))
        stats0 = stats(conn)
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY {}").format(
            sql.Identifier(COPY), sql.Identifier(TEMPLATE), sql.SQL(strategy)
        )
        started = time.perf_counter()
        conn.execute(create)
        create_seconds = time.perf_counter() - started
        lsn1 = str(one(conn, "SELECT pg_current_wal_lsn()"))
        stats1 = stats(conn)
        started = time.perf_counter()
        conn.execute("CHECKPOINT")
        checkpoint_seconds = time.perf_counter() - started
        wal = int(str(one(conn, f"SELECT pg_wal_lsn_diff('{lsn1}', '{lsn0}')")))
    run = Run(
        strategy,
        round_no,
        create_seconds,
        checkpoint_seconds,
        wal,
        stats1[0] - stats0[0],
        stats1[1] - stats0[1],
        dirty,
        update_seconds,
    )
    if expected is not None:
        got = row_counts(cluster.url(COPY))
        if got != expected:
            run.problems.append(f"row counts differ: {got} != {expected}")
    say(
        f"  round {round_no} {strategy:<9} create {create_seconds:6.2f} s, checkpoint after "
        f"{checkpoint_seconds:5.2f} s, WAL {wal / 2**20:7.1f} MiB, "
        f"{run.checkpoints_during} checkpoint(s) during, {dirty} dirty buffers before"
        + (f", update {update_seconds:.1f} s" if before else "")
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(COPY)))
    return run


def measure(
    cluster: Cluster,
    case: Case,
    rounds: int,
    expected: dict[str, int],
    before: Callable[[], float] | None = None,
    between: Callable[[], None] | None = None,
) -> None:
    say(f"{case.label}: {rounds} interleaved rounds")
    for r in range(1, rounds + 1):
        order = STRATEGIES if r % 2 else tuple(reversed(STRATEGIES))
        for strategy in order:
            if between:
                between()
            case.runs.append(timed_copy(cluster, strategy, r, before, expected if r == 1 else None))


def restart(cluster: Cluster, settings: dict[str, str]) -> None:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CHECKPOINT")  # the immediate stop then leaves nothing to replay
    cluster.stop()
    cluster.settings.update(settings)
    cluster.start()


def bench(
    install: PgInstall,
    scales: Sequence[float],
    rounds: int,
    datasets: Path,
    dirty_scales: Sequence[float],
    dirty_shared_buffers: str,
    dirty_control: bool,
) -> Figures:
    basedir = Path(tempfile.mkdtemp(prefix="pgferry-bench-createdb-"))
    cluster = Cluster(
        install, name="bench-createdb", basedir=basedir, fast=False, settings=dict(SETTINGS)
    )
    fig = Figures(f"{install.version} ({install.source})", {})
    try:
        say(f"starting PostgreSQL {install.version} ({install.source}) in {basedir}")
        cluster.start()
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_buffercache")
            for name in (
                "shared_buffers",
                "max_wal_size",
                "checkpoint_timeout",
                "fsync",
                "synchronous_commit",
                "full_page_writes",
                "wal_level",
            ):
                fig.settings[name] = str(one(conn, f"SHOW {name}"))
        say("settings: " + ", ".join(f"{k}={v}" for k, v in fig.settings.items()))
        loaded: float | None = None
        expected: dict[str, int] = {}
        for scale in scales:
            case = Case(f"scale {scale:g}", scale, fig.settings["shared_buffers"], False)
            fig.cases.append(case)
            expected = load(install, cluster, datasets, case)
            loaded = scale
            measure(cluster, case, rounds, expected)
        if dirty_scales:
            restart(cluster, {"shared_buffers": dirty_shared_buffers})
            with psycopg.connect(cluster.url(), autocommit=True) as conn:
                shown = str(one(conn, "SHOW shared_buffers"))
            make_ballast(cluster)
        for dirty_scale in dirty_scales:
            variants = [True, False] if dirty_control else [True]
            for dirty in variants:
                what = "UPDATE in another db first" if dirty else "no UPDATE"
                case = Case(
                    f"scale {dirty_scale:g}, shared_buffers {shown}, {what}",
                    dirty_scale,
                    shown,
                    dirty,
                )
                fig.cases.append(case)
                if loaded != dirty_scale:
                    expected = load(install, cluster, datasets, case)
                    loaded = dirty_scale
                else:
                    previous = next(c for c in fig.cases if c.scale == dirty_scale)
                    case.database_bytes, case.rows = previous.database_bytes, previous.rows
                if dirty:
                    measure(
                        cluster,
                        case,
                        rounds,
                        expected,
                        before=lambda: dirty_the_buffers(cluster),
                        between=lambda: vacuum_ballast(cluster),
                    )
                else:
                    measure(cluster, case, rounds, expected)
        return fig
    finally:
        cluster.stop()
        shutil.rmtree(basedir, ignore_errors=True)


# -- output -----------------------------------------------------------------------


def render(fig: Figures) -> str:
    s = fig.settings
    lines = [
        f"PostgreSQL {fig.postgresql}, one throwaway cluster: shared_buffers "
        f"{s.get('shared_buffers')}, max_wal_size {s.get('max_wal_size')}, fsync "
        f"{s.get('fsync')}, synchronous_commit {s.get('synchronous_commit')}, "
        f"wal_level {s.get('wal_level')}",
        "CREATE DATABASE x TEMPLATE app STRATEGY S, after a CHECKPOINT; then a timed "
        "CHECKPOINT; seconds as median (range); ckpts: checkpoints during the CREATE; "
        "dirty MiB: dirty shared buffers when it started",
        "",
    ]
    width = max([len(c.label) for c in fig.cases] + [4])
    header = (
        f"{'case':<{width}} {'MiB':>6} {'strategy':<9} {'create s':>18} {'checkpoint s':>18} "
        f"{'create+ckpt s':>18} {'WAL MiB':>8} {'ckpts':>5} {'dirty MiB':>9}"
    )
    lines += [header, "-" * len(header)]
    for c in fig.cases:
        for strategy in STRATEGIES:
            runs = c.of(strategy)
            if not runs:
                continue
            wal = statistics.median(r.wal_bytes for r in runs) / 2**20
            ckpts = statistics.median(r.checkpoints_during for r in runs)
            dirty = statistics.median(r.dirty_buffers_before for r in runs) * 8192 / 2**20
            lines.append(
                f"{c.label:<{width}} {c.database_bytes / 2**20:>6.0f} {strategy:<9} "
                f"{spread([r.create_seconds for r in runs]):>18} "
                f"{spread([r.checkpoint_seconds for r in runs]):>18} "
                f"{spread([r.total_seconds for r in runs]):>18} {wal:>8.1f} {ckpts:>5g} "
                f"{dirty:>9.0f}"
            )
        lines.append("")
    bad = [(c.label, r) for c in fig.cases for r in c.runs if r.problems]
    for label, r in bad:
        lines.append(f"WRONG COPY: {label} {r.strategy} round {r.round}: {'; '.join(r.problems)}")
    return "\n".join(lines).rstrip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scales",
        type=float,
        nargs="+",
        default=list(DEFAULT_SCALES),
        help="app_data.sql scales, loaded in this order (default 0.02 0.1 0.3 1)",
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds per case (default 3)")
    parser.add_argument(
        "--dirty-scales",
        type=float,
        nargs="*",
        default=[1.0],
        help="scales of the many-dirty-buffers case, in this order (default 1; none skips it)",
    )
    parser.add_argument("--dirty-shared-buffers", default=DIRTY_SHARED_BUFFERS)
    parser.add_argument(
        "--dirty-control",
        action="store_true",
        help="also run that case's shared_buffers without the UPDATE",
    )
    parser.add_argument("--pg-major", type=int, default=15, help="PostgreSQL major (default 15)")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    if args.pg_major < 15:
        parser.error("CREATE DATABASE ... STRATEGY needs PostgreSQL 15 or later")
    signal.signal(signal.SIGTERM, terminate)
    try:
        fig = bench(
            choose_install(args.pg_major),
            args.scales,
            args.rounds,
            args.datasets,
            [x for x in args.dirty_scales if x > 0],
            args.dirty_shared_buffers,
            args.dirty_control,
        )
    except KeyboardInterrupt:
        say("interrupted; cluster removed")
        return 130
    except (BenchError, pgferry.PgferryError, psycopg.Error, OSError) as exc:
        say(f"error: {exc}")
        return 1
    print(render(fig))
    if args.json:
        args.json.write_text(json.dumps(asdict(fig), indent=2, default=str) + "\n")
        say(f"figures written to {args.json}")
    return 0 if fig.correct else 1


if __name__ == "__main__":
    sys.exit(main())
