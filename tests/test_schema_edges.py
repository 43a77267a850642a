"""``schema push`` on the shapes that trip a naive DDL writer: partitions and inheritance,
enum labels used in the same push, types and functions that depend on each other, view
and materialized-view changes, PostgreSQL 18 features an older QA lacks; and the casts a
copy must refuse or check because the server would change a value quietly."""

from __future__ import annotations

import pytest

import pgferry
from pgferry.errors import CopyFailed, SchemaMismatch
from pgferry.plan import Severity
from pgferry.schema.push import push
from tests.migrate_support import run_cli, run_migrate
from tests.pgtest import Database
from tests.test_schema import schema_diff

# (id, SQL for both, SQL for production only, SQL for QA only)
CLOSED = [
    (
        "column added to a partitioned table",
        "CREATE TABLE pt (id int, at date NOT NULL) PARTITION BY RANGE (at);"
        "CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        "ALTER TABLE pt ADD COLUMN note text",
        "",
    ),
    (
        "type widened on a partitioned table",
        "CREATE TABLE pt (id int, at date NOT NULL) PARTITION BY RANGE (at);"
        "CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        "ALTER TABLE pt ALTER COLUMN id TYPE bigint",
        "",
    ),
    (
        "column added to an inheritance parent",
        "CREATE TABLE a_par (id int); CREATE TABLE b_kid (extra int) INHERITS (a_par);",
        "ALTER TABLE a_par ADD COLUMN v text",
        "",
    ),
    (
        "a child's own default and NOT NULL on an inherited column",
        "CREATE TABLE a_par (id int, v int); CREATE TABLE b_kid () INHERITS (a_par);",
        "ALTER TABLE b_kid ALTER COLUMN v SET DEFAULT 7; ALTER TABLE b_kid ALTER v SET NOT NULL",
        "",
    ),
    (
        "new partitioned table with a check constraint",
        "",
        "CREATE TABLE pc (id int CHECK (id > 0), at date NOT NULL) PARTITION BY RANGE (at);"
        "CREATE TABLE pc1 PARTITION OF pc FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        "",
    ),
    (
        "new inheritance child with its own NOT NULL",
        "",
        "CREATE TABLE a_par (id int, v int CHECK (v > 0));"
        "CREATE TABLE b_kid (extra int NOT NULL) INHERITS (a_par);"
        "ALTER TABLE b_kid ALTER COLUMN v SET NOT NULL;",
        "",
    ),
    (
        "new enum label used by a new table",
        "CREATE TYPE st AS ENUM ('new', 'paid'); CREATE TABLE o (s st);",
        "ALTER TYPE st ADD VALUE 'shipped';"
        "CREATE TABLE ship (s st NOT NULL DEFAULT 'shipped', CHECK (s <> 'new'))",
        "",
    ),
    (
        "several labels missing, in order",
        "",
        "CREATE TYPE e AS ENUM ('a', 'b', 'c', 'd'); CREATE TABLE t (v e)",
        "CREATE TYPE e AS ENUM ('a', 'd'); CREATE TABLE t (v e)",
    ),
    (
        "a domain over a domain, a composite in a composite",
        "",
        "CREATE DOMAIN posint AS int CHECK (VALUE > 0); CREATE DOMAIN age AS posint;"
        "CREATE TYPE zz AS (z int); CREATE TYPE aa AS (a zz, b age);",
        "",
    ),
    (
        "a domain whose check calls a function",
        "",
        "CREATE FUNCTION ok(t text) RETURNS boolean LANGUAGE sql IMMUTABLE\n"
        "AS $$ SELECT t <> '' $$;"
        "CREATE DOMAIN nonempty AS text CHECK (ok(VALUE)); CREATE TABLE n (v nonempty);",
        "",
    ),
    (
        "functions on a view's row type and with a BEGIN ATOMIC body",
        "",
        "CREATE TABLE t9 (id int); CREATE VIEW v1 AS SELECT id FROM t9;"
        "CREATE FUNCTION all_v1() RETURNS SETOF v1 LANGUAGE sql AS 'SELECT * FROM v1';"
        "CREATE FUNCTION n9() RETURNS bigint LANGUAGE sql\n"
        "BEGIN ATOMIC SELECT count(*) FROM t9; END",
        "",
    ),
    (
        "a view whose columns changed",
        "CREATE TABLE t (id int, total int);",
        "CREATE VIEW v2 AS SELECT id FROM t",
        "CREATE VIEW v2 AS SELECT id, total FROM t",
    ),
    (
        "a materialized view whose query changed keeps its index",
        "CREATE TABLE t (id int, total int);",
        "CREATE MATERIALIZED VIEW mv AS SELECT id FROM t WHERE total > 0;"
        "CREATE UNIQUE INDEX mv_id ON mv (id)",
        "CREATE MATERIALIZED VIEW mv AS SELECT id FROM t; CREATE UNIQUE INDEX mv_id ON mv (id)",
    ),
    (
        "two new tables share a bigserial's sequence",
        "",
        "CREATE TABLE s1 (id bigserial PRIMARY KEY);"
        "CREATE TABLE s2 (id bigint PRIMARY KEY DEFAULT nextval('s1_id_seq'))",
        "",
    ),
    (
        "an identity column keeps its sequence's name",
        "",
        "CREATE TABLE renamed_from (id int GENERATED ALWAYS AS IDENTITY);"
        "ALTER TABLE renamed_from RENAME TO ident",
        "",
    ),
]


