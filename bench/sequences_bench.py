"""Benchmark ``pgferry sequences fix`` against the per-table ``setval`` loop.

One run starts a throwaway PostgreSQL cluster with durable settings (fsync and
synchronous_commit on), builds a database of N ``SERIAL`` tables whose
sequences are all behind their data (as a naive copy leaves them), then times:

* the catalog read, ``pgferry.read_catalog`` (best of 3);
* ``pgferry sequences fix --db URL`` run as the real CLI in a subprocess (wall
  clock, Python start-up and output included: the number a user sees);
* after breaking the sequences again, the loop a troubleshooting guide
  describes: one ``SELECT setval(..., (SELECT MAX(id) FROM ...), true)`` per
  table over one autocommit psycopg connection.

Both fixes are verified with ``pgferry sequences check`` (exit code 0), and the
server log and command output are searched for "out of shared memory".  The
figures are printed with the targets, and optionally written as JSON.  This is
a measurement, not a test: missed targets are reported, never asserted.

Run with ``make bench`` or ``.venv/bin/python bench/sequences_bench.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import signal
import subprocess
import sys
import threading
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

DBNAME = "bench"
#: Tables created per transaction while building: each holds a few locks per
#: table until commit, so the build stays well inside the server's lock table.
BUILD_BATCH = 250
#: Sequences reset per statement (and transaction) when breaking them again.
BREAK_BATCH = 2000
CATALOG_REPEATS = 3

TARGET_TABLES = 5000
TARGET_FIX_SECONDS = 3.0
TARGET_SPEEDUP = 10.0
TARGET_CATALOG_SECONDS = 2.0

OOM_TEXT = "out of shared memory"

_MAKE_TABLES = sql.SQL(
    """
CREATE FUNCTION pg_temp.bench_make_tables(lo int, hi int, width int, nrows int)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    t text;
BEGIN
    FOR i IN lo..hi LOOP
        t := 't_' || lpad(i::text, width, '0');
        EXECUTE format('CREATE TABLE public.%I (id SERIAL PRIMARY KEY, v int)', t);
        EXECUTE format(
            'INSERT INTO public.%I (id, v) SELECT g, g FROM generate_series(1, $1) AS g', t
        ) USING nrows;
    END LOOP;
