"""``pgferry doctor``: every message form, diagnosed against a real database broken that way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

import pgferry
from pgferry import journal
from pgferry.catalog import Name, read_catalog
from pgferry.clienttools import find_tools
from pgferry.doctor import Diagnosis, Finding, Kind, Severity, diagnose, health, recognise
from pgferry.errors import ExitCode
from tests import doctor_messages as msg
from tests.pgtest import ROOT, SUPERUSER_PASSWORD, Database, Server

# The application: a Prisma schema, as `prisma migrate` writes it.
#
#   enum Role { ADMIN USER AUDITOR }
#   model Client    { id Int @id @default(autoincrement())  email String @unique  name String? }
#   model Order     { id Int @id @default(autoincrement())  clientId Int  total Decimal?
#                     createdAt DateTime @default(now())  couponCode String?  role Role }
#   model OrderItem { id Int @id @default(autoincrement())  orderId Int @map("order_id")
#                     sku String  qty Int  @@map("order_items") }
#   model AuditLog  { id Int @id @default(autoincrement())  orderId Int?  note String? }
#
# Production runs all three migrations; QA "behind" ran only the first (no
# AuditLog, no couponCode, no AUDITOR label).

MIGRATIONS = """
CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
);
"""

INIT = """
CREATE TYPE "Role" AS ENUM ('ADMIN', 'USER');
CREATE TABLE "Client" ("id" SERIAL NOT NULL, "email" TEXT NOT NULL, "name" TEXT,
    CONSTRAINT "Client_pkey" PRIMARY KEY ("id"));
CREATE UNIQUE INDEX "Client_email_key" ON "Client"("email");
CREATE TABLE "Order" ("id" SERIAL NOT NULL, "clientId" INTEGER NOT NULL, "total" DECIMAL(10,2),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "role" "Role" NOT NULL DEFAULT 'USER', CONSTRAINT "Order_pkey" PRIMARY KEY ("id"));
CREATE TABLE "order_items" ("id" SERIAL NOT NULL, "order_id" INTEGER NOT NULL,
    "sku" TEXT NOT NULL, "qty" INTEGER NOT NULL, CONSTRAINT "order_items_pkey" PRIMARY KEY ("id"));
ALTER TABLE "Order" ADD CONSTRAINT "Order_clientId_fkey" FOREIGN KEY ("clientId")
    REFERENCES "Client"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_order_id_fkey" FOREIGN KEY ("order_id")
    REFERENCES "Order"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name)
    VALUES ('1', 'c1', now(), '20240101000000_init');
"""

LATER = """
CREATE TABLE "AuditLog" ("id" SERIAL NOT NULL, "orderId" INTEGER, "note" TEXT,
    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id"));
ALTER TABLE "AuditLog" ADD CONSTRAINT "AuditLog_orderId_fkey" FOREIGN KEY ("orderId")
    REFERENCES "Order"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "Order" ADD COLUMN "couponCode" TEXT;
ALTER TYPE "Role" ADD VALUE 'AUDITOR';
INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name)
    VALUES ('2', 'c2', now(), '20240301000000_audit_log'),
           ('3', 'c3', now(), '20240401000000_coupon_and_auditor');
"""

DATA = """
INSERT INTO "Client" (email, name) SELECT 'c' || g || '@example.com', 'Client ' || g
    FROM generate_series(1, 20) g;
INSERT INTO "Order" ("clientId", total) SELECT 1 + g % 20, g * 1.5 FROM generate_series(1, 50) g;
INSERT INTO "order_items" (order_id, sku, qty) SELECT 1 + g % 50, 'SKU-' || g, 1 + g % 3
    FROM generate_series(1, 100) g;
"""


def _build_current(db: Database) -> None:
    db.psql(stdin=MIGRATIONS + INIT + LATER + DATA)


def _build_behind(db: Database) -> None:
    db.psql(stdin=MIGRATIONS + INIT + DATA)


@pytest.fixture
def prod(prod_server: Server, request: pytest.FixtureRequest) -> Database:
    """Production: every migration applied, data loaded through the application."""
    return prod_server.from_template("doctor_current", _build_current, request.node.name)


@pytest.fixture
def qa(qa_server: Server, request: pytest.FixtureRequest) -> Database:
    """QA with production's schema and data; each test breaks it its own way."""
    return qa_server.from_template("doctor_current", _build_current, request.node.name)


