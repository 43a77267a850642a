"""Catalogs and server messages read from real servers, frozen as JSON for tests/unit/.

``scripts/freeze_catalogs.py`` starts a prod and a QA cluster (as the suite
does), runs :func:`freeze` and writes the result under ``tests/unit/frozen/``;
``tests/test_frozen.py`` (slow, needs the servers) checks that the committed
files are still what a fresh read produces.  Nothing in a frozen file is
written by hand: each scenario is SQL loaded into real databases, and the
files hold what :func:`pgferry.catalog.read_catalog` and psql made of it.

What varies between two reads of the same SQL is normalised away: object
identifiers (renumbered in their order, which the catalog queries sort by), the
database's name (the scenario's), and the server's minor version.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgferry.catalog import Catalog, read_catalog
from pgferry.catalog.frozen import catalog_to_dict
from tests.pgtest import CORPORA, ROOT, SHARED, Database, Server

FROZEN = ROOT / "tests" / "unit" / "frozen"
APP_SCHEMA = SHARED / "datasets" / "app_schema.sql"
#: the demo's own application (``"Order"``, ``order_items``): the names doctor's tests use
DEMO_SCHEMA = ROOT / "src" / "pgferry" / "demo" / "app_schema.sql"


def _file(path: Path) -> Callable[[Database], None]:
    def load(db: Database) -> None:
        db.psql("-f", str(path))

    return load


def _sql(text: str) -> Callable[[Database], None]:
    def load(db: Database) -> None:
        db.psql(stdin=text)

    return load


def _app_older_enum(db: Database) -> None:
    schema = APP_SCHEMA.read_text(encoding="utf-8")
    assert "'SHIPPED', " in schema
    db.psql(stdin=schema.replace("'SHIPPED', ", "", 1))


#: the drift of tests/test_schema_drift.py: a column dropped, a table renamed
#: (and, in _app_older_enum, an enum label missing)
APP_DRIFT = """
ALTER TABLE products DROP COLUMN title;
ALTER TABLE order_items RENAME TO "OrderItem";
"""

#: One table, the same column names, the types production and QA may disagree on.
CASTS_PROD = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE widths (
    id integer PRIMARY KEY,
    same_int integer,
    small_to_int smallint,
    int_to_big integer,
    big_to_int bigint,
    int_to_numeric integer,
    int_to_small_numeric integer,
    varchar_to_text varchar(50),
    text_to_varchar text,
    varchar_wider varchar(20),
    varchar_narrower varchar(20),
    char_to_text char(5),
    ts_to_tstz timestamp,
    ts3_to_ts6 timestamp(3),
    ts6_to_ts3 timestamp(6),
    date_to_ts date,
    numeric_wider numeric(10, 2),
    numeric_fewer_digits numeric(12, 2),
    numeric_less_scale numeric(10, 4),
    json_to_jsonb json,
    jsonb_to_json jsonb,
    real_to_double real,
    double_to_real double precision,
    text_to_int text,
    int_to_text integer,
    int_array integer[],
    mood_to_text mood,
    numeric_rounding numeric(10, 2)
);
"""
CASTS_QA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE widths (
    id integer PRIMARY KEY,
    same_int integer,
    small_to_int integer,
    int_to_big bigint,
    big_to_int integer,
    int_to_numeric numeric,
    int_to_small_numeric numeric(5, 0),
    varchar_to_text text,
    text_to_varchar varchar(20),
    varchar_wider varchar(100),
    varchar_narrower varchar(10),
    char_to_text text,
    ts_to_tstz timestamptz,
    ts3_to_ts6 timestamp(6),
    ts6_to_ts3 timestamp(3),
    date_to_ts timestamp,
    numeric_wider numeric(12, 2),
    numeric_fewer_digits numeric(8, 2),
    numeric_less_scale numeric(10, 2),
    json_to_jsonb jsonb,
    jsonb_to_json json,
    real_to_double double precision,
    double_to_real real,
    text_to_int integer,
    int_to_text text,
    int_array bigint[],
    mood_to_text text,
    numeric_rounding numeric(10, -2)
);
"""

#: QA against production for a partitioned table and a table QA lacks or has as a view.
SHAPES_PROD = """
CREATE TABLE parent (id integer PRIMARY KEY);
CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id));
CREATE TABLE grandchild (id integer PRIMARY KEY, child_id integer REFERENCES child (id));
CREATE TABLE events (id bigint, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE only_in_prod (id integer);
CREATE TABLE view_in_qa (id integer);
CREATE TABLE audit_log (id integer, note text);
CREATE TABLE extra_cols (id integer PRIMARY KEY, a text);
CREATE MATERIALIZED VIEW child_counts AS SELECT parent_id, count(*) FROM child GROUP BY 1;
CREATE SCHEMA other;
CREATE TABLE other.things (id integer PRIMARY KEY);
"""
SHAPES_QA = """
CREATE TABLE parent (id integer PRIMARY KEY);
CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id));
CREATE TABLE grandchild (id integer PRIMARY KEY, child_id integer REFERENCES child (id));
CREATE TABLE events (id bigint, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE VIEW view_in_qa AS SELECT 1 AS id;
CREATE TABLE audit_log (id integer, note text);
CREATE TABLE extra_cols (
    id integer PRIMARY KEY, a text, b text DEFAULT 'x', c text NOT NULL, d text
);
CREATE MATERIALIZED VIEW child_counts AS SELECT parent_id, count(*) FROM child GROUP BY 1;
CREATE TABLE qa_only_ref (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id));
CREATE SCHEMA other;
CREATE TABLE other.things (id integer PRIMARY KEY);
"""


@dataclass(frozen=True)
class Scenario:
    """Production's and QA's side of one frozen pair."""

    name: str
    prod: tuple[Callable[[Database], None], ...]
    qa: tuple[Callable[[Database], None], ...]
    about: str


def scenarios() -> list[Scenario]:
    pagila = _file(CORPORA / "pagila" / "pagila-schema.sql")
    chinook = _file(CORPORA / "chinook" / "chinook-quoted.sql")
    app = _file(APP_SCHEMA)
    return [
        Scenario("pagila", (pagila,), (pagila,), "pagila's schema on both sides"),
        Scenario("chinook", (chinook,), (chinook,), "chinook v1.4, quoted names, both sides"),
        Scenario("app", (app,), (app,), "../shared/datasets/app_schema.sql on both sides"),
        Scenario(
            "app_drifted",
            (app,),
            (_app_older_enum, _sql(APP_DRIFT)),
            "QA lacks products.title and enum label SHIPPED, order_items renamed OrderItem",
        ),
        Scenario("casts", (_sql(CASTS_PROD),), (_sql(CASTS_QA),), "one table, types differ"),
        Scenario("shapes", (_sql(SHAPES_PROD),), (_sql(SHAPES_QA),), "tables QA lacks or differ"),
    ]


#: Statements that fail, each run alone by psql against the demo's schema with a few rows:
#: the server's own wording, as psql prints it, for doctor's parser.
MESSAGES_SETUP = """
INSERT INTO clients (id, name, email) VALUES (1, 'One', 'one@example.com');
INSERT INTO products (id, sku, title, price) VALUES (1, 'SKU-1', 'Thing', 9.5);
INSERT INTO "Order" (id, "clientId", total) VALUES (5, 1, 9.5);
"""
MESSAGES: dict[str, str] = {
    "unique": """INSERT INTO "Order" (id, "clientId", total) VALUES (5, 1, 1);""",
    "unique_email": ("INSERT INTO clients (id, name, email) VALUES (2, 'Two', 'one@example.com');"),
    "foreign_key": """INSERT INTO "Order" ("clientId", total) VALUES (19, 1);""",
    "still_referenced": "DELETE FROM clients WHERE id = 1;",
    "missing_table": """SELECT * FROM "AuditLog" ORDER BY id DESC LIMIT 50;""",
    "missing_column": """INSERT INTO "Order" ("clientId", "couponCode") VALUES (1, 'X');""",
    "missing_column_alias": """SELECT o."couponCode" FROM "Order" o;""",
    "enum": """INSERT INTO "Order" ("clientId", total, status) VALUES (1, 1, 'AUDITOR');""",
    "datetime_range": (
        "SET datestyle = 'ISO, MDY';\n"
        """INSERT INTO "Order" ("clientId", total, "createdAt") """
        "VALUES (1, 1, '25/12/2023 10:00');"
    ),
    "datetime_syntax": (
        """INSERT INTO "Order" ("clientId", total, "createdAt") VALUES (1, 1, '2024-13-45T99');"""
    ),
    "integer_syntax": (
        """INSERT INTO order_items ("orderId", "productId", quantity, "unitPrice") """
        "VALUES (5, 1, 'SKU-17', 1);"
    ),
    "transaction_timeout": "SET transaction_timeout = 0;",
}


def _renumber(catalog: Catalog, name: str) -> Catalog:
    """The same catalog with oids 1, 2, 3... in their order, the database named *name*."""
    oids = sorted({t.oid for t in catalog.tables} | {s.oid for s in catalog.sequences})
    new = {oid: i for i, oid in enumerate(oids, 1)}
    return dataclasses.replace(
        catalog,
        database=name,
        tables=tuple(dataclasses.replace(t, oid=new[t.oid]) for t in catalog.tables),
        sequences=tuple(dataclasses.replace(s, oid=new[s.oid]) for s in catalog.sequences),
    )


def _major_only(data: dict[str, Any]) -> dict[str, Any]:
    """The minor release and the build's text (``18.4 (Debian ...)``) dropped: ``18``."""
    num = data["server_version_num"]
    return {**data, "server_version_num": num // 10000 * 10000, "server_version": str(num // 10000)}


def read(db: Database, name: str) -> dict[str, Any]:
    with db.connect() as conn:
        catalog = read_catalog(conn)
    return _major_only(catalog_to_dict(_renumber(catalog, name)))


def _psql_stderr(db: Database, text: str) -> str:
    cluster = db.server.cluster
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    proc = subprocess.run(
        [str(cluster.install.tool("psql")), "-X", "-q", "-d", db.url],
        input=text,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    # psql names its input: keep the shape, not the line number it happened to be on
    return re.sub(r"^psql:<stdin>:\d+:", "psql:<stdin>:1:", proc.stderr, flags=re.MULTILINE)


def freeze(prod: Server, qa: Server) -> dict[str, Any]:
    """Every frozen file's content, by file name, read from *prod* and *qa* now."""
    out: dict[str, Any] = {}
    for sc in scenarios():
        sides: dict[str, Any] = {"about": sc.about}
        for side, server, loads in (("prod", prod, sc.prod), ("qa", qa, sc.qa)):
            db = server.create(f"freeze_{sc.name}")
            for load in loads:
                load(db)
            sides[side] = read(db, sc.name)
        out[f"{sc.name}.json"] = sides
    messages: dict[str, Any] = {}
    for side, server in (("prod", prod), ("qa", qa)):
        db = server.create("freeze_messages")
        _file(DEMO_SCHEMA)(db)
        db.psql(stdin=MESSAGES_SETUP)
        messages[side] = {
            "major": server.major,
            "messages": {k: _psql_stderr(db, text) for k, text in MESSAGES.items()},
        }
    out["messages.json"] = messages
    return out


def dumps(data: Any) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def write(files: dict[str, Any], folder: Path = FROZEN) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        path = folder / name
        path.write_text(dumps(data), encoding="utf-8")
        written.append(path)
    return written