@pytest.mark.parametrize(
    ("both", "on_prod", "on_qa"), [c[1:] for c in CLOSED], ids=[c[0] for c in CLOSED]
)
def test_push_closes_it(prod: Database, qa: Database, both: str, on_prod: str, on_qa: str) -> None:
    for db, own in ((prod, on_prod), (qa, on_qa)):
        if both:
            db.execute(both)
        if own:
            db.psql(stdin=own)  # one statement at a time: a new label commits
    assert schema_diff(prod, qa), "the fixture differs"
    result = push(pgferry.parse(prod.url), pgferry.parse(qa.url), use_pg_dump=False)
    assert result.remaining is not None
    assert not result.remaining, [d.to_dict() for d in result.remaining.differences]
    texts = result.plan.statements
    assert len(texts) == len(set(texts)), "a statement twice"


def test_labels_keep_productions_order(prod: Database, qa: Database) -> None:
    prod.execute("CREATE TYPE e AS ENUM ('a', 'b', 'c', 'd')")
    qa.execute("CREATE TYPE e AS ENUM ('a', 'd')")
    push(pgferry.parse(prod.url), pgferry.parse(qa.url))
    order = "SELECT array_agg(enumlabel ORDER BY enumsortorder)::text FROM pg_enum"
    assert qa.scalar(order) == "{a,b,c,d}"


def test_an_empty_qa_where_pg_dump_writes_what_qa_cannot_read(prod: Database, qa: Database) -> None:
    """pg_dump 18 writes a child's own NOT NULL on an inherited column as a table constraint
    (``NOT NULL v``), which PostgreSQL 15 cannot parse: it becomes ALTER ... SET NOT NULL."""
    prod.execute(
        "CREATE TABLE a_par (id int, v int); CREATE TABLE b_kid (w int) INHERITS (a_par);"
        "ALTER TABLE b_kid ALTER COLUMN v SET NOT NULL"
    )
    result = push(pgferry.parse(prod.url), pgferry.parse(qa.url))
    assert result.remaining is not None and not result.remaining
    assert result.plan.method == "pg_dump"  # no fallback to the catalog: nothing was refused
    assert not result.plan.refused
    assert qa.scalar(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'b_kid'::regclass AND attname = 'v'"
    )


def test_virtual_generated_columns_need_postgresql_18_in_qa(prod: Database, qa: Database) -> None:
    if prod.server.major < 18 or qa.server.major >= 18:
        pytest.skip("needs production on 18+ and QA older")
    prod.execute("CREATE TABLE g (a int, b int GENERATED ALWAYS AS (a * 2) VIRTUAL)")
    found = schema_diff(prod, qa)
    (table,) = [d for d in found.differences if d.name == "public.g"]
    assert table.refused is not None and "virtual generated" in table.refused