@pytest.fixture
def qa_behind(qa_server: Server, request: pytest.FixtureRequest) -> Database:
    """QA whose schema is one migration behind production's."""
    return qa_server.from_template("doctor_behind", _build_behind, request.node.name)


@contextmanager
def _conn(db: Database | None) -> Iterator[psycopg.Connection[Any] | None]:
    if db is None:
        yield None
        return
    with pgferry.connect(pgferry.parse(db.url), read_only=True, autocommit=True) as conn:
        yield conn


def doctor(db: Database | None, message: str, prod: Database | None = None) -> Diagnosis:
    with _conn(db) as conn, _conn(prod) as src:
        return diagnose(conn, message, source_conn=src)


def problem(d: Diagnosis) -> Finding:
    """The one problem found (and the exit code that goes with it)."""
    assert d.recognised
    assert len(d.problems) == 1, [f.to_dict() for f in d.findings]
    assert d.exit_code == ExitCode.FOUND
    return d.problems[0]


def only_info(d: Diagnosis) -> Finding:
    assert d.recognised
    assert d.problems == [], [f.to_dict() for f in d.findings]
    assert d.exit_code == ExitCode.OK
    return d.findings[-1]


ORDER = Name("public", "Order")
CLIENT = Name("public", "Client")
ITEMS = Name("public", "order_items")


# -- recognising: the text alone ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "code", "names"),
    [
        (msg.P2002_FIELDS, Kind.UNIQUE, "P2002", {"model": "Order", "columns": ("id",)}),
        (msg.P2002_PRISMA7, Kind.UNIQUE, "P2002", {"constraint": "order_items_pkey"}),
        (msg.P2002_CODE_ONLY, Kind.UNIQUE, "P2002", {"columns": ("id",)}),
        (msg.PG_23505, Kind.UNIQUE, "23505", {"key_values": "5", "constraint": "Order_pkey"}),
        (msg.P2003_FIELD, Kind.FOREIGN_KEY, "P2003", {"field": "Order_clientId_fkey (index)"}),
        (msg.P2003_PRISMA7, Kind.FOREIGN_KEY, "P2003", {"constraint": "Order_clientId_fkey"}),
        (msg.PG_23503, Kind.FOREIGN_KEY, "23503", {"table": "Order", "ref_table": "Client"}),
        (msg.PG_23503_DELETE, Kind.STILL_REFERENCED, "23503", {"ref_table": "Client"}),
        (msg.P2021, Kind.MISSING_TABLE, "P2021", {"table": "public.AuditLog"}),
        (msg.PG_42P01, Kind.MISSING_TABLE, "42P01", {"table": "AuditLog"}),
        (msg.P2022, Kind.MISSING_COLUMN, "P2022", {"table": "Order", "columns": ("couponCode",)}),
        (msg.P2022_NOT_AVAILABLE, Kind.MISSING_COLUMN, "P2022", {"model": "Order", "columns": ()}),
        (msg.PG_42703, Kind.MISSING_COLUMN, "42703", {"table": "Order"}),
        (msg.PG_42703_ALIAS, Kind.MISSING_COLUMN, "42703", {"columns": ("couponCode",)}),
        (msg.PG_ENUM, Kind.ENUM, "22P02", {"value": "AUDITOR", "type_name": '"Role"'}),
        (msg.P2007_PRISMA7_ENUM, Kind.ENUM, "P2007", {"value": "AUDITOR"}),
        (msg.PRISMA4_ENUM, Kind.ENUM, "22P02", {"value": "AUDITOR", "model": "order"}),
        (msg.PG_22008, Kind.DATETIME, "22008", {"value": "25/12/2023 10:00"}),
        (msg.PG_22007, Kind.DATETIME, "22007", {"type_name": "timestamp"}),
        (msg.PG_22P02_INTEGER, Kind.INPUT_SYNTAX, "22P02", {"columns": ("qty",)}),
        (msg.P2023, Kind.COLUMN_DATA, "P2023", {"columns": ("createdAt",), "value": "infinity"}),
        (msg.P2023_INT, Kind.COLUMN_DATA, "P2023", {"columns": ("qty",), "type_name": "integer"}),
        (msg.PG_DUMP_MISMATCH, Kind.DUMP_VERSION, None, {"server_version": "18.4"}),
        (msg.TRANSACTION_TIMEOUT, Kind.TRANSACTION_TIMEOUT, None, {}),
        (msg.RESTRICT, Kind.RESTRICT, None, {}),
        (msg.ARCHIVE_VERSION, Kind.ARCHIVE_VERSION, None, {"archive_version": "1.16"}),
    ],
)
def test_recognise_every_form(
    text: str, kind: Kind, code: str | None, names: dict[str, Any]
) -> None:
    s = recognise(text)
    assert s is not None
    assert (s.kind, s.code) == (kind, code)
    for key, value in names.items():
        assert getattr(s, key) == value, (key, s)


