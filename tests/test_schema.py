"""``schema diff`` and ``schema push`` on real servers of two major versions.

One fixture per kind of difference: each must be found, classed right, and
(unless pgferry refuses it, with its reason) closed by a push, after which
the diff is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import pgferry
from pgferry import clienttools
from pgferry.catalog import read_catalog
from pgferry.plan import Severity
from pgferry.schema import Change, SchemaDiff, diff
from pgferry.schema.push import PushFailed, push
from tests.migrate_support import run_cli
from tests.pgtest import SUPERUSER_PASSWORD, Database

BASE = """
CREATE TYPE public.status AS ENUM ('new', 'paid');
CREATE TABLE public.client (id serial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE public."Order" (
    id serial PRIMARY KEY,
    "clientId" integer NOT NULL REFERENCES public.client (id),
    status public.status NOT NULL DEFAULT 'new',
    total numeric(10,2),
    note varchar(50)
);
CREATE INDEX order_client ON public."Order" ("clientId");
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER order_touch BEFORE UPDATE ON public."Order"
    FOR EACH ROW EXECUTE FUNCTION public.touch();
CREATE VIEW public.paid AS SELECT id, total FROM public."Order" WHERE status = 'paid';
"""


def read(db: Database) -> pgferry.catalog.Catalog:  # type: ignore[name-defined]
    with pgferry.connect(pgferry.parse(db.url), read_only=True, autocommit=True) as conn:
        return read_catalog(conn)


def schema_diff(prod: Database, qa: Database) -> SchemaDiff:
    return diff(read(prod), read(qa))


HAS_NAME = (
    "SELECT count(*) FROM information_schema.columns "
    "WHERE table_name = 'client' AND column_name = 'name'"
)


@dataclass(frozen=True)
class Case:
    id: str
    prod: str
    qa: str
    kind: str
    change: Change
    severity: Severity
    drops: bool = False
    refused: bool = False


CASES = [
    Case("missing table", "CREATE TABLE t2 (id int PRIMARY KEY, c int REFERENCES client)", "",
         "table", Change.MISSING, Severity.BLOCKING),
    Case("missing partitioned table",
         "CREATE TABLE ev (id int, at date NOT NULL) PARTITION BY RANGE (at);"
         "CREATE TABLE ev_24 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
         "CREATE INDEX ev_at ON ev (at)", "", "table", Change.MISSING, Severity.BLOCKING),
    Case("extra table", "", "CREATE TABLE qa_only (id int)", "table", Change.EXTRA,
         Severity.WARNING, drops=True),
    Case("missing column", "ALTER TABLE client ADD COLUMN name text", "", "column",
         Change.MISSING, Severity.BLOCKING),
    Case("extra NOT NULL column", "", "ALTER TABLE client ADD COLUMN code text NOT NULL",
         "column", Change.EXTRA, Severity.BLOCKING, drops=True),
    Case("extra nullable column", "", "ALTER TABLE client ADD COLUMN nick text", "column",
         Change.EXTRA, Severity.WARNING, drops=True),
    Case("wider type in production", 'ALTER TABLE "Order" ALTER note TYPE text', "", "column",
         Change.CHANGED, Severity.WARNING),
    Case("narrower type in production", 'ALTER TABLE "Order" ALTER note TYPE varchar(20)', "",
         "column", Change.CHANGED, Severity.WARNING, drops=True),
    Case("incompatible type", 'ALTER TABLE "Order" ALTER note TYPE integer USING NULL', "",
         "column", Change.CHANGED, Severity.BLOCKING, refused=True),
    Case("QA NOT NULL", "", 'ALTER TABLE "Order" ALTER note SET NOT NULL', "column",
         Change.CHANGED, Severity.WARNING),
    Case("default", 'ALTER TABLE "Order" ALTER total SET DEFAULT 0', "", "column",
         Change.CHANGED, Severity.INFO),
    Case("missing enum label", "ALTER TYPE status ADD VALUE 'shipped'", "", "enum label",
         Change.MISSING, Severity.BLOCKING),
    Case("missing enum label in the middle", "ALTER TYPE status ADD VALUE 'open' BEFORE 'paid'",
         "", "enum label", Change.MISSING, Severity.BLOCKING),
    Case("extra enum label", "", "ALTER TYPE status ADD VALUE 'void'", "enum label",
         Change.EXTRA, Severity.INFO, refused=True),
    Case("reordered enum labels", "ALTER TYPE status ADD VALUE 'x' BEFORE 'new'",
         "ALTER TYPE status ADD VALUE 'x' AFTER 'paid'", "enum label", Change.CHANGED,
         Severity.WARNING, refused=True),
    Case("missing enum", "CREATE TYPE mood AS ENUM ('ok', 'sad')", "", "enum", Change.MISSING,
         Severity.WARNING),
    Case("missing label of an enum no column uses", "CREATE TYPE mood AS ENUM ('ok', 'sad')",
         "CREATE TYPE mood AS ENUM ('ok')", "enum label", Change.MISSING, Severity.WARNING),
    Case("missing domain", "CREATE DOMAIN pos AS integer CHECK (VALUE > 0)", "", "domain",
         Change.MISSING, Severity.WARNING),
    Case("changed domain", "CREATE DOMAIN pos AS integer CHECK (VALUE > 0)",
         "CREATE DOMAIN pos AS integer", "domain", Change.CHANGED, Severity.WARNING,
         refused=True),
    Case("missing composite type", "CREATE TYPE pair AS (a integer, b text)", "",
         "composite type", Change.MISSING, Severity.WARNING),
    Case("missing sequence", "CREATE SEQUENCE counter START 10", "", "sequence",
         Change.MISSING, Severity.WARNING),
    Case("changed sequence", "CREATE SEQUENCE s2 AS bigint INCREMENT 5",
         "CREATE SEQUENCE s2 AS integer", "sequence", Change.CHANGED, Severity.WARNING),
    Case("missing function", "CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1'", "",
         "function", Change.MISSING, Severity.WARNING),
    Case("changed function",
         "CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql "
         "AS $$BEGIN NEW.note := 'x'; RETURN NEW; END$$", "", "function", Change.CHANGED,
         Severity.WARNING),
    Case("missing trigger",
         'CREATE TRIGGER order_ins BEFORE INSERT ON "Order" FOR EACH ROW EXECUTE FUNCTION touch()',
         "", "trigger", Change.MISSING, Severity.WARNING),
    Case("extra trigger", "",
         "CREATE TRIGGER client_ins BEFORE INSERT ON client FOR EACH ROW EXECUTE FUNCTION touch()",
         "trigger", Change.EXTRA, Severity.WARNING),
    Case("missing view", "CREATE VIEW v2 AS SELECT id FROM client", "", "view", Change.MISSING,
         Severity.WARNING),
    Case("changed view",
         "CREATE OR REPLACE VIEW paid AS SELECT id, total FROM \"Order\" WHERE status = 'paid' "
         "AND total > 0", "", "view", Change.CHANGED, Severity.WARNING),
    Case("missing materialized view", "CREATE MATERIALIZED VIEW mv AS SELECT id FROM client", "",
         "materialized view", Change.MISSING, Severity.BLOCKING),
    Case("missing unique constraint", 'ALTER TABLE "Order" ADD CONSTRAINT o_note UNIQUE (note)',
         "", "constraint", Change.MISSING, Severity.WARNING),
    Case("extra check constraint", "",
         'ALTER TABLE "Order" ADD CONSTRAINT total_pos CHECK (total > 0)', "constraint",
         Change.EXTRA, Severity.WARNING, drops=True),
    Case("missing foreign key", "", 'ALTER TABLE "Order" DROP CONSTRAINT "Order_clientId_fkey"',
         "constraint", Change.MISSING, Severity.INFO),
    Case("missing index", "", "DROP INDEX order_client", "index", Change.MISSING, Severity.INFO),
    Case("changed index", "",
         'DROP INDEX order_client; CREATE INDEX order_client ON "Order" (status)', "index",
         Change.CHANGED, Severity.INFO),
    Case("missing schema", "CREATE SCHEMA audit; CREATE TABLE audit.log (id int)", "", "schema",
         Change.MISSING, Severity.WARNING),
]  # fmt: skip


@pytest.fixture
def pair(prod: Database, qa: Database) -> tuple[Database, Database]:
    prod.execute(BASE)
    qa.execute(BASE)
    return prod, qa


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_kind_of_difference_is_found_classed_and_pushed(
    pair: tuple[Database, Database], case: Case
) -> None:
    prod, qa = pair
    base = schema_diff(prod, qa)
    assert not base, [d.to_dict() for d in base.differences]
    if case.prod:
        prod.execute(case.prod)
    if case.qa:
        qa.execute(case.qa)
    found = schema_diff(prod, qa)
    hits = [d for d in found.differences if d.kind == case.kind and d.change is case.change]
    assert hits, [d.to_dict() for d in found.differences]
    assert hits[0].severity is case.severity, hits[0].to_dict()
    assert hits[0].drops is case.drops
    assert (hits[0].refused is not None) is case.refused
    assert hits[0].migrate and hits[0].detail
    result = push(pgferry.parse(prod.url), pgferry.parse(qa.url), allow_drop=case.drops)
    left = result.remaining
    assert left is not None
    if case.refused:
        assert [d.name for d in left.differences] == [hits[0].name]
    else:
        assert not left, [d.to_dict() for d in left.differences]


def test_drops_wait_for_allow_drop(pair: tuple[Database, Database]) -> None:
    prod, qa = pair
    qa.execute("ALTER TABLE client ADD COLUMN nick text; INSERT INTO client VALUES (1, 'a', 'n')")
    prod.execute("ALTER TABLE client ADD COLUMN name text")
    dry = push(pgferry.parse(prod.url), pgferry.parse(qa.url), dry_run=True)
    assert [d.name for d in dry.plan.held_back] == ["public.client.nick"]
    assert not any("DROP" in s for s in dry.plan.statements)
    assert qa.scalar(HAS_NAME) == 0
    once = push(pgferry.parse(prod.url), pgferry.parse(qa.url))
    assert once.remaining is not None and [d.name for d in once.remaining.differences] == [
        "public.client.nick"
    ]
    assert qa.scalar("SELECT nick FROM client") == "n"  # kept: no --allow-drop
    ran = run_cli("schema", "push", "--from", prod.url, "--to", qa.url, "--allow-drop", "--yes")
    assert ran.code == 0, ran.stderr
    assert "drops data: column public.client.nick" in ran.stdout
    assert 'ALTER TABLE "public"."client" DROP COLUMN "nick"' in ran.stdout
    assert not schema_diff(prod, qa)


def test_a_failing_statement_leaves_qa_unchanged(pair: tuple[Database, Database]) -> None:
    prod, qa = pair
    prod.execute("ALTER TABLE client ADD COLUMN name text NOT NULL DEFAULT 'x'")
    prod.execute("ALTER TABLE client ADD CONSTRAINT email_at CHECK (email LIKE '%@%')")
    prod.execute("CREATE TABLE t2 (id int)")
    qa.execute("INSERT INTO client VALUES (1, 'no-at-sign')")  # fails the new check
    with pytest.raises(PushFailed) as err:
        push(pgferry.parse(prod.url), pgferry.parse(qa.url))
    assert "QA's schema is unchanged" in err.value.message and "email_at" in err.value.message
    assert qa.scalar("SELECT to_regclass('public.t2')") is None
    assert qa.scalar(HAS_NAME) == 0


def test_a_new_not_null_column_waits_for_qa_rows_to_get_values(
    pair: tuple[Database, Database],
) -> None:
    prod, qa = pair
    prod.execute("ALTER TABLE client ADD COLUMN name text NOT NULL")
    qa.execute("INSERT INTO client VALUES (1, 'a@b')")
    result = push(pgferry.parse(prod.url), pgferry.parse(qa.url))
    assert [s.text() for s in result.plan.deferred] == [
        'ALTER TABLE "public"."client" ALTER COLUMN "name" SET NOT NULL'
    ]
    assert any("added nullable" in n for n in result.plan.notes)
    assert result.remaining is not None
    assert [(d.name, d.detail) for d in result.remaining.differences] == [
        ("public.client.name", "NOT NULL in production, nullable in QA")
    ]
    qa.execute("DELETE FROM client")  # what a migrate's load would replace
    push(pgferry.parse(prod.url), pgferry.parse(qa.url))
    assert not schema_diff(prod, qa)


@pytest.mark.slow
def test_diff_cli_exit_codes_and_json(pair: tuple[Database, Database]) -> None:
    prod, qa = pair
    same = run_cli("schema", "diff", "--from", prod.url, "--to", qa.url, "--exit-code")
    assert same.code == 0 and "no differences" in same.stdout
    prod.execute("ALTER TABLE client ADD COLUMN name text")
    found = run_cli("schema", "diff", "--from", prod.url, "--to", qa.url, "--exit-code")
    assert found.code == 1, found.stderr
    assert "blocking missing public.client.name" in found.stdout
    assert "pgferry schema push" in found.stdout
    plain = run_cli("schema", "diff", "--from", prod.url, "--to", qa.url, "--json")
    assert plain.code == 0
    import json

    out = json.loads(plain.stdout)
    assert out["counts"]["blocking"] == 1
    assert out["differences"][0]["fix"] == ['ALTER TABLE "public"."client" ADD COLUMN "name" text']
    assert SUPERUSER_PASSWORD not in plain.stdout + plain.stderr + found.stdout + found.stderr
    bad = run_cli("schema", "diff", "--from", prod.url, "--to", qa.url + "_nope")
    assert bad.code == 4 and "error:" in bad.stderr and "Traceback" not in bad.stderr


def test_push_without_confirmation_is_refused(pair: tuple[Database, Database]) -> None:
    prod, qa = pair
    prod.execute("ALTER TABLE client ADD COLUMN name text")
    ran = run_cli("schema", "push", "--from", prod.url, "--to", qa.url)
    assert ran.code == 6 and "--yes" in ran.stderr
    assert 'ALTER TABLE "public"."client" ADD COLUMN "name" text;' in ran.stdout
    dry = run_cli("schema", "push", "--from", prod.url, "--to", qa.url, "--dry-run")
    assert dry.code == 0
    assert len(schema_diff(prod, qa).differences) == 1


# -- an empty QA ---------------------------------------------------------------------------


def test_empty_qa_gets_the_whole_schema_from_a_new_enough_pg_dump(
    prod: Database, qa: Database
) -> None:
    prod.execute(BASE)
    prod.execute("CREATE POLICY mine ON client USING (true); COMMENT ON TABLE client IS 'people'")
    result = push(pgferry.parse(prod.url), pgferry.parse(qa.url))
    assert result.plan.method == "pg_dump"
    tool = clienttools.pick_tool("pg_dump", prod.server.major)
    assert tool is not None and tool.major >= prod.server.major
    older = [t for t in clienttools.find_tools("pg_dump") if t.major < prod.server.major]
    assert str(tool.path) not in {str(t.path) for t in older}  # e.g. the system's PostgreSQL 15
    assert any(str(tool.path) in n for n in result.plan.notes)
    assert not result.remaining, [d.to_dict() for d in result.remaining.differences]  # type: ignore[union-attr]
    assert qa.scalar("SELECT obj_description('public.client'::regclass)") == "people"
    assert qa.scalar("SELECT count(*) FROM pg_policy") == 1


def test_without_a_new_enough_pg_dump_the_catalog_builds_it_and_says_what_to_install(
    prod: Database, qa: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = [t for t in clienttools.find_tools("pg_dump") if t.major < prod.server.major]
    monkeypatch.setattr(clienttools, "find_tools", lambda name: older)
    prod.execute(BASE)
    result = push(pgferry.parse(prod.url), pgferry.parse(qa.url))
    assert result.plan.method == "catalog"
    (note,) = result.plan.notes
    assert f"no pg_dump {prod.server.major} or newer" in note
    assert f"postgresql-client-{prod.server.major}" in note
    assert not result.remaining


PRISMA_HISTORY = """
CREATE TABLE public."_prisma_migrations" (
    id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz,
    migration_name varchar(255) NOT NULL, applied_steps_count integer NOT NULL DEFAULT 0
);
INSERT INTO public."_prisma_migrations" VALUES ('1', 'a', now(), '20240101_init', 1);
"""


@pytest.fixture
def prisma_pair(pair: tuple[Database, Database]) -> tuple[Database, Database]:
    """Production one Prisma migration ahead of QA: it made table audit."""
    prod, qa = pair
    prod.execute(PRISMA_HISTORY)
    qa.execute(PRISMA_HISTORY)
    prod.execute(
        "CREATE TABLE audit (id int PRIMARY KEY);"
        "INSERT INTO _prisma_migrations VALUES ('2', 'b', now(), '20240301_audit', 1)"
    )
    return prod, qa


def test_prisma_history_travels_with_the_schema(prisma_pair: tuple[Database, Database]) -> None:
    prod, qa = prisma_pair
    result = push(pgferry.parse(prod.url), pgferry.parse(qa.url))
    assert any("Prisma migration history" in n for n in result.notes)
    history = "SELECT id, migration_name FROM _prisma_migrations ORDER BY id"
    assert (
        qa.execute(history)
        == prod.execute(history)
        == [
            ("1", "20240101_init"),
            ("2", "20240301_audit"),
        ]
    )


def test_prisma_history_stays_while_qa_still_differs(
    prisma_pair: tuple[Database, Database],
) -> None:
    prod, qa = prisma_pair
    qa.execute("CREATE TABLE qa_only (id int)")  # held back without --allow-drop
    result = push(pgferry.parse(prod.url), pgferry.parse(qa.url))
    assert result.applied and not result.notes
    assert qa.scalar("SELECT count(*) FROM _prisma_migrations") == 1