def test_markup_in_definitions_is_printed_as_is(prod: Database, qa: Database) -> None:
    prod.execute("CREATE TABLE m (email text CHECK (email !~ '[/a-z]x'))")
    qa.execute("CREATE TABLE m (email text)")
    ran = run_cli("schema", "diff", "--from", prod.url, "--to", qa.url)
    assert ran.code == 0, ran.stderr
    assert "[/a-z]x" in ran.stdout


def test_a_missing_partition_of_an_existing_table_is_a_warning(
    prod: Database, qa: Database
) -> None:
    ddl = (
        "CREATE TABLE pt (id int, at date NOT NULL) PARTITION BY RANGE (at);"
        "CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
    )
    prod.execute(
        ddl + "CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"
    )
    qa.execute(ddl)
    (d,) = schema_diff(prod, qa).differences
    assert (d.name, d.severity) == ("public.pt2", Severity.WARNING)
    assert "through the partitioned root" in d.migrate


# -- casts the copy must refuse, or check before writing ------------------------------------


@pytest.mark.parametrize(
    ("prod_type", "qa_type"),
    [
        ("numeric(10,2)", "numeric(5,-2)"),  # rounds to hundreds
        ("text", "char(5)"),  # blank-padded, compares without trailing blanks
        ("bit(4)", "bit(8)"),  # a length, not a bound
    ],
)
def test_casts_that_change_values_are_refused(
    prod: Database, qa: Database, prod_type: str, qa_type: str
) -> None:
    prod.execute(f"CREATE TABLE t (id int PRIMARY KEY, v {prod_type})")
    qa.execute(f"CREATE TABLE t (id int PRIMARY KEY, v {qa_type})")
    with pytest.raises(SchemaMismatch):
        run_migrate(prod.url, qa.url)


def test_trailing_blanks_past_a_varchar_length_are_named_before_writing(
    prod: Database, qa: Database
) -> None:
    prod.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    prod.execute("INSERT INTO t VALUES (1, 'ok'), (2, 'abcd   ')")
    qa.execute("CREATE TABLE t (id int PRIMARY KEY, v varchar(5))")
    with pytest.raises(CopyFailed) as err:
        run_migrate(prod.url, qa.url)
    assert err.value.key == "id=2" and "'abcd   '" in err.value.message
    assert qa.scalar("SELECT count(*) FROM t") == 0


def test_a_domain_over_an_enum_lacking_a_label_stops_migrate(prod: Database, qa: Database) -> None:
    prod.execute(
        "CREATE TYPE st AS ENUM ('new', 'paid', 'shipped'); CREATE DOMAIN dst AS st;"
        "CREATE TABLE o (id int PRIMARY KEY, s dst)"
    )
    qa.execute(
        "CREATE TYPE st AS ENUM ('new', 'paid'); CREATE DOMAIN dst AS st;"
        "CREATE TABLE o (id int PRIMARY KEY, s dst)"
    )
    with pytest.raises(SchemaMismatch) as err:
        run_migrate(prod.url, qa.url)
    assert "lacks label 'shipped'" in str(err.value)
    (d,) = [d for d in schema_diff(prod, qa).differences if d.kind == "enum label"]
    assert d.severity is Severity.BLOCKING


def test_push_schema_that_cannot_bring_qa_level_stops_before_any_write(
    prod: Database, qa: Database
) -> None:
    prod.execute("CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE newt (id int)")
    qa.execute("CREATE TABLE a (id int PRIMARY KEY, v point)")
    with pytest.raises(SchemaMismatch) as err:
        run_migrate(prod.url, qa.url, push_schema=True)
    assert "--push-schema cannot bring QA level, nothing was written" in err.value.message
    assert "public.a.v" in err.value.message
    assert qa.scalar("SELECT to_regclass('public.newt')") is None  # the push did not run