def test_code_alone_or_wording_alone_is_enough() -> None:
    future = "PrismaClientKnownRequestError: wording nobody has seen yet\n  code: 'P2021'"
    s = recognise(future)
    assert s is not None and s.kind is Kind.MISSING_TABLE and s.code == "P2021"
    bare = "The table `public.AuditLog` does not exist in the current database."
    s = recognise(bare)
    assert s is not None and s.kind is Kind.MISSING_TABLE
    assert (s.codes, s.code) == ((), "P2021")  # the code its wording stands for
    coloured = "\x1b[31mUnique constraint failed on the fields: (`id`)\x1b[39m"
    s = recognise(coloured)
    assert s is not None and s.columns == ("id",)
    assert recognise(msg.NOT_RECOGNISED) is None


# -- unique violations: sequences ----------------------------------------------------------


def _move_back(db: Database, seq: str) -> None:
    db.execute(f"SELECT setval('{seq}', 1, false)")


def next_value(db: Database, seq: str) -> int:
    last, called = db.execute(f"SELECT last_value, is_called FROM {seq}")[0]
    return int(last + 1 if called else last)


@pytest.mark.parametrize("text", [msg.P2002_FIELDS, msg.PG_23505])
def test_p2002_sequence_moved_back(qa: Database, text: str) -> None:
    _move_back(qa, '"Order_id_seq"')
    f = problem(doctor(qa, text))
    assert (f.title, f.table, f.column) == ("sequence behind its data", ORDER, "id")
    facts = dict(f.facts)
    assert facts["sequence"] == 'public."Order_id_seq"'
    assert (facts["data_max"], facts["next_value"], facts["fixed_next_value"]) == (50, 1, 51)
    assert f.fix is not None and f.fix.startswith("pgferry sequences fix --db ")
    assert SUPERUSER_PASSWORD not in f.fix
    assert next_value(qa, '"Order_id_seq"') == 1  # doctor only reads


P2002_MAPPED = msg.P2002_FIELDS.replace("order.create", "orderItem.create").replace(
    "'Order'", "'OrderItem'"
)


@pytest.mark.parametrize("text", [msg.P2002_PRISMA7, P2002_MAPPED])
def test_p2002_on_a_mapped_table(qa: Database, text: str) -> None:
    _move_back(qa, "order_items_id_seq")  # model OrderItem, @@map("order_items")
    f = problem(doctor(qa, text))
    assert (f.table, f.column) == (ITEMS, "id")
    assert dict(f.facts)["sequence"] == "public.order_items_id_seq"


def test_p2002_without_a_model_checks_every_id(qa: Database) -> None:
    _move_back(qa, '"Client_id_seq"')
    f = problem(doctor(qa, msg.P2002_CODE_ONLY))  # only Client's is behind, of three `id`s
    assert f.table == CLIENT


