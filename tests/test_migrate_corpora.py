"""``pgferry migrate`` round trips over the public sample databases in ../shared/corpora.

Each corpus is loaded once per session per cluster as a template database.
Production gets the corpus with its data; QA gets the same schema and other,
stale rows.  After the migrate every production table holds exactly the same
rows in QA (order-independent hashes), QA's sequences are healthy, its
foreign keys and triggers are as they were and validated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import corpus_path
from tests.migrate_support import (
    assert_same_content,
    fingerprints,
    foreign_keys,
    give_database_to,
    journal_rows,
    relations,
    run_migrate,
    sequences_healthy,
    triggers,
)
from tests.pgtest import Database, Server

pytestmark = pytest.mark.corpus

_DATABASE_SWITCH = re.compile(
    r"^(?:DROP DATABASE IF EXISTS \w+|CREATE DATABASE \w+|\\c \w+);[ \t]*$\n?", re.MULTILINE
)

#: Stale QA: a third of every table's rows gone (by content, so deterministic),
#: with the replica role so QA's own foreign keys do not stop it.
STALE_DELETE = """
DO $$
DECLARE r record;
BEGIN
    SET LOCAL session_replication_role = replica;
    FOR r IN SELECT c.oid::regclass AS t FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    LOOP
        EXECUTE format('DELETE FROM ONLY %s x WHERE abs(hashtext(x::text)) %% 3 = 0', r.t);
    END LOOP;
END $$;
"""


def _sql(path: Path, strip_switch: bool) -> str:
    text = path.read_text(encoding="utf-8")
    if strip_switch:
        text, count = _DATABASE_SWITCH.subn("", text)
        assert count == 3, f"{path}: expected DROP/CREATE DATABASE and \\c, found {count}"
    return text


def _loader(*parts: tuple[str, ...], strip_switch: bool = False, then: str = "") -> Callable:
    paths = [corpus_path(*p) for p in parts]

    def build(db: Database) -> None:
        for path in paths:
            db.psql(stdin=_sql(path, strip_switch))
        if then:
            db.psql(stdin=then)

    return build


@dataclass(frozen=True)
class Case:
    id: str
    prod: tuple[tuple[str, ...], ...]
    qa: tuple[tuple[str, ...], ...]
    strip_switch: bool = False
    prod_then: str = ""
    qa_then: str = STALE_DELETE
    compare: tuple[tuple[str, str], ...] | None = None  # None: every production table


PGSYNC_PROD_ROWS = """
INSERT INTO posts (id, title) VALUES (1, 'one'), (2, 'two'), (7, 'seven');
INSERT INTO comments (id, post_id) VALUES (1, 1), (5, 2), (6, NULL);
INSERT INTO comments2 (id, post_id) VALUES (4, 7);
INSERT INTO books (id, id2, title) VALUES (1, 1, 'a'), (2, 9, 'b');
INSERT INTO authors VALUES ('x'), ('x'), (NULL);
INSERT INTO chapters VALUES (10), (20);
INSERT INTO robots (id, name) VALUES (4, 'r2');
INSERT INTO excluded (id) VALUES (1), (3);
INSERT INTO "Users" ("Id", email, current_mood, "column_with_punctuation?", created_on)
    VALUES (3, 'a@example.com', 'ok', true, '2024-02-29'), (10, 'b@example.com', 'happy', NULL,
            NULL);
