"""``pgferry verify`` on real servers: prod (newest major) -> QA (oldest).

It passes after a good ``migrate`` (the Prisma-style schema of
``test_migrate``, and public corpora), and fails, naming the table and the
keys, after one row is changed, deleted or added in QA; it names a sequence
set back, a foreign key dropped (with the orphans it lets in), and a new row
that would collide.  The can-a-row-be-created check must leave QA exactly as
it found it: every table's content and every sequence's state, compared
before and after, except a sequence the check itself reports it consumed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from psycopg import sql

import pgferry
from pgferry.catalog import Name
from pgferry.embedded import free_port
from pgferry.errors import ExitCode
from pgferry.verify import InsertCheck, TableCheck, VerifyReport, check_insert, verify
from tests.migrate_support import OUTPUT_SETTINGS, run_cli, run_migrate
from tests.pgtest import SUPERUSER_PASSWORD, Database, Server
from tests.test_migrate import _prod, _stale_qa
from tests.test_migrate_corpora import CASES, _databases

# -- helpers ----------------------------------------------------------------------


def run_verify(prod: Database | str, qa: Database | str, **options: Any) -> VerifyReport:
    src = prod if isinstance(prod, str) else prod.url
    dst = qa if isinstance(qa, str) else qa.url
    return verify(pgferry.parse(src, role="prod"), pgferry.parse(dst, role="qa"), **options)


def by_table(report: VerifyReport) -> dict[str, TableCheck]:
    return {str(t.target): t for t in report.tables}


def inserts(report: VerifyReport) -> dict[str, InsertCheck]:
    return {str(i.table): i for i in report.inserts}


def failing(report: VerifyReport) -> dict[str, list[str]]:
    """Everything that fails, by check: what a reader of the report must be told."""
    out: dict[str, list[str]] = {
        "tables": [str(t.target) for t in report.tables if not t.ok],
        "foreign_keys": [f"{f.table}.{f.name}" for f in report.foreign_keys if not f.ok],
        "inserts": [str(i.table) for i in report.inserts if not i.ok],
        "schema": [p.message for p in report.plan.blocking],
    }
    if report.sequences is not None:
        out["sequences"] = [str(s.name) for s in report.sequences.behind]
        if not report.sequences.healthy and not out["sequences"]:
            out["sequences"] = ["(unhealthy)"]
    return {k: sorted(v) for k, v in out.items() if v}


_ALL_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm', 'S') AND (c.relkind <> 'm' OR c.relispopulated)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY 1
"""

_OBJECTS = """
SELECT 'constraint', conrelid::regclass::text, conname, convalidated::text,
       pg_catalog.pg_get_constraintdef(oid)
FROM pg_catalog.pg_constraint WHERE connamespace <> 'pg_catalog'::regnamespace
UNION ALL
SELECT 'trigger', tgrelid::regclass::text, tgname, tgenabled::text, ''
FROM pg_catalog.pg_trigger WHERE NOT tgisinternal
ORDER BY 1, 2, 3
"""


def database_state(db: Database) -> dict[str, Any]:
    """Every table's rows (count, md5 of the sorted rows), every sequence's
    (last_value, is_called), every constraint and trigger: the whole database
    as far as a rolled-back insert could touch it (pgferry's own schema included).
    """
    state: dict[str, Any] = {}
    with db.connect() as conn:
        for name, value in OUTPUT_SETTINGS.items():
            conn.execute("SELECT pg_catalog.set_config(%s, %s, false)", (name, value))
        for rel, kind in conn.execute(_ALL_TABLES).fetchall():
            ident = sql.SQL(rel)  # already quoted by format('%I.%I')
            if kind == "S":
                q = sql.SQL("SELECT last_value, is_called FROM {}").format(ident)
            else:
                q = sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, '|' "
                    "ORDER BY t::text COLLATE \"C\"), '')) FROM ONLY {} t"
                ).format(ident)
            row = conn.execute(q).fetchone()
            assert row is not None
            state[f"{kind}:{rel}"] = tuple(row)
        state["objects"] = conn.execute(_OBJECTS).fetchall()
    return state


def sequence_moves(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}