def test_p2002_sequence_that_cannot_reach_the_data(qa: Database) -> None:
    qa.execute('ALTER TABLE "Order" ALTER COLUMN id TYPE bigint')  # the sequence stays integer
    qa.execute('INSERT INTO "Order" (id, "clientId") VALUES (3000000000, 1)')
    f = problem(doctor(qa, msg.P2002_FIELDS))
    assert (f.title, f.table, f.column) == ("sequence cannot pass its data", ORDER, "id")
    assert f.fix is not None
    assert f.fix.startswith('ALTER SEQUENCE public."Order_id_seq" AS bigint; then pgferry')


def test_p2002_when_the_sequence_is_clear_now(qa: Database) -> None:
    f = only_info(doctor(qa, msg.P2002_FIELDS))
    assert f.title == "sequences clear"
    assert "not reproducible" in f.cause


def test_23505_on_a_natural_key_is_not_the_copy(qa: Database) -> None:
    f = only_info(doctor(qa, msg.PG_23505_EMAIL))
    assert (f.title, f.table, f.constraint) == ("value already taken", CLIENT, "Client_email_key")
    assert "QA holds a row with (email)=(c1@example.com)" in f.cause


# -- foreign keys --------------------------------------------------------------------------


def _replica_load_orphans(db: Database) -> None:
    """What a table-by-table copy under session_replication_role=replica leaves: children
    whose parents were read at another moment (the constraint still says VALID)."""
    db.psql(
        stdin="""
        SET session_replication_role = replica;
        DELETE FROM "Client" WHERE id IN (19, 20);
        """
    )


@pytest.mark.parametrize("text", [msg.P2003_FIELD, msg.P2003_PRISMA7])
def test_p2003_orphans_and_missing_parents(qa: Database, prod: Database, text: str) -> None:
    _replica_load_orphans(qa)
    f = problem(doctor(qa, text, prod))
    assert (f.title, f.table, f.constraint) == ("orphan rows", ORDER, "Order_clientId_fkey")
    assert dict(f.facts)["orphans"] == 4  # orders of clients 19 and 20
    assert 'missing in public."Client": (id)=(19)' in f.details
    assert 'missing in public."Client": (id)=(20)' in f.details
    assert "Production has 2 of the 2 missing parent keys" in f.cause
    assert f.fix is not None and f.fix.startswith("pgferry migrate --from ")


def test_23503_parent_missing_in_qa_but_in_production(qa: Database, prod: Database) -> None:
    qa.execute(
        'DELETE FROM order_items USING "Order" o WHERE o.id = order_id AND o."clientId" = 19'
    )
    qa.execute('DELETE FROM "Order" WHERE "clientId" = 19')
    qa.execute('DELETE FROM "Client" WHERE id = 19')
    f = problem(doctor(qa, msg.PG_23503, prod))
    assert (f.title, f.table, f.constraint) == (
        "parent row missing in QA",
        CLIENT,
        "Order_clientId_fkey",
    )
    assert "(id)=(19)" in f.cause
    # without production, doctor says what it can and does not claim a problem
    f = only_info(doctor(qa, msg.PG_23503))
    assert "Rerun with --from" in f.cause


def test_fk_dropped_and_orphan_inserted(qa: Database, prod: Database) -> None:
    qa.execute('ALTER TABLE "Order" DROP CONSTRAINT "Order_clientId_fkey"')
    qa.execute('INSERT INTO "Order" ("clientId", total) VALUES (999, 1)')
    f = problem(doctor(qa, msg.P2003_FIELD, prod))
    assert (f.title, f.table, f.constraint) == (
        "foreign key missing in QA",
        ORDER,
        "Order_clientId_fkey",
    )
    assert dict(f.facts)["orphans"] == 1
    assert "(clientId)=(999)" in f.details[0]


