"""Every case of EDGE-CASES.md's Sequences section, on real servers."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import pgferry
from pgferry import sequences as seqmod
from pgferry.catalog import Name
from pgferry.errors import PrivilegeError
from pgferry.sequences import SequenceReport, Status
from tests.pgtest import Database


def _conn(db: Database) -> psycopg.Connection[Any]:
    return pgferry.connect(pgferry.parse(db.url), autocommit=True)


def check(db: Database, **kw: Any) -> SequenceReport:
    with _conn(db) as conn:
        return pgferry.check_sequences(conn, **kw)


def fix(db: Database, source: Database | None = None, **kw: Any) -> SequenceReport:
    with _conn(db) as conn:
        if source is None:
            return pgferry.fix_sequences(conn, **kw)
        with pgferry.connect(pgferry.parse(source.url), read_only=True, autocommit=True) as src:
            return pgferry.fix_sequences(conn, source=src, **kw)


def next_value(db: Database, seq: str) -> int:
    """What nextval() would return, read without consuming a value."""
    last, called, inc = db.execute(
        f"SELECT last_value, is_called, (SELECT seqincrement FROM pg_sequence "
        f"WHERE seqrelid = '{seq}'::regclass) FROM {seq}"
    )[0]
    return int(last + inc if called else last)


def state_of(report: SequenceReport, name: str) -> seqmod.SequenceState:
    schema, _, rel = name.rpartition(".")
    return next(s for s in report.states if s.name == Name(schema or "public", rel.strip('"')))


def test_serial_behind_is_found_and_fixed(qa: Database) -> None:
    qa.execute("CREATE TABLE t (id serial PRIMARY KEY, v text)")
    qa.execute("INSERT INTO t (id, v) SELECT g, 'x' FROM generate_series(1, 50) g")
    report = check(qa)
    st = state_of(report, "t_id_seq")
    assert st.status is Status.BEHIND
    assert (st.data_extreme, st.next_value) == (50, 1)
    assert [str(f.column) for f in st.feeds] == ["public.t.id"]
    assert not report.healthy

    fixed = fix(qa)
    assert [s.name for s in fixed.fixed] == [Name("public", "t_id_seq")]
    assert next_value(qa, "t_id_seq") == 51
    assert check(qa).healthy
    qa.execute("INSERT INTO t (v) VALUES ('new')")  # the insert that used to fail


def test_names_come_from_the_catalog_not_from_guessing(qa: Database) -> None:
    long = "a" * 60
    qa.execute(f"CREATE TABLE {long} (id serial PRIMARY KEY)")  # sequence name cut at 63
    qa.execute("CREATE TABLE renamed_from (id serial PRIMARY KEY)")
    qa.execute("ALTER TABLE renamed_from RENAME TO renamed_to")  # keeps renamed_from_id_seq
    qa.execute('CREATE TABLE "Order" ("id" serial PRIMARY KEY, "clientId" int)')
    qa.execute("CREATE SEQUENCE clash_id_seq")  # taken: the serial below gets clash_id_seq1
    qa.execute("CREATE TABLE clash (id serial PRIMARY KEY)")
    for table in (long, "renamed_to", '"Order"', "clash"):
        qa.execute(f"INSERT INTO {table} (id) SELECT generate_series(1, 7)")
    report = check(qa)
    behind = {str(s.name): [str(f.column) for f in s.feeds] for s in report.behind}
    assert behind == {
        f"public.{'a' * 56}_id_seq": [f"public.{long}.id"],
        "public.renamed_from_id_seq": ["public.renamed_to.id"],
        'public."Order_id_seq"': ['public."Order".id'],
        "public.clash_id_seq1": ["public.clash.id"],
    }
    fix(qa)
    assert check(qa).healthy


def test_unowned_sequence_reached_only_through_default(qa: Database) -> None:
    # Pagila's shape: pg_get_serial_sequence() returns NULL for these.
    qa.execute("CREATE SEQUENCE film_seq")
    qa.execute("CREATE TABLE film (film_id int DEFAULT nextval('film_seq') PRIMARY KEY)")
    qa.execute("INSERT INTO film SELECT generate_series(1, 1000)")
    assert qa.scalar("SELECT pg_get_serial_sequence('film', 'film_id')") is None
    assert state_of(check(qa), "film_seq").status is Status.BEHIND
    fix(qa)
    assert next_value(qa, "film_seq") == 1001


def test_sequence_in_another_schema_feeding_public(qa: Database) -> None:
    qa.execute("CREATE SCHEMA ids")
    qa.execute("CREATE SEQUENCE ids.shared_seq")
    qa.execute("CREATE TABLE public.doc (id bigint DEFAULT nextval('ids.shared_seq') PRIMARY KEY)")
    qa.execute("INSERT INTO doc SELECT generate_series(1, 9)")
    report = check(qa, schemas=["public"])  # selected through the table it feeds
    assert [str(s.name) for s in report.behind] == ["ids.shared_seq"]


def test_shared_sequence_takes_the_extreme_over_every_column(qa: Database) -> None:
    qa.execute("CREATE SEQUENCE shared")
    qa.execute("CREATE TABLE a (id int DEFAULT nextval('shared') PRIMARY KEY)")
    qa.execute("CREATE TABLE b (id int DEFAULT nextval('shared') PRIMARY KEY)")
    qa.execute("INSERT INTO a SELECT generate_series(1, 500)")
    qa.execute("INSERT INTO b SELECT generate_series(501, 520)")
    st = state_of(check(qa), "shared")
    assert (st.data_extreme, str(st.extreme_at)) == (520, "public.b.id")
    fix(qa)
    assert next_value(qa, "shared") == 521


def test_partitions_and_inheritance_children(qa: Database) -> None:
    qa.execute(
        "CREATE TABLE pay (id serial, at date NOT NULL, PRIMARY KEY (id, at))"
        " PARTITION BY RANGE (at)"
    )
    qa.execute(
        "CREATE TABLE pay_2022 PARTITION OF pay FOR VALUES FROM ('2022-01-01') TO ('2023-01-01')"
    )
    qa.execute(
        "CREATE TABLE pay_2023 PARTITION OF pay FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')"
    )
    qa.execute("INSERT INTO pay (id, at) VALUES (10, '2022-05-01'), (99, '2023-05-01')")
    qa.execute("CREATE TABLE parent (id serial PRIMARY KEY)")
    qa.execute("CREATE TABLE child (extra int) INHERITS (parent)")
    qa.execute("INSERT INTO parent VALUES (3)")
    qa.execute("INSERT INTO child VALUES (77, 1)")  # child's rows count too
    report = check(qa)
    pay = state_of(report, "pay_id_seq")
    assert pay.data_extreme == 99
    assert [str(f.column) for f in pay.feeds] == ["public.pay.id"]  # parent read once
    parent = state_of(report, "parent_id_seq")
    assert parent.data_extreme == 77
    fix(qa)
    assert (next_value(qa, "pay_id_seq"), next_value(qa, "parent_id_seq")) == (100, 78)
    qa.execute("INSERT INTO pay (at) VALUES ('2023-06-01')")
    qa.execute("INSERT INTO child (extra) VALUES (2)")


def test_descending_sequence_uses_min(qa: Database) -> None:
    qa.execute("CREATE SEQUENCE down INCREMENT -1 MAXVALUE -1 START -1")
    qa.execute("CREATE TABLE neg (id int DEFAULT nextval('down') PRIMARY KEY)")
    qa.execute("INSERT INTO neg SELECT -g FROM generate_series(1, 40) g")
    st = state_of(check(qa), "down")
    assert (st.status, st.data_extreme, st.next_value) == (Status.BEHIND, -40, -1)
    fix(qa)
    assert next_value(qa, "down") == -41
    qa.execute("INSERT INTO neg DEFAULT VALUES")


def test_empty_table_keeps_start_and_never_moves_back(qa: Database) -> None:
    qa.execute("CREATE SEQUENCE s100 MINVALUE 100 START 100")  # COALESCE(max, 0) would fail
    qa.execute("CREATE TABLE e (id int DEFAULT nextval('s100') PRIMARY KEY)")
    qa.execute("CREATE TABLE ahead (id serial PRIMARY KEY)")
    qa.execute("SELECT setval('ahead_id_seq', 500)")
    report = fix(qa)
    assert state_of(report, "s100").status is Status.OK
    assert qa.execute("SELECT last_value, is_called FROM s100")[0] == (100, False)
    assert next_value(qa, "ahead_id_seq") == 501  # ahead of an empty table: left alone
    assert not report.fixed


def test_sequence_ahead_of_data_is_never_moved_backwards(qa: Database) -> None:
    qa.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    qa.execute("INSERT INTO t SELECT generate_series(1, 10)")
    qa.execute("SELECT setval('t_id_seq', 1000)")  # production used ids up to 1000
    assert fix(qa).fixed == []
    assert next_value(qa, "t_id_seq") == 1001


def test_not_called_sequence_state_is_read_exactly(qa: Database) -> None:
    qa.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    qa.execute("INSERT INTO t SELECT generate_series(1, 99)")
    qa.execute("SELECT setval('t_id_seq', 100, false)")  # next nextval() is 100
    st = state_of(check(qa), "t_id_seq")
    assert (st.status, st.next_value) == (Status.OK, 100)


def test_integer_sequence_that_cannot_reach_the_data(qa: Database) -> None:
    qa.execute("CREATE TABLE big (id serial PRIMARY KEY)")
    qa.execute("ALTER TABLE big ALTER COLUMN id TYPE bigint")  # sequence stays integer
    qa.execute("INSERT INTO big VALUES (3000000000)")
    qa.execute("CREATE TABLE fine (id serial PRIMARY KEY)")
    qa.execute("INSERT INTO fine VALUES (5)")
    report = fix(qa)
    st = state_of(report, "big_id_seq")
    assert st.status is Status.OUT_OF_RANGE
    assert "ALTER SEQUENCE public.big_id_seq AS bigint" in st.note
    assert "3000000000" in st.note
    assert state_of(report, "fine_id_seq").status is Status.FIXED  # the rest still fixed
    assert not report.healthy
    qa.execute("ALTER SEQUENCE big_id_seq AS bigint")
    assert fix(qa).healthy
    assert next_value(qa, "big_id_seq") == 3000000001


def test_identity_columns(qa: Database) -> None:
    qa.execute("CREATE TABLE ia (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int)")
    qa.execute("CREATE TABLE ib (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v int)")
    qa.execute("INSERT INTO ia OVERRIDING SYSTEM VALUE SELECT g, g FROM generate_series(1, 30) g")
    qa.execute("INSERT INTO ib SELECT g, g FROM generate_series(1, 40) g")
    report = check(qa)
    kinds = {str(s.name): sorted(k.value for f in s.feeds for k in f.kinds) for s in report.behind}
    assert kinds == {"public.ia_id_seq": ["identity"], "public.ib_id_seq": ["identity"]}
    fix(qa)
    qa.execute("INSERT INTO ia (v) VALUES (0)")
    qa.execute("INSERT INTO ib (v) VALUES (0)")
    assert qa.scalar("SELECT max(id) FROM ia") == 31


def test_expression_defaults_and_extension_sequences_are_left_alone(qa: Database) -> None:
    qa.execute("CREATE SEQUENCE ord_seq")
    qa.execute("CREATE TABLE o (code text DEFAULT 'ORD-' || nextval('ord_seq') PRIMARY KEY)")
    qa.execute("INSERT INTO o VALUES ('ORD-900')")
    qa.execute("CREATE SEQUENCE ext_seq")
    qa.execute("CREATE TABLE x (id int DEFAULT nextval('ext_seq') PRIMARY KEY)")
    qa.execute("INSERT INTO x VALUES (5)")
    qa.execute("ALTER EXTENSION plpgsql ADD SEQUENCE ext_seq")
    try:
        report = fix(qa)
        expr, ext = state_of(report, "ord_seq"), state_of(report, "ext_seq")
        assert expr.status is Status.SKIPPED and "expression default" in expr.note
        assert ext.status is Status.SKIPPED and "extension plpgsql" in ext.note
        assert next_value(qa, "ord_seq") == 1 and next_value(qa, "ext_seq") == 1
    finally:
        qa.execute("ALTER EXTENSION plpgsql DROP SEQUENCE ext_seq")


def test_from_production_never_behind_its_position(qa: Database, prod: Database) -> None:
    for db in (prod, qa):
        db.execute("CREATE TABLE t (id serial PRIMARY KEY)")
        db.execute("CREATE TABLE u (id serial PRIMARY KEY)")
        db.execute("INSERT INTO t SELECT generate_series(1, 10)")
        db.execute("INSERT INTO u SELECT generate_series(1, 10)")
    prod.execute("SELECT setval('t_id_seq', 5000)")  # rows 11..5000 deleted in production
    prod.execute("SELECT setval('u_id_seq', 3)")  # production's own drift: behind its data
    report = fix(qa, source=prod)
    assert state_of(report, "t_id_seq").source_next == 5001
    assert next_value(qa, "t_id_seq") == 5001  # not reusing ids production handed out
    assert next_value(qa, "u_id_seq") == 11  # the data wins over production's drift
    assert prod.scalar("SELECT last_value FROM t_id_seq") == 5000  # production untouched


def test_from_production_only_behind_production(qa: Database, prod: Database) -> None:
    for db in (prod, qa):
        db.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    prod.execute("SELECT setval('t_id_seq', 70)")
    dry = fix(qa, source=prod, dry_run=True)
    st = state_of(dry, "t_id_seq")
    assert (st.status, st.target_next) == (Status.BEHIND_SOURCE, 71)
    assert next_value(qa, "t_id_seq") == 1  # dry run changed nothing
    fix(qa, source=prod)
    assert next_value(qa, "t_id_seq") == 71


def test_missing_update_privilege_names_it_and_changes_nothing(qa: Database) -> None:
    qa.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    qa.execute("INSERT INTO t SELECT generate_series(1, 3)")
    with qa.server.role("app_usage_only") as role:
        qa.execute(f"GRANT SELECT ON t TO {role}")
        qa.execute(f"GRANT SELECT, USAGE ON SEQUENCE t_id_seq TO {role}")
        ep = pgferry.parse(qa.url_as(role, "secret-pw"))
        with pgferry.connect(ep, autocommit=True) as conn:
            assert not pgferry.check_sequences(conn).healthy  # reading works
            with pytest.raises(PrivilegeError) as err:
                pgferry.fix_sequences(conn)
    assert "UPDATE on sequence public.t_id_seq" in err.value.message
    assert "GRANT UPDATE ON SEQUENCE public.t_id_seq TO app_usage_only" in (err.value.hint or "")
    assert next_value(qa, "t_id_seq") == 1


def test_missing_select_privilege_is_named(qa: Database) -> None:
    qa.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    with qa.server.role("app_nothing") as role:
        ep = pgferry.parse(qa.url_as(role, "secret-pw"))
        with pgferry.connect(ep, autocommit=True) as conn, pytest.raises(PrivilegeError) as err:
            pgferry.check_sequences(conn)
    assert "SELECT on sequence public.t_id_seq" in err.value.message


def test_batches_give_the_same_result(qa: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(12):
        qa.execute(f"CREATE TABLE t{i} (id serial PRIMARY KEY)")
        qa.execute(f"INSERT INTO t{i} SELECT generate_series(1, {i + 1})")
    monkeypatch.setattr(seqmod, "BATCH_SIZE", 5)
    monkeypatch.setattr(seqmod, "READ_BATCH", 1)  # 12 batches: read by two sessions
    opened: list[int] = []

    def more() -> psycopg.Connection[Any]:
        opened.append(1)
        return _conn(qa)

    report = fix(qa, connect=more, jobs=2)
    assert opened == [1]
    assert len(report.fixed) == 12
    assert [next_value(qa, f"t{i}_id_seq") for i in range(12)] == list(range(2, 14))


def test_cached_sequences_get_a_pool_restart_hint(qa: Database) -> None:
    qa.execute("CREATE SEQUENCE c CACHE 20")
    qa.execute("CREATE TABLE t (id int DEFAULT nextval('c') PRIMARY KEY)")
    qa.execute("INSERT INTO t VALUES (8)")
    report = fix(qa)
    assert any("connection pool" in h for h in report.hints)


def test_standalone_sequence_follows_production_only(qa: Database, prod: Database) -> None:
    for db in (prod, qa):
        db.execute("CREATE SEQUENCE invoice_no")
    prod.execute("SELECT setval('invoice_no', 1234)")
    assert state_of(check(qa), "invoice_no").status is Status.OK
    st = state_of(fix(qa, source=prod), "invoice_no")
    assert st.status is Status.FIXED and "feeds no column" in st.note
    assert next_value(qa, "invoice_no") == 1235


def test_domain_over_an_integer_is_compared(qa: Database) -> None:
    # Pagila's own domain; found by the corpus tests
    qa.execute('CREATE DOMAIN public."bıgınt" AS bigint')
    qa.execute("CREATE SEQUENCE thing_id_seq")
    qa.execute(
        "CREATE TABLE thing (id public.\"bıgınt\" DEFAULT nextval('thing_id_seq') PRIMARY KEY)"
    )
    qa.execute("INSERT INTO thing VALUES (1), (2), (3)")
    assert state_of(check(qa), "thing_id_seq").status is Status.BEHIND
    fix(qa)
    qa.execute("INSERT INTO thing DEFAULT VALUES")


def test_sequence_whose_columns_cannot_be_compared_is_skipped_not_ok(qa: Database) -> None:
    qa.execute("CREATE SEQUENCE odd_seq")
    qa.execute("CREATE TABLE odd (id text DEFAULT nextval('odd_seq') PRIMARY KEY)")
    st = state_of(check(qa), "odd_seq")
    assert st.status is Status.SKIPPED and "not compared" in st.note