INSERT INTO other.pets (id) VALUES (11);
"""

PGSYNC_QA_ROWS = """
INSERT INTO posts (title) VALUES ('stale');
INSERT INTO comments (post_id) VALUES (1);
INSERT INTO "Users" (email, current_mood) VALUES ('stale@example.com', 'sad');
INSERT INTO stores VALUES ('stale store');
"""

PAGILA_QA_ROWS = """
INSERT INTO language (language_id, name) VALUES (1, 'Stale'), (99, 'Klingon');
INSERT INTO actor (first_name, last_name) VALUES ('STALE', 'ACTOR');
INSERT INTO category (category_id, name) VALUES (3, 'Stale');
"""

CASES = (
    Case(
        "pagila",
        prod=(("pagila", "pagila-schema.sql"), ("pagila", "pagila-data.sql")),
        qa=(("pagila", "pagila-schema.sql"),),
        prod_then="REFRESH MATERIALIZED VIEW rental_by_category;",
        qa_then=PAGILA_QA_ROWS,
    ),
    Case(
        "chinook-serial",
        prod=(("chinook", "chinook-serial.sql"),),
        qa=(("chinook", "chinook-serial.sql"),),
        strip_switch=True,
    ),
    Case(
        "chinook-identity",
        prod=(("chinook", "chinook-identity.sql"),),
        qa=(("chinook", "chinook-identity.sql"),),
        strip_switch=True,
    ),
    Case(
        "northwind",
        prod=(("northwind", "northwind.sql"),),
        qa=(("northwind", "northwind.sql"),),
    ),
    Case(
        "pgsync-schema1",
        prod=(("pgsync", "schema1.sql"),),
        qa=(("pgsync", "schema1.sql"),),
        prod_then=PGSYNC_PROD_ROWS,
        qa_then=PGSYNC_QA_ROWS,
    ),
    Case(
        "chinook-quoted",
        prod=(("chinook", "chinook-quoted.sql"),),
        qa=(("chinook", "chinook-quoted.sql"),),
    ),
    Case(
        "neon-happiness-periodic",
        prod=(
            ("samples", "neon", "happiness_index.sql"),
            ("samples", "neon", "periodic_table.sql"),
        ),
        qa=(("samples", "neon", "happiness_index.sql"), ("samples", "neon", "periodic_table.sql")),
    ),
    Case(
        "neon-netflix",
        prod=(("samples", "neon", "netflix.sql"),),
        qa=(("samples", "neon", "netflix.sql"),),
    ),
    Case(
        "iso-3166",
        prod=(("samples", "iso-3166", "iso-3166.sql"),),
        qa=(("samples", "iso-3166", "iso-3166.sql"),),
    ),
    Case(
        "pgcopydb-filtering-extra",
        prod=(("pgcopydb", "filtering", "extra.sql"),),
        qa=(("pgcopydb", "filtering", "extra.sql"),),
    ),
    Case(
        "pgcopydb-partitioned-target",
        prod=(("pgcopydb", "partitioned-target", "source.sql"),),
        qa=(("pgcopydb", "partitioned-target", "target.sql"),),
        qa_then="INSERT INTO partitioned_target.events VALUES (9, 1, 'stale'), (4, 0, 'old');",
        compare=(("partitioned_target", "events"),),
    ),
)


def _databases(prod_server: Server, qa_server: Server, case: Case) -> tuple[Database, Database]:
    prod = prod_server.from_template(
        f"migrate-{case.id}",
        _loader(*case.prod, strip_switch=case.strip_switch, then=case.prod_then),
        hint=case.id,
    )
    qa = qa_server.from_template(
        f"migrate-{case.id}",
        _loader(*case.qa, strip_switch=case.strip_switch, then=case.qa_then),
        hint=case.id,
    )
    return prod, qa


#: the round trips that took over 3 s here (make test-fast leaves them out)
_SLOW_CASES = {"chinook-quoted", "pagila"}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.id in _SLOW_CASES else [])
        for c in CASES
    ],
)
def test_corpus_round_trip(prod_server: Server, qa_server: Server, case: Case) -> None:
    prod, qa = _databases(prod_server, qa_server, case)
    tables = case.compare
    fks, trgs = foreign_keys(qa), triggers(qa)
    stale = assert_differs(prod, qa, tables)

    report = run_migrate(prod.url, qa.url)

    assert report.ok, report.to_dict()
    assert report.not_validated == []
    assert all(c.ok for c in report.counts)
    copied = assert_same_content(prod, qa, tables)
    assert set(copied) >= stale
    assert foreign_keys(qa) == fks
    assert all(validated for _, _, validated, _ in fks)
    assert triggers(qa) == trgs
    assert journal_rows(qa) is None
    assert sequences_healthy(qa) == []
    names = [str(r.table.target) for r in report.results]
    assert len(names) == len(set(names)), "a table was copied twice"


def assert_differs(
    prod: Database, qa: Database, tables: tuple[tuple[str, str], ...] | None
) -> set[tuple[str, str]]:
    """QA really starts out different: the tables whose content differs."""
    names = sorted(relations(prod)) if tables is None else sorted(tables)
    want, got = fingerprints(prod, names), fingerprints(qa, names)
    differ = {n for n in names if want[n] != got[n]}
    assert differ, "QA already equals production: the test would prove nothing"
    return differ


def test_partitioned_in_qa_only_is_copied_through_the_root(
    prod_server: Server, qa_server: Server
) -> None:
    case = next(c for c in CASES if c.id == "pgcopydb-partitioned-target")
    prod, qa = _databases(prod_server, qa_server, case)
    report = run_migrate(prod.url, qa.url)
    (only,) = report.plan.tables
    assert str(only.target) == "partitioned_target.events"
    assert "partitioned in QA" in only.note
    # QA routed the rows into its own partitions, nothing left behind from before
    assert qa.execute(
        "SELECT tableoid::regclass::text, count(*) FROM partitioned_target.events "
        "GROUP BY 1 ORDER BY 1"
    ) == [("partitioned_target.events_a", 2), ("partitioned_target.events_b", 2)]


GIVE_TABLES = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm', 'v', 'S')
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I',
                       CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                      WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       r.rel, '{role}');
    END LOOP;
END $$;
"""