def test_fk_set_aside_by_an_interrupted_run(qa: Database) -> None:
    with pgferry.connect(pgferry.parse(qa.url), autocommit=True) as conn:
        fk = next(c for c in read_catalog(conn).foreign_keys() if c.name == "Order_clientId_fkey")
        journal.set_aside(conn, "run-1", [fk], [])
    f = problem(doctor(qa, msg.P2003_PRISMA7))
    assert (f.title, f.constraint) == ("foreign key set aside", "Order_clientId_fkey")
    assert f.fix is not None and f.fix.startswith("pgferry sequences fix --db ")


def test_deleting_a_referenced_parent(qa: Database) -> None:
    f = only_info(doctor(qa, msg.PG_23503_DELETE))
    assert (f.table, f.constraint) == (ORDER, "Order_clientId_fkey")


# -- schema drift --------------------------------------------------------------------------


@pytest.mark.parametrize("text", [msg.P2021, msg.PG_42P01])
def test_table_in_production_but_not_in_qa(qa_behind: Database, prod: Database, text: str) -> None:
    f = problem(doctor(qa_behind, text, prod))
    assert (f.title, f.table) == ("table missing in QA", Name("public", "AuditLog"))
    assert "It exists in production" in f.cause
    assert f.fix is not None and "npx prisma migrate deploy" in f.fix
    assert any("20240301000000_audit_log" in d for d in f.details)


def test_table_missing_without_production(qa_behind: Database) -> None:
    f = problem(doctor(qa_behind, msg.P2021))
    assert "rerun with --from to compare with production" in f.details


def test_table_present_now(qa: Database) -> None:
    assert only_info(doctor(qa, msg.P2021)).title == "table exists"
    unquoted = 'ERROR:  relation "auditlog" does not exist'  # SELECT * FROM AuditLog
    f = only_info(doctor(qa, unquoted))
    assert (f.title, f.table) == ("name differs in case", Name("public", "AuditLog"))


@pytest.mark.parametrize("text", [msg.P2022, msg.PG_42703, msg.PG_42703_ALIAS])
def test_column_in_production_but_not_in_qa(qa_behind: Database, prod: Database, text: str) -> None:
    f = problem(doctor(qa_behind, text, prod))
    assert (f.title, f.table, f.column) == ("column missing in QA", ORDER, "couponCode")


def test_column_not_available_compares_the_whole_table(qa_behind: Database, prod: Database) -> None:
    f = problem(doctor(qa_behind, msg.P2022_NOT_AVAILABLE, prod))
    assert (f.table, f.column) == (ORDER, "couponCode")


@pytest.mark.parametrize("text", [msg.PG_ENUM, msg.P2007_PRISMA7_ENUM, msg.PRISMA4_ENUM])
def test_enum_label_missing_in_qa(qa_behind: Database, prod: Database, text: str) -> None:
    f = problem(doctor(qa_behind, text, prod))
    assert (f.title, f.table, f.column) == ("enum label missing in QA", ORDER, "role")
    assert "labels production has and QA lacks: 'AUDITOR'" in f.details
    assert """or add it by hand: ALTER TYPE public."Role" ADD VALUE 'AUDITOR'""" in f.details
    assert dict(f.facts)["missing_label"] == "AUDITOR"


def test_enum_label_present_now(qa: Database) -> None:
    assert only_info(doctor(qa, msg.PG_ENUM)).title == "label exists"


# -- values ----------------------------------------------------------------------------------


def test_day_first_timestamp(qa: Database) -> None:
    f = only_info(doctor(qa, msg.PG_22008))
    assert (f.table, f.column) == (ORDER, "createdAt")
    facts = dict(f.facts)
    assert facts["read_under_ISO, DMY"] == "2023-12-25 10:00:00"
    assert facts["read_under_ISO, MDY"] is None
    assert "DateStyle=ISO" in f.cause  # what pgferry pins


def test_datestyle_differs_from_production(qa: Database, prod: Database) -> None:
    prod.execute(f"ALTER DATABASE \"{prod.name}\" SET DateStyle = 'ISO, DMY'")
    d = doctor(qa, msg.PG_22008, prod)
    f = problem(d)
    assert f.title == "session settings differ"
    assert "DateStyle is 'ISO, DMY' in production but 'ISO, MDY' in QA" in f.cause
    assert f.fix is not None and f.fix.startswith("pgferry migrate ")