END
$fn$
"""
)

_BREAK = sql.SQL(
    "SELECT count(pg_catalog.setval(s, 1, false)) FROM unnest(%s::pg_catalog.regclass[]) AS s"
)

_LOOP_STATEMENT = sql.SQL("SELECT setval({seq}, (SELECT MAX(id) FROM {table}), true)")


@dataclass
class Figures:
    """Everything one run measured; written with ``--json``."""

    postgresql_version: str
    postgresql_source: str
    fsync: str
    synchronous_commit: str
    tables: int
    rows_per_table: int
    rtt_ms: float = 0.0
    sequences_in_catalog: int = 0
    command: str = ""
    build_seconds: float = 0.0
    catalog_read_seconds: float = 0.0
    catalog_read_runs: list[float] = field(default_factory=list)
    fix_seconds: float = 0.0
    fix_summary: str = ""
    loop_seconds: float = 0.0
    loop_over_fix: float = 0.0
    verified_after_fix: bool = False
    verified_after_loop: bool = False
    out_of_shared_memory: int = 0
    targets: dict[str, bool] = field(default_factory=dict)
    target_values: dict[str, float] = field(
        default_factory=lambda: {
            "catalog_read_seconds_below": TARGET_CATALOG_SECONDS,
            "fix_seconds_below": TARGET_FIX_SECONDS,
            "loop_over_fix_at_least": TARGET_SPEEDUP,
            "for_tables": TARGET_TABLES,
        }
    )


# -- setting up -------------------------------------------------------------------


def table_name(i: int, width: int) -> str:
    return f"t_{i:0{width}d}"


def name_width(tables: int) -> int:
    return max(5, len(str(tables)))


def build_database(cluster: Cluster, tables: int, rows: int) -> float:
    """Create the database and its N broken tables; return the seconds it took."""
    started = time.perf_counter()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DBNAME)))
    with psycopg.connect(cluster.url(DBNAME), autocommit=True) as conn:
        conn.execute(_MAKE_TABLES)
        width = name_width(tables)
        for lo in range(1, tables + 1, BUILD_BATCH):
            hi = min(lo + BUILD_BATCH - 1, tables)
            conn.execute("SELECT pg_temp.bench_make_tables(%s, %s, %s, %s)", (lo, hi, width, rows))
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")  # so no checkpoint of the build lands in a timing
    return time.perf_counter() - started


def server_settings(url: str) -> tuple[str, str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('fsync'), "
            "current_setting('synchronous_commit')"
        ).fetchone()
    if row is None:
        raise BenchError("the server returned no settings")
    return str(row[0]), str(row[1]), str(row[2])


# -- measuring --------------------------------------------------------------------


def time_catalog_read(url: str, repeats: int = CATALOG_REPEATS) -> tuple[list[float], int]:
    """Seconds of each ``read_catalog`` run, and the sequences it found."""
    runs: list[float] = []
    sequences = 0
    with pgferry.connect(pgferry.parse(url), autocommit=True) as conn:
        for _ in range(repeats):
            started = time.perf_counter()
            catalog = pgferry.read_catalog(conn)
            runs.append(time.perf_counter() - started)
            sequences = len(catalog.sequences)
    return runs, sequences


def run_cli(args: Sequence[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(list(args), capture_output=True, text=True, env=clean_env(), check=False)
    return time.perf_counter() - started, proc


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def check_fixed(exe: str, url: str) -> tuple[bool, subprocess.CompletedProcess[str]]:
    """Whether ``pgferry sequences check`` exits 0 (every sequence clear of its data)."""
    _, proc = run_cli([exe, "sequences", "check", "--db", url])
    return proc.returncode == 0, proc


def summary(proc: subprocess.CompletedProcess[str]) -> str:
    return last_line(proc.stdout) or last_line(proc.stderr)


def sequence_oids(url: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.oid FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'S' AND n.nspname = 'public' ORDER BY c.relname"
        ).fetchall()
    return [int(r[0]) for r in rows]


def break_sequences(url: str) -> int:
    """Set every sequence back to 1 (is_called false); return how many were reset."""
    oids = sequence_oids(url)
    reset = 0
    with psycopg.connect(url, autocommit=True) as conn:
        for start in range(0, len(oids), BREAK_BATCH):
            row = conn.execute(_BREAK, (oids[start : start + BREAK_BATCH],)).fetchone()
            reset += int(row[0]) if row else 0
    return reset


def time_setval_loop(url: str, tables: int) -> float:
    """The guide's loop: one setval per table, autocommit, one connection."""
    width = name_width(tables)
    with psycopg.connect(url, autocommit=True) as conn:
        statements = []
        for i in range(1, tables + 1):
            name = table_name(i, width)
            statements.append(
                _LOOP_STATEMENT.format(
                    seq=sql.Literal(f'"public"."{name}_id_seq"'),
                    table=sql.Identifier("public", name),
                ).as_bytes(conn)
            )
        started = time.perf_counter()
        for statement in statements:
            conn.execute(statement)
        return time.perf_counter() - started


def count_oom(cluster: Cluster, *outputs: str) -> int:
    log = cluster.logfile.read_text(errors="replace") if cluster.logfile.exists() else ""
    return sum(text.count(OOM_TEXT) for text in (log, *outputs))


# -- reporting --------------------------------------------------------------------


def evaluate(fig: Figures) -> None:
    fig.targets = {
        "catalog_read": fig.catalog_read_seconds < TARGET_CATALOG_SECONDS,
        "fix": fig.fix_seconds < TARGET_FIX_SECONDS,
        "speedup": fig.loop_over_fix >= TARGET_SPEEDUP,
        "no_out_of_shared_memory": fig.out_of_shared_memory == 0,
    }


