"""What every check needs: the connections, both catalogs, and how to write the fix commands."""

from __future__ import annotations

import importlib.util
import shlex
from dataclasses import dataclass
from typing import Any

import psycopg

from ..catalog import Catalog, Name


def describe(conn: psycopg.Connection[Any], catalog: Catalog | None = None) -> str:
    """``qa on 127.0.0.1:5433 as app (PostgreSQL 15.18)``: never a password."""
    info = conn.info
    version = catalog.server_version.split()[0] if catalog else _version(info.server_version)
    return f"{info.dbname} on {info.host}:{info.port} as {info.user} (PostgreSQL {version})"


def _version(num: int) -> str:
    return f"{num // 10000}.{num % 10000}"


def url_of(conn: psycopg.Connection[Any]) -> str:
    """A connection string for *conn* without its password, quoted for a shell."""
    info = conn.info
    if info.host.startswith("/"):
        text = f"host={info.host} port={info.port} dbname={info.dbname} user={info.user}"
    else:
        host = f"[{info.host}]" if ":" in info.host else info.host
        text = f"postgresql://{info.user}@{host}:{info.port}/{info.dbname}"
    return shlex.quote(text)


def schema_push_available() -> bool:
    """Whether this pgferry has ``schema push`` (the schema-drift command)."""
    try:
        return importlib.util.find_spec("pgferry.schema") is not None
    except (ImportError, ValueError):  # pragma: no cover - a broken install
        return False


PRISMA_MIGRATIONS = "_prisma_migrations"


@dataclass(frozen=True)
class Context:
    """One diagnosis's view: QA (``conn``), production when given, and the fix wording."""

    conn: psycopg.Connection[Any] | None
    catalog: Catalog | None
    source_conn: psycopg.Connection[Any] | None = None
    source: Catalog | None = None
    db_arg: str = '"$DATABASE_URL"'
    from_arg: str | None = None
    prefer: tuple[str, ...] = ()  # schemas to prefer when a name is in several

    @property
    def qa(self) -> Catalog:
        assert self.catalog is not None, "this check needs a database connection"
        return self.catalog

    @property
    def db(self) -> psycopg.Connection[Any]:
        assert self.conn is not None, "this check needs a database connection"
        return self.conn

    @property
    def prod_arg(self) -> str:
        return self.from_arg or '"$PROD_DATABASE_URL"'

    def sequences_fix(self) -> str:
        src = f" --from {self.from_arg}" if self.from_arg else ""
        return f"pgferry sequences fix --db {self.db_arg}{src}"

    def migrate_fix(self) -> str:
        return f"pgferry migrate --from {self.prod_arg} --to {self.db_arg}"

    def journal_fix(self) -> str:
        """``sequences fix`` puts back what an interrupted run set aside, first thing."""
        return f"pgferry sequences fix --db {self.db_arg}"

    def uses_prisma(self) -> bool:
        return (
            any(t.name.name == PRISMA_MIGRATIONS for t in self.qa.tables) if self.catalog else False
        )

    def prisma(self, args: str) -> str:
        """``npx prisma ARGS`` run against QA (Prisma reads DATABASE_URL)."""
        env = "" if self.db_arg == '"$DATABASE_URL"' else f"DATABASE_URL={self.db_arg} "
        return f"{env}npx prisma {args}"

    def schema_fix(self) -> str:
        push = f"pgferry schema push --from {self.prod_arg} --to {self.db_arg}"
        if self.uses_prisma():  # Prisma's own route keeps QA's migration history right
            deploy = self.prisma("migrate deploy")
            return f"{deploy} (or {push})" if schema_push_available() else deploy
        if schema_push_available():
            return push
        return (
            "apply QA's migrations (npx prisma migrate deploy, python manage.py migrate, "
            "bin/rails db:migrate) against QA"
        )

    def in_prod(self, name: Name) -> bool:
        return self.source is not None and self.source.table(name) is not None