def test_invalid_timestamp_text(qa: Database) -> None:
    f = only_info(doctor(qa, msg.PG_22007))
    assert "not a valid timestamp under any DateStyle" in f.cause


def test_integer_column_that_is_text_in_production(qa: Database, prod: Database) -> None:
    prod.execute("ALTER TABLE order_items ALTER COLUMN qty TYPE text")
    f = problem(doctor(qa, msg.PG_22P02_INTEGER, prod))
    assert (f.title, f.table, f.column) == ("column type differs", ITEMS, "qty")
    assert dict(f.facts) == {"production_type": "text", "qa_type": "integer"}


def test_p2023_values_prisma_cannot_read(qa: Database) -> None:
    qa.execute("""UPDATE "Order" SET "createdAt" = 'infinity' WHERE id <= 3""")
    f = problem(doctor(qa, msg.P2023))
    assert (f.title, f.table, f.column) == ("values Prisma cannot read", ORDER, "createdAt")
    assert dict(f.facts)["rows"] == 3
    qa.execute("ALTER TABLE order_items ALTER COLUMN qty TYPE bigint")
    qa.execute("UPDATE order_items SET qty = 3746274089 WHERE id = 7")
    f = problem(doctor(qa, msg.P2023_INT))
    assert (f.title, f.table, f.column) == ("values past Int", ITEMS, "qty")


# -- the dump tools ----------------------------------------------------------------------------


def test_pg_dump_older_than_the_server() -> None:
    f = problem(doctor(None, msg.PG_DUMP_MISMATCH))
    path = dict(f.facts).get("pg_dump")
    assert path is not None, f.cause  # the suite runs a PostgreSQL 15 or newer: its pg_dump
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True)
    assert int(out.stdout.split(")")[1].split(".")[0]) >= 18
    f = problem(doctor(None, msg.PG_DUMP_MISMATCH.replace("18.4", "99.1")))
    assert f.fix is not None and "apt-get install postgresql-client-99" in f.fix


def test_transaction_timeout_depends_on_the_server(qa: Database, prod: Database) -> None:
    old = qa if qa.server.major < 17 else prod if prod.server.major < 17 else None
    new = prod if prod.server.major >= 17 else qa if qa.server.major >= 17 else None
    if old is not None:
        assert problem(doctor(old, msg.TRANSACTION_TIMEOUT)).title == "dump newer than the server"
    if new is not None:
        assert only_info(doctor(new, msg.TRANSACTION_TIMEOUT)).title == "setting known here"


def test_restrict_and_archive_version() -> None:
    f = problem(doctor(None, msg.RESTRICT))
    assert f.title == "psql too old for this dump"
    f = problem(doctor(None, msg.ARCHIVE_VERSION))
    assert f.title == "pg_restore older than the archive"
    readers = [t for t in find_tools("pg_restore") if t.major >= 17]
    if readers:
        assert f.fix is not None and str(readers[0].path) in f.fix


def test_real_messages_from_mismatched_binaries(
    qa_server: Server, prod_server: Server, prod: Database, tmp_path: Path
) -> None:
    """The versions this machine has, made to fail for real, and doctor's answer."""
    old, new = qa_server.cluster.install, prod_server.cluster.install
    if old.major >= new.major:
        pytest.skip("needs two PostgreSQL majors")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    dump = subprocess.run(
        [str(old.tool("pg_dump")), "-s", prod.url], capture_output=True, text=True, env=env
    )
    assert dump.returncode != 0
    f = problem(doctor(None, dump.stderr))
    assert f.title == "pg_dump older than the server"
    archive = tmp_path / "prod.dump"
    subprocess.run(
        [str(new.tool("pg_dump")), "-Fc", "-f", str(archive), prod.url], check=True, env=env
    )
    restore = subprocess.run(
        [str(old.tool("pg_restore")), "-l", str(archive)], capture_output=True, text=True
    )
    if new.major >= 17 > old.major:
        assert restore.returncode != 0
        assert problem(doctor(None, restore.stderr)).title == "pg_restore older than the archive"


