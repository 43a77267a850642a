"""``pgferry migrate`` round trips on real servers: prod (newest major) -> QA (oldest).

A hand-made Prisma-style schema holds every awkward case at once (quoted
names, enums and arrays of them, jsonb, timestamp(3), infinities, NaN, negative
intervals, bytea with NUL bytes, a domain, a composite, a range, a stored
generated column, identity ALWAYS, an FK cycle, a self-reference, no primary
key, zero columns, UNLOGGED, partitions, inheritance, a materialized view and a
view).  QA starts with other, stale rows and its own triggers; afterwards every
table must hold production's rows exactly, sequences must be healthy, every
foreign key present and validated and every trigger as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.migrate_support import (
    assert_same_content,
    foreign_keys,
    give_database_to,
    journal_rows,
    migrate_cli,
    relations,
    run_as,
    run_migrate,
    sequences_healthy,
    triggers,
)
from tests.pgtest import Database, Server

# -- the Prisma-style application ------------------------------------------------

SCHEMA = """
CREATE TYPE "Status" AS ENUM ('NEW', 'PAID', 'SHIPPED');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE TYPE price AS (amount numeric(12, 2), currency char(3));

CREATE TABLE "Client" (
    "id" SERIAL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "favoriteOrderId" INTEGER
);

CREATE TABLE "Order" (
    "id" SERIAL PRIMARY KEY,
    "clientId" INTEGER NOT NULL,
    "parentId" INTEGER,
    "status" "Status" NOT NULL DEFAULT 'NEW',
    "history" "Status"[] NOT NULL DEFAULT '{}',
    "meta" JSONB,
    "placedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "paidAt" TIMESTAMPTZ,
    "wait" INTERVAL,
    "ratio" DOUBLE PRECISION,
    "amount" NUMERIC,
    "fee" MONEY,
    "blob" BYTEA,
    "qty" positive_int,
    "price" price,
    "during" TSTZRANGE,
    "double" NUMERIC GENERATED ALWAYS AS ("amount" * 2) STORED,
    CONSTRAINT "Order_clientId_fkey" FOREIGN KEY ("clientId") REFERENCES "Client"("id")
        ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Order_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Order"("id")
);
ALTER TABLE "Client" ADD CONSTRAINT "Client_favoriteOrderId_fkey"
    FOREIGN KEY ("favoriteOrderId") REFERENCES "Order"("id");

CREATE TABLE "Invoice" (
    "id" INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "orderId" INTEGER NOT NULL REFERENCES "Order"("id"),
    "number" TEXT NOT NULL
);

CREATE TABLE event_log (at TIMESTAMPTZ NOT NULL, kind TEXT, payload JSONB);
CREATE TABLE z ();
CREATE UNLOGGED TABLE cache_entry (key TEXT PRIMARY KEY, value BYTEA);