@pytest.mark.slow
def test_pagila_with_an_app_role_in_constraints_mode(
    prod_server: Server, qa_server: Server
) -> None:
    """Pagila again, QA owned by a role that may not set session_replication_role."""
    case = CASES[0]
    prod, qa = _databases(prod_server, qa_server, case)
    with qa_server.role("pagila_app") as role:
        give_database_to(qa, role)
        qa.execute(GIVE_TABLES.replace("{role}", role))
        fks, trgs = foreign_keys(qa), triggers(qa)
        report = run_migrate(prod.url, qa.url_as(role, "secret-pw"))
    assert report.mode == "constraints"
    assert report.ok, report.to_dict()
    assert_same_content(prod, qa)
    assert foreign_keys(qa) == fks
    assert all(validated for _, _, validated, _ in fks)
    assert triggers(qa) == trgs
    assert journal_rows(qa) is None
    assert sequences_healthy(qa) == []


@pytest.mark.slow
def test_app_dataset_round_trip(prod_server: Server, qa_server: Server) -> None:
    """../shared/datasets at a small scale: production at 1%, QA with other, stale rows."""
    from tests.pgtest import IN_CI, SHARED

    schema, data = SHARED / "datasets" / "app_schema.sql", SHARED / "datasets" / "app_data.sql"
    if not data.exists():
        msg = f"{data} is absent: the shared data sets live beside the project checkout"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)

    def build(scale: str) -> Callable[[Database], None]:
        def load(db: Database) -> None:
            db.psql("-f", str(schema))
            db.psql("-v", f"scale={scale}", "-f", str(data))

        return load

    prod = prod_server.from_template("migrate-app-1pct", build("0.01"), hint="app")
    qa = qa_server.from_template("migrate-app-stale", build("0.003"), hint="app")
    tables = tuple(n for n in sorted(relations(prod)) if n[1] != "_prisma_migrations")
    assert_differs(prod, qa, tables)

    report = run_migrate(prod.url, qa.url)

    assert report.ok, report.to_dict()
    assert_same_content(prod, qa, tables)
    assert sequences_healthy(qa) == []
    assert all(validated for _, _, validated, _ in foreign_keys(qa))
    assert all(i.ok for i in report.inserts)