# -- health -------------------------------------------------------------------------------------


def check(db: Database, prod: Database | None = None) -> Diagnosis:
    with _conn(db) as conn, _conn(prod) as src:
        assert conn is not None
        return health(conn, source_conn=src)


def test_healthy_database(prod: Database, qa: Database) -> None:
    d = check(qa, prod)
    assert d.problems == [], [f.to_dict() for f in d.findings]
    assert d.exit_code == ExitCode.OK
    assert "sequences" in d.checked and "schema against production" in d.checked


def test_broken_database(qa_behind: Database, prod: Database) -> None:
    qa_behind.psql(
        stdin="""
        SELECT setval('"Order_id_seq"', 1, false);
        SET session_replication_role = replica;
        DELETE FROM "Client" WHERE id = 20;
        RESET session_replication_role;
        ALTER TABLE "Order" DROP CONSTRAINT "Order_clientId_fkey";
        ALTER TABLE "Order" ADD CONSTRAINT "Order_clientId_fkey" FOREIGN KEY ("clientId")
            REFERENCES "Client"(id) NOT VALID;
        ALTER TABLE order_items ADD CONSTRAINT qty_positive CHECK (qty > 1) NOT VALID;
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
        CREATE TRIGGER touch BEFORE UPDATE ON "Client" FOR EACH ROW EXECUTE FUNCTION touch();
        ALTER TABLE "Client" DISABLE TRIGGER touch;
        INSERT INTO "_prisma_migrations" (id, checksum, migration_name)
            VALUES ('9', 'c9', '20240501000000_half_done');
        """
    )
    with pgferry.connect(pgferry.parse(qa_behind.url), autocommit=True) as conn:
        fk = next(c for c in read_catalog(conn).foreign_keys() if c.name.startswith("order_items"))
        journal.set_aside(conn, "run-1", [fk], [])
    # a production foreign key on a column QA lacks: reported as drift, not counted in QA
    prod.execute('ALTER TABLE "Order" ADD COLUMN "referrerId" integer REFERENCES "Client"(id)')
    d = check(qa_behind, prod)
    assert d.exit_code == ExitCode.FOUND
    assert not [f for f in d.findings if f.title.endswith("not checked")], d.findings
    by_title: dict[str, list[Finding]] = {}
    for f in d.findings:
        by_title.setdefault(f.title, []).append(f)
    assert [f.table for f in by_title["sequence behind its data"]] == [ORDER]
    orphans = by_title["orphan rows"][0]
    assert (orphans.constraint, dict(orphans.facts)["orphans"]) == ("Order_clientId_fkey", 2)
    assert by_title["check constraint not validated"][0].constraint == "qty_positive"
    assert by_title["trigger disabled"][0].severity is Severity.WARNING
    left = by_title["left over by an interrupted run"][0]
    assert (left.constraint, left.table) == ("order_items_order_id_fkey", ITEMS)
    drift = {f.cause for f in by_title["schema differs from production"]}
    assert 'table public."AuditLog" does not exist in QA' in drift
    assert any("couponCode is missing in QA" in c for c in drift)
    assert any("lacks label 'AUDITOR'" in c for c in drift)
    assert "20240301000000_audit_log" in by_title["Prisma migrations behind"][0].cause
    failed = by_title["Prisma migration failed"][0]
    assert failed.fix is not None
    assert failed.fix.endswith("npx prisma migrate resolve --rolled-back 20240501000000_half_done")


# -- the command --------------------------------------------------------------------------------


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "pgferry", "doctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        input=stdin,
        check=False,
    )