def render(fig: Figures) -> str:
    def verdict(key: str) -> str:
        return "met" if fig.targets.get(key) else "NOT MET"

    rows = [
        ("measure", "value", "target", "result"),
        (
            f"catalog read (read_catalog, best of {CATALOG_REPEATS})",
            f"{fig.catalog_read_seconds:.3f} s",
            f"< {TARGET_CATALOG_SECONDS:g} s",
            verdict("catalog_read"),
        ),
        (
            "pgferry sequences fix (CLI, wall clock)",
            f"{fig.fix_seconds:.3f} s",
            f"< {TARGET_FIX_SECONDS:g} s",
            verdict("fix"),
        ),
        ("per-table setval loop (psycopg)", f"{fig.loop_seconds:.3f} s", "", ""),
        (
            "ratio loop / pgferry",
            f"{fig.loop_over_fix:.1f}x",
            f">= {TARGET_SPEEDUP:g}x",
            verdict("speedup"),
        ),
        (
            f'"{OOM_TEXT}" (log and output)',
            str(fig.out_of_shared_memory),
            "none",
            verdict("no_out_of_shared_memory"),
        ),
    ]
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    lines = [
        f"PostgreSQL {fig.postgresql_version} ({fig.postgresql_source}); "
        f"fsync {fig.fsync}, synchronous_commit {fig.synchronous_commit}",
        "network: "
        + (f"{fig.rtt_ms:g} ms round trip (TCP delay line)" if fig.rtt_ms else "loopback"),
        f"tables: {fig.tables} SERIAL tables, {fig.rows_per_table} rows each; "
        f"sequences in catalog: {fig.sequences_in_catalog}; built in {fig.build_seconds:.1f} s",
        f"command: {fig.command}",
        "",
    ]
    for n, r in enumerate(rows):
        lines.append(
            "  ".join(
                [
                    r[0].ljust(widths[0]),
                    r[1].rjust(widths[1]),
                    r[2].ljust(widths[2]),
                    r[3],
                ]
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += [
        "",
        f"fix output: {fig.fix_summary}",
        "verified with `pgferry sequences check` (exit 0): "
        f"after fix {'yes' if fig.verified_after_fix else 'NO'}, "
        f"after loop {'yes' if fig.verified_after_loop else 'NO'}",
        "catalog read runs: " + ", ".join(f"{s:.3f}" for s in fig.catalog_read_runs) + " s",
    ]
    if fig.tables != TARGET_TABLES:
        lines.append(f"note: the targets are set for {TARGET_TABLES} tables; indicative here")
    return "\n".join(lines)


# -- the run ----------------------------------------------------------------------


def bench(install: PgInstall, tables: int, rows: int, rtt_ms: float = 0.0) -> Figures:
    exe = pgferry_executable()
    cluster = Cluster(install, name="bench", fast=False)
    stack = contextlib.ExitStack()
    try:
        say(f"starting PostgreSQL {install.version} ({install.source}) in {cluster.basedir}")
        cluster.start()
        url = cluster.url(DBNAME)
        say(f"building {tables} tables with {rows} rows each")
        build_seconds = build_database(cluster, tables, rows)
        version, fsync, sync_commit = server_settings(url)
        if rtt_ms > 0:
            proxy = stack.enter_context(DelayProxy(cluster.port, rtt_ms))
            url = url.replace(f":{cluster.port}/", f":{proxy.port}/")
            say(f"client and server now {rtt_ms:g} ms apart (delay line on port {proxy.port})")
        fig = Figures(
            postgresql_version=version,
            postgresql_source=f"{install.source}: {install.bindir}",
            fsync=fsync,
            synchronous_commit=sync_commit,
            tables=tables,
            rows_per_table=rows,
            build_seconds=build_seconds,
        )

        say("timing the catalog read")
        fig.catalog_read_runs, fig.sequences_in_catalog = time_catalog_read(url)
        fig.catalog_read_seconds = min(fig.catalog_read_runs)

        fix_cmd = [exe, "sequences", "fix", "--db", url]
        fig.command = shlex.join(fix_cmd)
        say(f"timing: {fig.command}")
        fig.fix_seconds, fix = run_cli(fix_cmd)
        if fix.returncode != 0:
            raise BenchError(
                f"pgferry sequences fix exited {fix.returncode}: "
                f"{fix.stderr.strip()[-2000:] or last_line(fix.stdout)}"
            )
        fig.fix_summary = summary(fix)
        fig.verified_after_fix, after_fix = check_fixed(exe, url)
        say(f"check after fix (exit {after_fix.returncode}): {summary(after_fix)}")

        reset = break_sequences(url)
        if reset != tables:
            raise BenchError(f"reset {reset} sequences, expected {tables}")
        say(f"broke {reset} sequences again; timing the per-table setval loop")
        fig.loop_seconds = time_setval_loop(url, tables)
        fig.verified_after_loop, after_loop = check_fixed(exe, url)
        say(f"check after loop (exit {after_loop.returncode}): {summary(after_loop)}")

        fig.loop_over_fix = fig.loop_seconds / fig.fix_seconds if fig.fix_seconds else 0.0
        outputs = [p.stdout + p.stderr for p in (fix, after_fix, after_loop)]
        fig.out_of_shared_memory = count_oom(cluster, *outputs)
        fig.rtt_ms = rtt_ms
        evaluate(fig)
        return fig
    finally:
        stack.close()
        cluster.stop()


# -- a network between client and server ------------------------------------------


class DelayProxy:
    """A TCP delay line on 127.0.0.1: every chunk reaches the other side
    ``rtt/2`` after it was sent, in order, in both directions, so a request and
    its answer cost one round trip, as over a network.  Both pgferry and the
    loop talk through it.  (netem would do this in the kernel, but this
    sandbox's kernel has no sch_netem.)
    """

    def __init__(self, target_port: int, rtt_ms: float) -> None:
        self.target_port = target_port
        self.delay = rtt_ms / 2000.0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="delay-proxy")

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await line.get()
                if not data:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(65536):
                line.put_nowait((time.monotonic() + self.delay, data))
        except ConnectionError:
            pass
        line.put_nowait((0.0, b""))
        await sender


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time `pgferry sequences fix` against a per-table setval loop "
        "on a throwaway PostgreSQL cluster (fsync on)."
    )
    parser.add_argument(
        "--tables", type=int, default=TARGET_TABLES, help="SERIAL tables (default 5000)"
    )
    parser.add_argument("--rows", type=int, default=10, help="rows per table (default 10)")
    parser.add_argument(
        "--pg-major", type=int, help="PostgreSQL major version (default: the first found)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=0.0,
        help="simulate this network round trip between client and server with a TCP "
        "delay line on 127.0.0.1. Default 0: plain loopback",
    )
    args = parser.parse_args(argv)
    if args.tables < 1 or args.rows < 1:
        parser.error("--tables and --rows must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, terminate)
    try:
        fig = bench(choose_install(args.pg_major), args.tables, args.rows, args.rtt_ms)
    except KeyboardInterrupt:
        say("interrupted; cluster removed")
        return 130
    except (BenchError, pgferry.PgferryError, psycopg.Error) as exc:
        say(f"error: {exc}")
        return 1
    print(render(fig))
    if args.json:
        data: dict[str, Any] = asdict(fig)
        args.json.write_text(json.dumps(data, indent=2) + "\n")
        say(f"figures written to {args.json}")
    # correctness, not timing, decides the exit code
    ok = fig.verified_after_fix and fig.verified_after_loop and fig.out_of_shared_memory == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