def assert_consumed_exactly(
    before: dict[str, Any], after: dict[str, Any], report: VerifyReport, increments: dict[str, int]
) -> None:
    """Nothing changed but the sequences the report says it consumed, each by one value."""
    consumed = {s for i in report.inserts for s in i.consumed}
    moved = sequence_moves(before, after)
    assert {k.removeprefix("S:") for k in moved} == consumed, moved
    for key, ((last, called), (last2, called2)) in moved.items():
        step = increments.get(key.removeprefix("S:"), 1)
        assert called2 is True
        assert last2 == (last + step if called else last), (key, moved[key])


# -- passing after a good migrate -------------------------------------------------


def test_passes_after_migrate_of_the_prisma_schema(prod: Database, qa: Database) -> None:
    _prod(prod, qa)
    _stale_qa(qa)
    stale = run_verify(prod, qa, checksums=True, inserts=False)
    assert not stale.ok
    assert set(failing(stale)["tables"]) >= {'public."Client"', 'public."Order"', "public.z"}

    assert run_migrate(prod.url, qa.url).ok
    before = database_state(qa)
    report = run_verify(prod, qa, checksums=True)
    after = database_state(qa)

    assert report.ok, failing(report)
    tables = by_table(report)
    assert len(tables) == 12  # the migration history is QA's own: not compared
    assert "public._prisma_migrations" not in tables
    assert all(
        t.source_hash is not None and t.source_hash == t.target_hash for t in tables.values()
    )
    assert tables['public."Order"'].target_rows == 55
    assert tables["public.z"].target_rows == 3  # zero columns: rows counted, all equal
    new_row = {name: i.status for name, i in inserts(report).items()}
    # a serial, an identity ALWAYS, a serial behind an audit trigger, an inheritance child
    for name in ('public."Client"', 'public."Invoice"', 'public."Order"', "public.animal"):
        assert new_row[name] == "ok", (name, inserts(report)[name])
    assert new_row['public."Tag"'] == "not tested"  # its label is unique and copied
    assert new_row["public.event_log"] == "not tested"  # no default to take
    # the audit triggers consumed audit_id_seq in the rolled-back inserts: put back
    assert before == after, sequence_moves(before, after)

    # a partition is named by its parent's key, a join table by its unique index
    qa.execute(
        "UPDATE measurement SET v = 2.5 WHERE id = 1;"
        'DELETE FROM "_ClientToTag" WHERE "A" = 2 AND "B" = 1;'
        'UPDATE "Invoice" SET "number" = \'changed\' WHERE "id" = 3'
    )
    report = run_verify(prod, qa, checksums=True, inserts=False)
    assert failing(report) == {
        "tables": ['public."Invoice"', 'public."_ClientToTag"', "public.measurement_2024"]
    }
    found = {str(t.target): t.differences for t in report.tables if t.differences}
    assert found == {
        "public.measurement_2024": ("differs: (id, at)=(1,2024-05-01)",),
        'public."_ClientToTag"': ("missing in QA: (A, B)=(2,1)",),
        'public."Invoice"': ("differs: (id)=(3)",),
    }
    # every key checked, the partitioned parent's too (its partitions are what was copied)
    assert sorted(f"{f.table}.{f.name}" for f in report.foreign_keys if f.ok) == [
        'public."Client".Client_favoriteOrderId_fkey',
        'public."Invoice".Invoice_orderId_fkey',
        'public."Order".Order_clientId_fkey',
        'public."Order".Order_parentId_fkey',
        'public."_ClientToTag"._ClientToTag_A_fkey',
        'public."_ClientToTag"._ClientToTag_B_fkey',
        "public.measurement.measurement_clientId_fkey",
    ]


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.id in ("pagila", "chinook-identity", "northwind")],
    ids=lambda c: str(c.id),
)
def test_passes_after_migrate_of_a_corpus(
    prod_server: Server, qa_server: Server, case: Any
) -> None:
    prod, qa = _databases(prod_server, qa_server, case)
    stale = run_verify(prod, qa, checksums=True, inserts=False)
    assert failing(stale).get("tables"), "QA already equals production: proves nothing"

    assert run_migrate(prod.url, qa.url).ok
    before = database_state(qa)
    report = run_verify(prod, qa, checksums=True)
    after = database_state(qa)

    assert report.ok, failing(report)
    assert report.tables and all(t.source_hash == t.target_hash for t in report.tables)
    assert sum(t.source_rows for t in report.tables) > 1000
    statuses = {i.status for i in report.inserts}
    # Northwind has no defaults at all: nothing to test there
    assert ("ok" in statuses) is (case.id != "northwind"), inserts(report)
    assert_consumed_exactly(before, after, report, {})