def test_cli_diagnoses_a_message(qa: Database) -> None:
    _move_back(qa, '"Order_id_seq"')
    proc = run("--db", qa.url, msg.P2002_FIELDS)
    assert proc.returncode == ExitCode.FOUND, proc.stderr
    assert "sequence behind its data" in proc.stdout
    assert 'public."Order_id_seq" hands out 1 next' in proc.stdout
    # pasteable: no *** posing as the password, and a note on where the password comes from
    assert "fix: pgferry sequences fix --db postgresql://postgres@127.0.0.1:" in proc.stdout
    assert "***" not in proc.stdout
    assert "PGPASSWORD or ~/.pgpass" in proc.stderr
    assert SUPERUSER_PASSWORD not in proc.stdout + proc.stderr


def test_cli_json_and_stdin(qa_behind: Database, prod: Database) -> None:
    proc = run("--db", qa_behind.url, "--from", prod.url, "--json", "-", stdin=msg.PG_ENUM)
    assert proc.returncode == ExitCode.FOUND, proc.stderr
    assert SUPERUSER_PASSWORD not in proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["symptom"]["kind"] == "invalid enum value"
    (f,) = data["findings"]
    assert (f["table"], f["column"], f["severity"]) == ('public."Order"', "role", "problem")
    assert f["fix"].startswith("DATABASE_URL=postgresql://postgres@127.0.0.1:")
    assert " npx prisma migrate deploy (or pgferry schema push --from " in f["fix"]
    assert "***" not in f["fix"]


def test_cli_fix_names_the_variables(
    qa: Database,
    prod: Database,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pgferry.cli import main

    _replica_load_orphans(qa)
    monkeypatch.setenv("DATABASE_URL", qa.url)
    monkeypatch.setenv("PROD_DATABASE_URL", prod.url)
    with pytest.raises(SystemExit) as info:  # the shell expanded $PROD_DATABASE_URL
        main(["doctor", "--from", prod.url, "--json", msg.P2003_PRISMA7])
    assert info.value.code == ExitCode.FOUND
    (f,) = json.loads(capsys.readouterr().out)["findings"]
    assert f["fix"] == 'pgferry migrate --from "$PROD_DATABASE_URL" --to "$DATABASE_URL"'


def test_cli_health_and_codes(
    qa: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pgferry.cli import main

    def call(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(["doctor", *args])
        out, err = capsys.readouterr()
        assert isinstance(info.value.code, int)
        return info.value.code, out, err

    code, out, _ = call("--db", qa.url)
    assert code == ExitCode.OK, out
    assert "nothing wrong found now" in out
    code, out, _ = call("--db", qa.url, msg.NOT_RECOGNISED)  # no database needed for this
    assert code == ExitCode.ERROR == 3
    assert "message not recognised" in out and "pgferry doctor" in out
    code, out, _ = call(msg.PG_DUMP_MISMATCH)  # nor for this, when none is named
    assert code == ExitCode.FOUND
    monkeypatch.setenv("DATABASE_URL", qa.url)  # the fix names the variable, not the URL
    _move_back(qa, '"Client_id_seq"')
    code, out, _ = call("--json")
    assert code == ExitCode.FOUND
    fixes = {f["fix"] for f in json.loads(out)["findings"]}
    assert fixes == {'pgferry sequences fix --db "$DATABASE_URL"'}
    code, _, _ = call("--db", qa.url, "  ")
    assert code == ExitCode.USAGE


def test_cli_connection_error() -> None:
    from pgferry.embedded import free_port

    url = f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{free_port()}/x"
    proc = run("--db", url, msg.P2002_FIELDS)
    assert proc.returncode == ExitCode.CONNECTION
    assert proc.stderr.startswith("error: cannot connect")
    assert SUPERUSER_PASSWORD not in proc.stdout + proc.stderr


def test_nothing_is_written(qa: Database, prod: Database) -> None:
    _move_back(qa, '"Order_id_seq"')
    before = qa.execute('SELECT last_value, is_called FROM "Order_id_seq"')
    for text in (msg.P2002_FIELDS, msg.P2003_FIELD, msg.PG_22008, msg.P2023, msg.PG_ENUM):
        doctor(qa, text, prod)
    check(qa, prod)
    assert qa.execute('SELECT last_value, is_called FROM "Order_id_seq"') == before
    assert qa.scalar("SELECT to_regclass('pgferry.journal')") is None