CREATE TABLE measurement (
    id BIGINT NOT NULL,
    at DATE NOT NULL,
    "clientId" INTEGER REFERENCES "Client"("id"),
    v DOUBLE PRECISION,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE measurement_2024 PARTITION OF measurement
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE measurement_2025 PARTITION OF measurement
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

CREATE TABLE animal (id SERIAL PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE dog (breed TEXT) INHERITS (animal);

CREATE MATERIALIZED VIEW client_orders AS
    SELECT c."id", count(o."id") AS n, sum(o."amount") FILTER (WHERE o."amount" < 1e6) AS small
    FROM "Client" c LEFT JOIN "Order" o ON o."clientId" = c."id" GROUP BY c."id";
CREATE VIEW paid_orders AS SELECT * FROM "Order" WHERE "status" = 'PAID';

CREATE TABLE "Tag" ("id" SERIAL PRIMARY KEY, "label" TEXT NOT NULL UNIQUE);
CREATE TABLE "_ClientToTag" (
    "A" INTEGER NOT NULL REFERENCES "Client"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "B" INTEGER NOT NULL REFERENCES "Tag"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "_ClientToTag_AB_unique" ON "_ClientToTag"("A", "B");
CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
);
"""

#: Production's and QA's migration history differ; it describes each one's schema.
PROD_HISTORY = """
INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name")
    VALUES ('m1', 'c1', '20240101_init');
"""
QA_HISTORY = """
INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name")
    VALUES ('m1', 'c1', '20240101_init'), ('m2', 'c2', '20240301_next_release');
"""

PROD_ROWS = """
INSERT INTO "Client" ("id", "name", "createdAt") VALUES
    (1, 'Ada', '2024-01-02 03:04:05.678'),
    (2, 'Bob ''the'' "quoted"', 'infinity'),
    (3, E'Ćelina ✓ tab\\there', '-infinity'),
    (7, E'new\\nline \\\\ backslash', '2024-02-29 23:59:59.999');

INSERT INTO "Order" ("id", "clientId", "parentId", "status", "history", "meta", "placedAt",
                     "paidAt", "wait", "ratio", "amount", "fee", "blob", "qty", "price",
                     "during") VALUES
    (1, 1, NULL, 'PAID', '{NEW,PAID}', '{"a": [1, 2.50, null], "b": "\\u00e9"}',
     '2024-03-01 10:00:00.123', '2024-03-01 10:00:00.123456+02', '-1 day +02:03:04.5',
     0.30000000000000004, 'NaN', 12.34, '\\x00ff0000'::bytea, 3, ROW(12.50, 'EUR'),
     '[2024-01-01 00:00+00,2024-02-01 00:00+00)'),
    (2, 1, 1, 'SHIPPED', '{NEW,PAID,SHIPPED}', '[]', 'infinity', '-infinity',
     '-3 mons -00:00:01', 1.2345678901234567e-300, {inf}, -0.01, '\\x'::bytea, 1,
     NULL, 'empty'),
    (3, 2, 2, 'NEW', '{}', NULL, '2025-12-31 23:59:59.999', '2025-06-01 12:00:00+00',
     '1 year 2 mons 3 days -04:05:06', 'Infinity', -{inf}, NULL, '\\x000000'::bytea,
     NULL, ROW(NULL, 'USD'), '(,2025-01-01 00:00+00]'),
    (5, 3, NULL, 'PAID', '{PAID,PAID}', '{"deep": {"x": [true, false]}}', '1999-01-08 04:05:06',
     '1999-01-08 04:05:06.789+05:30', '-00:00:00.000001', -0.0, 123456789012345678901.5,
     1000000, decode('00010203', 'hex'), 2, ROW(0.01, 'JPY'), NULL);
INSERT INTO "Order" ("id", "clientId", "status", "amount", "ratio", "placedAt")
    SELECT g, 1 + g % 3, (ARRAY['NEW', 'PAID', 'SHIPPED'])[1 + g % 3]::"Status", g * 1.5,
           pi() * g, '2024-01-01'::timestamp + g * interval '1 hour 1.001 second'
    FROM generate_series(10, 60) g;
UPDATE "Client" SET "favoriteOrderId" = 2 WHERE "id" = 1;
UPDATE "Client" SET "favoriteOrderId" = 1 WHERE "id" = 2;

INSERT INTO "Invoice" ("orderId", "number")
    SELECT 1 + g % 3, 'INV-' || g FROM generate_series(1, 5) g;
DELETE FROM "Invoice" WHERE "id" = 2;

INSERT INTO event_log VALUES
    ('2024-01-01 00:00+00', 'login', '{"ok": true}'),
    ('2024-01-01 00:00+00', 'login', '{"ok": true}'),
    ('infinity', NULL, NULL);
INSERT INTO z DEFAULT VALUES;
INSERT INTO z DEFAULT VALUES;
INSERT INTO z DEFAULT VALUES;
INSERT INTO cache_entry VALUES ('k1', '\\x00'), ('k2', NULL);
INSERT INTO measurement VALUES
    (1, '2024-05-01', 1, 1.5), (2, '2024-12-31', NULL, 'NaN'), (3, '2025-01-01', 2, -1e-10);
INSERT INTO animal (name) VALUES ('generic'), ('other');
INSERT INTO dog (name, breed) VALUES ('rex', 'lab'), ('fido', NULL), ('odie', 'beagle');
INSERT INTO "Tag" ("label") VALUES ('vip'), ('new');
INSERT INTO "_ClientToTag" VALUES (1, 1), (2, 1), (1, 2);
REFRESH MATERIALIZED VIEW client_orders;
"""

#: QA's own objects: an audit table (QA only) and triggers in every state.
QA_EXTRAS = """
CREATE TABLE audit (id BIGSERIAL PRIMARY KEY, tbl TEXT NOT NULL, at TIMESTAMPTZ DEFAULT now());
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.audit (tbl) VALUES (TG_TABLE_NAME); RETURN NULL; END $$;
CREATE FUNCTION reject_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'QA rejects inserts into %', TG_TABLE_NAME; END $$;
CREATE TRIGGER audit_order AFTER INSERT ON "Order" FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit_client AFTER INSERT ON "Client" FOR EACH ROW EXECUTE FUNCTION audit_row();
ALTER TABLE "Client" ENABLE ALWAYS TRIGGER audit_client;
CREATE TRIGGER reject_dog BEFORE INSERT ON dog FOR EACH ROW EXECUTE FUNCTION reject_row();
ALTER TABLE dog ENABLE REPLICA TRIGGER reject_dog;
CREATE TRIGGER audit_animal AFTER INSERT ON animal FOR EACH ROW EXECUTE FUNCTION audit_row();
ALTER TABLE animal DISABLE TRIGGER audit_animal;
CREATE TRIGGER audit_measurement AFTER INSERT ON measurement
    FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit_z AFTER INSERT ON z FOR EACH STATEMENT EXECUTE FUNCTION audit_row();
"""

#: Different, stale rows in QA, some with the same keys as production's.
QA_STALE = """
INSERT INTO "Client" ("id", "name") VALUES (1, 'stale-1'), (2, 'stale-2'), (99, 'stale-99');
INSERT INTO "Order" ("id", "clientId", "amount", "meta") VALUES
    (1, 99, 1, '{"stale": true}'), (2, 1, 2, NULL), (500, 2, 3, '[]');
UPDATE "Client" SET "favoriteOrderId" = 500 WHERE "id" = 99;
INSERT INTO "Invoice" ("orderId", "number") VALUES (500, 'STALE-1');
INSERT INTO event_log VALUES (now(), 'stale', NULL);
INSERT INTO z DEFAULT VALUES;
INSERT INTO z DEFAULT VALUES;
INSERT INTO z DEFAULT VALUES;
INSERT INTO z DEFAULT VALUES;
INSERT INTO z DEFAULT VALUES;
INSERT INTO cache_entry VALUES ('stale', NULL);
INSERT INTO measurement VALUES (1, '2024-05-01', 99, 0), (77, '2025-07-07', NULL, 7);
INSERT INTO animal (id, name) VALUES (1, 'stale-animal');
INSERT INTO dog (id, name, breed) VALUES (40, 'stale-dog', 'x');
INSERT INTO "Tag" ("id", "label") VALUES (1, 'stale');
INSERT INTO "_ClientToTag" VALUES (99, 1);
REFRESH MATERIALIZED VIEW client_orders;
"""


def _stale_qa(qa: Database, *, owner: str | None = None) -> None:
    """QA: the schema (created by *owner* when given), QA's triggers, stale rows.

    The stale rows fire QA's audit triggers (reject_dog fires only for replica
    sessions): the audit table starts with what they wrote and must not grow
    during the load.
    """
    script = SCHEMA + QA_EXTRAS
    if owner is None:
        qa.execute(script)
    else:
        give_database_to(qa, owner)
        run_as(qa, owner, script)
    qa.execute(QA_STALE + QA_HISTORY)


def prod_rows(oldest_major: int) -> str:
    """Production's rows; numeric Infinity only where both servers have it (14+)."""
    inf = "'Infinity'::numeric" if oldest_major >= 14 else "'NaN'::numeric"
    return PROD_ROWS.replace("{inf}", inf)


def _prod(prod: Database, qa: Database) -> None:
    prod.execute(SCHEMA)
    prod.execute(prod_rows(min(prod.server.major, qa.server.major)) + PROD_HISTORY)


#: Every production table but the migration history, which is never copied.
def _data_tables(prod: Database) -> list[tuple[str, str]]:
    return [n for n in relations(prod) if n != ("public", "_prisma_migrations")]


def _state(qa: Database) -> tuple[list[tuple[str, str, bool, str]], list[tuple[str, str, str]]]:
    return foreign_keys(qa), triggers(qa)


def _check_round_trip(
    prod: Database, qa: Database, before: tuple[list, list], audit_before: int, mode: str
) -> None:
    fks_before, triggers_before = before
    assert_same_content(prod, qa, _data_tables(prod))
    # QA's migration history describes QA's schema: left as it was
    assert qa.execute('SELECT "id" FROM "_prisma_migrations" ORDER BY 1') == [("m1",), ("m2",)]
    fks_after = foreign_keys(qa)
    assert fks_after == fks_before, "foreign keys differ from what QA had"
    assert len(fks_after) == 9  # measurement's FK is on the parent and both partitions
    assert all(validated for _, _, validated, _ in fks_after)
    assert triggers(qa) == triggers_before
    assert journal_rows(qa) is None
    # no trigger fired during the load: the audit table did not grow
    assert qa.scalar("SELECT count(*) FROM audit") == audit_before, mode
    # an inheritance parent's own rows are not doubled with its child's
    assert qa.scalar("SELECT count(*) FROM ONLY animal") == 2
    assert qa.scalar("SELECT count(*) FROM animal") == 5
    assert sequences_healthy(qa) == []
    # the application's next inserts take their defaults and work
    new_order = qa.scalar("""INSERT INTO "Order" ("clientId") VALUES (7) RETURNING "id" """)
    assert new_order > 60
    assert (
        qa.scalar("""INSERT INTO "Invoice" ("orderId", "number") VALUES (1, 'n')
                        RETURNING "id" """)
        == 6
    )
    assert qa.scalar("""INSERT INTO "Client" ("name") VALUES ('new') RETURNING "id" """) == 8
    assert qa.scalar("INSERT INTO animal (name) VALUES ('cat') RETURNING id") == 6
    qa.execute("INSERT INTO z DEFAULT VALUES")
    # QA's triggers fire again: audit_order, audit_client (always), audit_z
    assert qa.scalar("SELECT count(*) FROM audit") == audit_before + 3
    # the view is still a view, the materialized view was refreshed in QA
    assert qa.scalar("SELECT count(*) FROM paid_orders") == prod.scalar(
        "SELECT count(*) FROM paid_orders"
    )


def test_round_trip_superuser_replica_mode(prod: Database, qa: Database) -> None:
    _prod(prod, qa)
    _stale_qa(qa)
    before = _state(qa)
    audit_before = qa.scalar("SELECT count(*) FROM audit")
    assert audit_before > 0  # the stale inserts did fire QA's triggers

    report = run_migrate(prod.url, qa.url)

    assert report.mode == "replica"
    assert report.ok, report.to_dict()
    assert all(c.ok for c in report.counts)
    assert [str(n) for n in report.refreshed] == ["public.client_orders"]
    skipped = {str(n): why for n, why in report.plan.skipped}
    assert "view" in skipped["public.paid_orders"]
    assert "migration history" in skipped["public._prisma_migrations"]
    copied = sorted(str(r.table.target) for r in report.results)
    # partitions copied leaf by leaf (QA has the same ones), never twice
    assert "public.measurement" not in copied
    assert {"public.measurement_2024", "public.measurement_2025", "public.z"} <= set(copied)
    assert len(copied) == len(set(copied))
    formats = {str(r.table.target): r.table.binary for r in report.results}
    assert formats['public."Client"'] is True  # built-in types only: binary COPY
    assert formats['public."Order"'] is False  # a domain and a composite: text COPY
    _check_round_trip(prod, qa, before, audit_before, "replica")


def test_round_trip_app_role_constraints_mode(
    prod: Database, qa: Database, qa_server: Server
) -> None:
    with qa_server.role("prisma_app") as role:
        _prod(prod, qa)
        _stale_qa(qa, owner=role)
        before = _state(qa)
        audit_before = qa.scalar("SELECT count(*) FROM audit")

        report = run_migrate(prod.url, qa.url_as(role, "secret-pw"))

        assert report.mode == "constraints"
        assert report.ok, report.to_dict()
        assert report.not_validated == []
        _check_round_trip(prod, qa, before, audit_before, "constraints")
        assert journal_rows(qa) is None  # the app role dropped the schema it made


def test_the_load_is_verified_by_pgferry_itself(prod: Database, qa: Database) -> None:
    """The report's own counts agree with ours, table by table."""
    _prod(prod, qa)
    _stale_qa(qa)
    report = run_migrate(prod.url, qa.url, jobs=1)
    ours = assert_same_content(prod, qa, _data_tables(prod))
    for c in report.counts:
        key = (c.table.schema, c.table.name)
        assert c.source_rows == c.target_rows == ours[key][0], str(c.table)
    assert {str(r.table.target): r.rows for r in report.results}['public."Order"'] == 55


def test_excluded_inheritance_child_keeps_its_rows(prod: Database, qa: Database) -> None:
    """The parent is emptied with ONLY: a child left out of the copy keeps QA's rows."""
    _prod(prod, qa)
    _stale_qa(qa)
    report = run_migrate(prod.url, qa.url, exclude=["dog"])
    assert report.ok
    assert "public.dog" not in [str(n) for n in report.plan.truncate]
    assert qa.execute("SELECT id, name FROM ONLY dog") == [(40, "stale-dog")]
    assert_same_content(prod, qa, [("public", "animal"), ("public", "Order")])


# -- foreign keys production's data do not satisfy ------------------------------------

FK_SCHEMA = """
CREATE TABLE parent (id INT PRIMARY KEY, name TEXT);
CREATE TABLE child (id INT PRIMARY KEY, parent_id INT);
"""
FK_PROD_ROWS = """
INSERT INTO parent VALUES (1, 'one'), (2, 'two');
INSERT INTO child VALUES (1, 1), (2, 42);
"""
QA_FK = (
    "ALTER TABLE child ADD CONSTRAINT child_parent_fkey "
    "FOREIGN KEY (parent_id) REFERENCES parent (id);"
)


def _fk_pair(prod: Database, qa: Database, owner: str | None) -> str:
    prod.execute(FK_SCHEMA + FK_PROD_ROWS)  # production has no such key: row 2 breaks it
    if owner is None:
        qa.execute(FK_SCHEMA + QA_FK)
        return qa.url
    give_database_to(qa, owner)
    run_as(qa, owner, FK_SCHEMA + QA_FK)
    return qa.url_as(owner, "secret-pw")


@pytest.mark.parametrize("owner", [None, "fk_app"], ids=["replica", "constraints"])
def test_qa_foreign_key_broken_by_the_data_is_never_left_marked_valid(
    prod: Database, qa: Database, qa_server: Server, owner: str | None, tmp_path: Path
) -> None:
    with qa_server.role(owner or "unused_role"):
        qa_url = _fk_pair(prod, qa, owner)
        ran = migrate_cli(prod, qa_url, "--yes", "--report-dir", str(tmp_path))
    assert ran.code == 1, ran.stderr + ran.stdout
    assert "child_parent_fkey" in ran.stderr and "NOT VALID" in ran.stderr
    assert foreign_keys(qa) == [
        (
            "public.child",
            "child_parent_fkey",
            False,
            "FOREIGN KEY (parent_id) REFERENCES parent(id) NOT VALID",
        )
    ]
    assert_same_content(prod, qa)
    report = json.loads(next(tmp_path.glob("migrate-*.json")).read_text())
    assert report["ok"] is False
    assert [c["constraint"] for c in report["constraints_not_validated"]] == [
        "public.child.child_parent_fkey"
    ]
    # once production's data satisfy it, the next run validates it again
    prod.execute("DELETE FROM child WHERE id = 2")
    ran = migrate_cli(prod, qa_url, "--yes", "--no-report")
    assert ran.code == 0, ran.stderr + ran.stdout
    assert [fk[2] for fk in foreign_keys(qa)] == [True]
    assert journal_rows(qa) is None


def test_excluded_referenced_table_leaves_the_key_not_valid(prod: Database, qa: Database) -> None:
    """A copied child whose parent table is left out: warned, then reported, never valid."""
    prod.execute(FK_SCHEMA + FK_PROD_ROWS.replace("(2, 42)", "(2, 2)"))
    prod.execute(QA_FK)
    qa.execute(FK_SCHEMA + QA_FK + "INSERT INTO parent VALUES (1, 'stale');")
    report = run_migrate(prod.url, qa.url, exclude=["parent"])
    assert any("public.parent" in p.message for p in report.plan.warnings)
    assert [name for name, _ in report.not_validated] == ["public.child.child_parent_fkey"]
    assert not report.ok
    assert qa.execute("SELECT * FROM parent") == [(1, "stale")]
    assert [fk[2] for fk in foreign_keys(qa)] == [False]