# -- failing, and naming what differs ---------------------------------------------

SHOP = """
CREATE TABLE customer (
    id SERIAL PRIMARY KEY,
    name VARCHAR(50) NOT NULL,
    email TEXT UNIQUE
);
CREATE TABLE item (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    customer_id INTEGER CONSTRAINT item_customer_fkey REFERENCES customer (id),
    sku TEXT NOT NULL,
    qty INTEGER NOT NULL DEFAULT 1,
    price NUMERIC(10, 2),
    added TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE stock (store INTEGER, sku TEXT, n INTEGER NOT NULL, PRIMARY KEY (store, sku));
CREATE TABLE log_line (at TIMESTAMPTZ NOT NULL, msg TEXT);

INSERT INTO customer (id, name, email)
    SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 200) g;
INSERT INTO item (id, customer_id, sku, qty, price, added)
    SELECT g, 1 + g % 200, 'SKU-' || (g % 97), 1 + g % 5, g / 7.0,
           timestamptz '2024-01-01 00:00+00' + g * interval '1 minute'
    FROM generate_series(1, 5000) g;
INSERT INTO stock
    SELECT s, 'SKU-' || k, s * k FROM generate_series(1, 5) s, generate_series(1, 40) k;
INSERT INTO log_line
    SELECT timestamptz '2024-01-01 00:00+00' + (g % 50) * interval '1 hour', 'line ' || (g % 50)
    FROM generate_series(1, 300) g;
SELECT setval('customer_id_seq', 200), setval('item_id_seq', 5000);
"""


def _build_shop(db: Database) -> None:
    db.execute(SHOP)


@pytest.fixture
def shop(
    prod_server: Server, qa_server: Server, request: pytest.FixtureRequest
) -> tuple[Database, Database]:
    """Production and QA holding the same rows (built by the same script on each)."""
    prod = prod_server.from_template("verify-shop", _build_shop, hint=request.node.name)
    qa = qa_server.from_template("verify-shop", _build_shop, hint=request.node.name)
    report = run_verify(prod, qa, checksums=True, inserts=False)
    assert report.ok, failing(report)  # so whatever fails next is the change's doing
    return prod, qa


ROW_CHANGES = {
    "changed": (
        "UPDATE item SET qty = qty + 1 WHERE id = 4242",
        "public.item",
        ["differs: (id)=(4242)"],
        (5000, 5000),
    ),
    "deleted": (
        "DELETE FROM item WHERE id = 17",
        "public.item",
        ["missing in QA: (id)=(17)"],
        (5000, 4999),
    ),
    "added": (
        "INSERT INTO item (id, customer_id, sku, price, added) "
        "VALUES (6001, 3, 'NEW', 1, '2024-06-01'); SELECT setval('item_id_seq', 6001)",
        "public.item",
        ["only in QA: (id)=(6001)"],
        (5000, 5001),
    ),
    "changed-composite-key": (
        "UPDATE stock SET n = -1 WHERE store = 3 AND sku = 'SKU-7'",
        "public.stock",
        ["differs: (store, sku)=(3,SKU-7)"],
        (200, 200),
    ),
    "several": (
        "UPDATE customer SET name = 'renamed' WHERE id IN (5, 150); DELETE FROM customer "
        "WHERE id = 99 AND NOT EXISTS (SELECT FROM item WHERE customer_id = 99)",
        "public.customer",
        ["differs: (id)=(5)", "differs: (id)=(150)"],
        (200, 200),
    ),
}


@pytest.mark.parametrize("change", list(ROW_CHANGES))
def test_checksums_name_the_table_and_the_keys(
    shop: tuple[Database, Database], change: str
) -> None:
    prod, qa = shop
    script, table, expected, rows = ROW_CHANGES[change]
    qa.execute(script)

    report = run_verify(prod, qa, checksums=True, inserts=False)

    assert not report.ok
    assert failing(report) == {"tables": [table]}
    t = by_table(report)[table]
    assert (t.source_rows, t.target_rows) == rows
    assert t.source_hash != t.target_hash
    assert sorted(t.differences) == sorted(expected)
    # every other table still compares equal
    others = [x for x in report.tables if str(x.target) != table]
    assert others and all(x.source_hash == x.target_hash for x in others)


