"""A drifted Prisma-style QA (../shared/datasets/app_schema.sql with a column
dropped, an enum label missing and a table renamed): migrate refuses before
writing and QA's data are unchanged; schema push closes the drift; migrate then
succeeds."""

from __future__ import annotations

import pytest

from tests.migrate_support import (
    fingerprints,
    migrate_cli,
    relations,
    run_cli,
    sequences_healthy,
)
from tests.pgtest import IN_CI, SHARED, Database, Server
from tests.test_schema import schema_diff

SCHEMA = SHARED / "datasets" / "app_schema.sql"
DATA = SHARED / "datasets" / "app_data.sql"

STALE = """
INSERT INTO clients (name, email) VALUES ('Stale', 'stale@example.com');
INSERT INTO products (sku, price) VALUES ('STALE-1', 1);
"""
DRIFT = """
ALTER TABLE products DROP COLUMN title;
ALTER TABLE order_items RENAME TO "OrderItem";
"""


@pytest.fixture
def drifted(prod_server: Server, qa_server: Server) -> tuple[Database, Database]:
    if not DATA.exists():
        msg = f"{DATA} is absent: the shared data sets live beside the project checkout"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)

    def prod_build(db: Database) -> None:
        db.psql("-f", str(SCHEMA))
        db.psql("-v", "scale=0.01", "-f", str(DATA))

    def qa_build(db: Database) -> None:
        schema = SCHEMA.read_text(encoding="utf-8")
        assert "'SHIPPED', " in schema
        db.psql(stdin=schema.replace("'SHIPPED', ", "", 1))  # an older enum
        db.psql(stdin=DRIFT + STALE)

    prod = prod_server.from_template("migrate-app-1pct", prod_build, hint="app")
    qa = qa_server.from_template("app-drifted", qa_build, hint="drifted")
    return prod, qa


@pytest.mark.slow
def test_migrate_refuses_a_drifted_qa_and_push_closes_it(
    drifted: tuple[Database, Database],
) -> None:
    prod, qa = drifted
    before = fingerprints(qa, sorted(relations(qa)))

    refused = migrate_cli(prod, qa, "--yes")
    assert refused.code == 7, refused.stderr
    for words in (
        "public.products.title is missing in QA",
        "lacks label 'SHIPPED'",
        "table public.order_items does not exist in QA",
        "pgferry schema push",
    ):
        assert words in refused.stderr, (words, refused.stderr)
    assert "Traceback" not in refused.stderr
    assert fingerprints(qa, sorted(relations(qa))) == before  # nothing was written

    found = run_cli("schema", "diff", "--from", prod.url, "--to", qa.url, "--exit-code")
    assert found.code == 1
    assert "blocking missing public.products.title" in found.stdout
    assert "blocking missing public.order_items" in found.stdout
    assert 'warning extra public."OrderItem"' in found.stdout

    # the renamed table still holds the names the missing one needs (its identity
    # sequence, its key): without --allow-drop the push stops, and QA's data stay as they were
    pushed = migrate_cli(prod, qa, "--yes", "--push-schema")
    assert pushed.code == 7, pushed.stderr
    assert 'relation "order_items' in pushed.stderr and "already exists" in pushed.stderr
    # the missing enum label went in first, on its own (no statement may use a label
    # added in its own transaction); everything else was rolled back
    assert "QA's schema is unchanged (apart from 1 enum label(s) added first)" in pushed.stderr
    assert fingerprints(qa, sorted(relations(qa))) == before

    dropped = run_cli("schema", "push", "--from", prod.url, "--to", qa.url, "--allow-drop", "--yes")
    assert dropped.code == 0, dropped.stderr
    assert 'drops data: table public."OrderItem"' in dropped.stdout
    assert "added nullable" in dropped.stdout  # QA's stale product has no title
    left = schema_diff(prod, qa)  # information only: title nullable, and at the end
    assert {d.name for d in left.differences} == {
        "public.products (column order)",
        "public.products.title",
    }
    assert {d.severity.value for d in left.differences} == {"info"}

    done = migrate_cli(prod, qa, "--yes")
    assert done.code == 0, done.stderr
    checked = run_cli("verify", "--from", prod.url, "--to", qa.url, "--checksums")
    assert checked.code == 0, checked.stdout + checked.stderr
    assert sequences_healthy(qa) == []
    again = run_cli("schema", "push", "--from", prod.url, "--to", qa.url, "--yes")
    assert again.code == 0, again.stderr
    assert [d.name for d in schema_diff(prod, qa).differences] == ["public.products (column order)"]


@pytest.mark.slow
def test_push_schema_first_when_the_drift_is_additive(
    qa_server: Server, drifted: tuple[Database, Database]
) -> None:
    prod, _ = drifted
    qa = qa_server.create("additive")
    schema = SCHEMA.read_text(encoding="utf-8")
    qa.psql(stdin=schema.replace("'SHIPPED', ", "", 1))
    qa.execute("ALTER TABLE products DROP COLUMN title")

    qa.execute("INSERT INTO products (sku, price) VALUES ('STALE-1', 1)")

    ran = migrate_cli(prod, qa, "--yes", "--push-schema")
    assert ran.code == 0, ran.stderr
    # the enum label and the column before the load, its NOT NULL after it
    assert "schema push ran 3 schema statement(s)" in ran.stdout, ran.stdout
    # title came back at the end of the table: only that is left, as information
    left = schema_diff(prod, qa)
    assert [(d.name, d.severity.value) for d in left.differences] == [
        ("public.products (column order)", "info")
    ]
    assert qa.scalar(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'products'::regclass "
        "AND attname = 'title'"
    ), "NOT NULL waited for the load, then was set"
    checked = run_cli("verify", "--from", prod.url, "--to", qa.url, "--checksums")
    assert checked.code == 0, checked.stdout + checked.stderr