def test_counts_only_catches_added_and_deleted_rows(shop: tuple[Database, Database]) -> None:
    prod, qa = shop
    qa.execute("UPDATE customer SET name = 'changed' WHERE id = 7")
    changed = run_verify(prod, qa, inserts=False)
    assert changed.ok  # counts cannot see a changed row: that is what --checksums is for
    assert all(t.source_hash is None for t in changed.tables)

    qa.execute("DELETE FROM item WHERE id = 17")
    qa.execute("INSERT INTO log_line VALUES ('2024-01-01', 'extra')")
    report = run_verify(prod, qa, inserts=False)
    assert failing(report) == {"tables": ["public.item", "public.log_line"]}
    tables = by_table(report)
    assert (tables["public.item"].source_rows, tables["public.item"].target_rows) == (5000, 4999)
    assert (tables["public.log_line"].source_rows, tables["public.log_line"].target_rows) == (
        300,
        301,
    )
    assert all(t.differences == () for t in report.tables)


def test_a_table_without_a_key_compares_by_hash(shop: tuple[Database, Database]) -> None:
    prod, qa = shop
    # same row count, one row's text changed, and a duplicate row swapped for another
    qa.execute(
        "UPDATE log_line SET msg = 'line 7 edited' WHERE ctid = (SELECT min(ctid) "
        "FROM log_line WHERE msg = 'line 7')"
    )
    report = run_verify(prod, qa, checksums=True, inserts=False)
    assert failing(report) == {"tables": ["public.log_line"]}
    t = by_table(report)["public.log_line"]
    assert t.source_rows == t.target_rows == 300
    assert t.differences == ()  # no key to name a row by

    # duplicates count: one copy of a duplicated row more, one of another less
    qa.execute("UPDATE log_line SET msg = 'line 7' WHERE msg = 'line 7 edited'")
    assert run_verify(prod, qa, checksums=True, inserts=False).ok
    qa.execute(
        "DELETE FROM log_line WHERE ctid = (SELECT min(ctid) FROM log_line WHERE msg = 'line 8');"
        "INSERT INTO log_line SELECT * FROM log_line WHERE msg = 'line 9' LIMIT 1"
    )
    report = run_verify(prod, qa, checksums=True, inserts=False)
    assert failing(report) == {"tables": ["public.log_line"]}


def test_a_sequence_moved_back_is_named(shop: tuple[Database, Database]) -> None:
    prod, qa = shop
    qa.execute("SELECT setval('item_id_seq', 4000)")
    report = run_verify(prod, qa, checksums=True, inserts=False)
    assert failing(report) == {"sequences": ["public.item_id_seq"]}
    (behind,) = report.sequences.behind if report.sequences else ()
    assert behind.next_value == 4001 and behind.data_extreme == 5000


def test_a_dropped_foreign_key_and_its_orphan(shop: tuple[Database, Database]) -> None:
    prod, qa = shop
    qa.execute(
        "ALTER TABLE item DROP CONSTRAINT item_customer_fkey;"
        "INSERT INTO item (id, customer_id, sku, added) VALUES (5001, 999, 'ORPHAN', '2024-01-01');"
        "SELECT setval('item_id_seq', 5001)"
    )
    report = run_verify(prod, qa, checksums=True, inserts=False)
    assert failing(report) == {
        "foreign_keys": ["public.item.item_customer_fkey"],
        "tables": ["public.item"],
    }
    (fk,) = [f for f in report.foreign_keys if not f.ok]
    assert fk.status == "missing in QA"
    assert fk.orphans == 1
    assert "(customer_id)=(999)" in fk.example and "public.customer" in fk.example
    assert by_table(report)["public.item"].differences == ("only in QA: (id)=(5001)",)

    # the same key under another name is not missing
    qa.execute("DELETE FROM item WHERE id = 5001")
    qa.execute(
        "ALTER TABLE item ADD CONSTRAINT item_customer_id_renamed FOREIGN KEY (customer_id) "
        "REFERENCES customer (id)"
    )
    assert run_verify(prod, qa, checksums=True, inserts=False).ok
    qa.execute(
        "ALTER TABLE item DROP CONSTRAINT item_customer_id_renamed;"
        "INSERT INTO item (id, customer_id, sku, added) VALUES (5001, 999, 'ORPHAN', '2024-01-01')"
    )
    # put back NOT VALID: present, but the orphan is still counted
    qa.execute(
        "ALTER TABLE item ADD CONSTRAINT item_customer_fkey FOREIGN KEY (customer_id) "
        "REFERENCES customer (id) NOT VALID"
    )
    report = run_verify(prod, qa, inserts=False)
    (fk,) = [f for f in report.foreign_keys if not f.ok]
    assert (fk.status, fk.orphans) == ("not valid", 1)
    # once the orphan is gone and the key validated, all is well again
    qa.execute(
        "DELETE FROM item WHERE id = 5001; ALTER TABLE item VALIDATE CONSTRAINT item_customer_fkey"
    )
    assert run_verify(prod, qa, checksums=True, inserts=False).ok


CAST_PROD = """
CREATE TABLE casted (
    id INTEGER PRIMARY KEY, label VARCHAR(50), doc JSON, at TIMESTAMP, n SMALLINT, r REAL,
    d DATE, c CHAR(4), b BYTEA
);
INSERT INTO casted VALUES
    (1, 'plain', '{"b": 1,   "a": [1, 2]}', '2024-02-29 12:34:56.789', 7, 3.1, '2024-01-01', 'ab',
     '\\x00ff'),
    (2, 'ünïcode ✓', '[]', 'infinity', -32768, 'NaN', 'infinity', NULL, '\\x'),
    (3, NULL, NULL, NULL, NULL, 1e-30, NULL, 'abcd', NULL);
"""
CAST_QA = """
CREATE TABLE casted (
    id BIGINT PRIMARY KEY, label TEXT, doc JSONB, at TIMESTAMPTZ, n INTEGER, r DOUBLE PRECISION,
    d TIMESTAMP, c TEXT, b BYTEA
);
"""


def test_safe_casts_with_equal_data_compare_equal(prod: Database, qa: Database) -> None:
    prod.execute(CAST_PROD)
    qa.execute(CAST_QA)
    migrated = run_migrate(prod.url, qa.url)
    assert migrated.ok and not migrated.plan.blocking
    # and QA's sessions default to another bytea output: verify pins its own
    qa.server.admin.execute(
        sql.SQL("ALTER DATABASE {} SET bytea_output = 'escape'").format(sql.Identifier(qa.name))
    )
    assert qa.scalar("SELECT b::text FROM casted WHERE id = 1") == "\\000\\377"
    report = run_verify(prod, qa, checksums=True)
    assert report.ok, (failing(report), report.to_dict()["tables"])
    # and a real difference in a cast column is still found
    qa.execute('UPDATE casted SET doc = \'{"a": [1, 2], "b": 2}\' WHERE id = 1')
    report = run_verify(prod, qa, checksums=True, inserts=False)
    assert by_table(report)["public.casted"].differences == ("differs: (id)=(1)",)


# -- can a new row be created ----------------------------------------------------

NEW_ROWS = """
CREATE TABLE serial_behind (id SERIAL PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE identity_behind (id INT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT);
CREATE TABLE healthy (id BIGSERIAL PRIMARY KEY, name TEXT, at TIMESTAMPTZ DEFAULT now());
CREATE TABLE tag (id SERIAL PRIMARY KEY, label TEXT NOT NULL UNIQUE);
CREATE TABLE guarded (id SERIAL PRIMARY KEY, name TEXT);
CREATE TABLE audited (id SERIAL PRIMARY KEY, name TEXT);
CREATE TABLE audit (id BIGSERIAL PRIMARY KEY, tbl TEXT NOT NULL);
CREATE TABLE empty_one (id SERIAL PRIMARY KEY, name TEXT NOT NULL);
CREATE SEQUENCE cached_seq CACHE 10;
CREATE TABLE cached (id INT PRIMARY KEY DEFAULT nextval('cached_seq'), name TEXT);
CREATE FUNCTION reject_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'QA rejects inserts into %', TG_TABLE_NAME; END $$;
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.audit (tbl) VALUES (TG_TABLE_NAME); RETURN NULL; END $$;
CREATE TRIGGER audit AFTER INSERT ON audited FOR EACH ROW EXECUTE FUNCTION audit_row();

INSERT INTO serial_behind (id, name) SELECT g, 'n' || g FROM generate_series(1, 10) g;
INSERT INTO identity_behind (id, name) SELECT g, 'n' || g FROM generate_series(1, 10) g;
INSERT INTO healthy (name, at) SELECT 'n' || g, '2024-01-01' FROM generate_series(1, 10) g;
INSERT INTO tag (label) VALUES ('vip'), ('new');
INSERT INTO guarded (id, name) VALUES (1, 'one');
INSERT INTO audited (id, name) VALUES (1, 'one');
INSERT INTO audit (tbl) VALUES ('x'), ('y');
INSERT INTO cached (name) VALUES ('one'), ('two');
SELECT setval('guarded_id_seq', 1), setval('audited_id_seq', 1);
CREATE TRIGGER reject BEFORE INSERT ON guarded FOR EACH ROW EXECUTE FUNCTION reject_row();
-- identity_behind: the sequence used once, then set back under the data
SELECT setval(pg_get_serial_sequence('identity_behind', 'id'), 5);
"""


def _new_rows(prod: Database, qa: Database) -> None:
    prod.execute(NEW_ROWS)
    qa.execute(NEW_ROWS)


def test_insert_check_finds_collisions_and_leaves_qa_as_it_was(
    prod: Database, qa: Database
) -> None:
    _new_rows(prod, qa)
    before = database_state(qa)
    report = run_verify(prod, qa)
    after = database_state(qa)

    got = {name: (i.status, i.detail) for name, i in inserts(report).items()}
    assert got["public.serial_behind"][0] == "collision"
    assert "(id)=(1)" in got["public.serial_behind"][1]
    assert got["public.identity_behind"][0] == "collision"
    assert "(id)=(6)" in got["public.identity_behind"][1]
    assert got["public.healthy"] == ("ok", "")
    assert got["public.audited"] == ("ok", "")
    assert got["public.audit"] == ("ok", "")
    assert got["public.cached"] == ("ok", "")  # a sequence with CACHE 10: put back too
    assert got["public.tag"][0] == "not tested"
    assert "tag_label_key" in got["public.tag"][1]
    assert got["public.guarded"][0] == "error"
    assert "QA rejects inserts into guarded" in got["public.guarded"][1]
    assert got["public.empty_one"][0] == "not tested"
    # only the collisions fail the run (and the sequences behind their data)
    assert failing(report) == {
        "inserts": ["public.identity_behind", "public.serial_behind"],
        "sequences": ["public.identity_behind_id_seq", "public.serial_behind_id_seq"],
    }
    # byte for byte: every table, every sequence (is_called false included)
    assert after == before, sequence_moves(before, after)
    assert before["S:public.serial_behind_id_seq"] == (1, False)
    assert all(i.consumed == () for i in report.inserts)


def test_insert_check_says_which_sequence_it_could_not_put_back(
    prod: Database, qa: Database, qa_server: Server
) -> None:
    """A role that may take values but not set the sequence back (or not even read
    it): the values it took are reported, and nothing else moved."""
    _new_rows(prod, qa)
    with qa_server.role("verify_app") as role:
        qa.execute(
            sql.SQL(
                "GRANT USAGE ON SCHEMA public TO {r};"
                "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {r};"
                "GRANT SELECT, USAGE ON ALL SEQUENCES IN SCHEMA public TO {r};"
                "GRANT UPDATE ON SEQUENCE serial_behind_id_seq TO {r}"
            ).format(r=sql.Identifier(role))
        )
        before = database_state(qa)
        url = qa.url_as(role, "secret-pw")
        report = run_verify(prod, url, tables=["healthy", "serial_behind", "tag"])
        after = database_state(qa)
        got = {name: (i.status, i.consumed) for name, i in inserts(report).items()}
        assert got == {
            "public.healthy": ("ok", ("public.healthy_id_seq",)),
            "public.tag": ("not tested", ("public.tag_id_seq",)),
            # may set this one: put back
            "public.serial_behind": ("collision", ()),
        }
        assert_consumed_exactly(before, after, report, {})
        assert after["S:public.healthy_id_seq"] == (11, True)
        assert after["S:public.tag_id_seq"] == (3, True)

        # may not even read it: what it took is seen through currval
        qa.execute(
            sql.SQL("REVOKE SELECT ON SEQUENCE healthy_id_seq FROM {}").format(sql.Identifier(role))
        )
        with pgferry.connect(pgferry.parse(url), autocommit=True) as conn:
            catalog = pgferry.read_catalog(conn)
            check = check_insert(conn, catalog, Name("public", "healthy"))
    assert (check.status, check.consumed) == ("ok", ("public.healthy_id_seq",))
    assert database_state(qa)["S:public.healthy_id_seq"] == (12, True)


def test_a_sequence_the_role_may_not_read_does_not_stop_the_other_checks(
    prod: Database, qa: Database, qa_server: Server
) -> None:
    _new_rows(prod, qa)
    with qa_server.role("verify_blind") as role:
        qa.execute(
            sql.SQL(
                "GRANT USAGE ON SCHEMA public TO {r};"
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {r};"
                "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {r};"
                "REVOKE SELECT ON SEQUENCE healthy_id_seq FROM {r}"
            ).format(r=sql.Identifier(role))
        )
        report = run_verify(prod, qa.url_as(role, "secret-pw"), inserts=False)
    assert not report.ok
    assert report.sequences_not_checked is not None
    assert "healthy_id_seq" in report.sequences_not_checked
    assert report.tables  # the row counts still ran


# -- the command ------------------------------------------------------------------


@pytest.mark.slow
def test_cli_exit_codes_json_and_no_password(shop: tuple[Database, Database]) -> None:
    prod, qa = shop
    assert SUPERUSER_PASSWORD in prod.url  # the URLs carry it: it must not be printed
    ran = run_cli("verify", "--from", prod.url, "--to", qa.url, "--checksums", "--json")
    assert ran.code == 0, ran.stderr + ran.stdout
    data = json.loads(ran.stdout)
    assert data["ok"] is True and data["checksums"] is True
    assert {t["table"] for t in data["tables"]} == {
        "public.customer",
        "public.item",
        "public.stock",
        "public.log_line",
    }
    assert all(t["content_equal"] for t in data["tables"])
    assert SUPERUSER_PASSWORD not in ran.stdout + ran.stderr

    qa.execute("DELETE FROM item WHERE id = 17; SELECT setval('customer_id_seq', 3)")
    ran = run_cli("verify", "--from", prod.url, "--to", qa.url, "--checksums", "--json")
    assert ran.code == 1, ran.stderr + ran.stdout
    data = json.loads(ran.stdout)
    assert data["ok"] is False
    item = next(t for t in data["tables"] if t["table"] == "public.item")
    assert item["differences"] == ["missing in QA: (id)=(17)"]
    assert SUPERUSER_PASSWORD not in ran.stdout + ran.stderr

    ran = run_cli("verify", "--from", prod.url, "--to", qa.url, "--checksums")
    assert ran.code == 1, ran.stderr + ran.stdout
    assert "public.item: missing in QA: (id)=(17)" in ran.stdout
    assert "sequence public.customer_id_seq is behind" in ran.stdout
    assert "QA does NOT match" in ran.stdout
    assert SUPERUSER_PASSWORD not in ran.stdout + ran.stderr

    # counts only, no insert check: the deleted row still fails it
    ran = run_cli("verify", "--from", prod.url, "--to", qa.url, "--no-insert-check")
    assert ran.code == 1, ran.stderr + ran.stdout

    # an error (QA unreachable) is neither 0 nor 1, and still masks the password
    closed = f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{free_port()}/qa"
    ran = run_cli("verify", "--from", prod.url, "--to", closed, "--checksums")
    assert ran.code == ExitCode.CONNECTION, ran.stderr + ran.stdout
    assert ran.stderr.startswith("error: cannot connect to QA database")
    assert SUPERUSER_PASSWORD not in ran.stdout + ran.stderr


def test_verify_refuses_when_qa_is_production(prod: Database) -> None:
    from pgferry.errors import RefusedError

    prod.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    with pytest.raises(RefusedError, match="is the production database itself"):
        verify(pgferry.parse(prod.url), pgferry.parse(prod.url))
