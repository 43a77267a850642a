"""Sequences on real sample databases: break them as a naive copy does, find, fix, insert.

Each corpus under ../shared/corpora is loaded once per cluster into a template
database.  Every test copies the template, resets every sequence to its START
(what a copy that does not carry sequence state leaves behind), then proves:

* ``check_sequences`` names exactly the sequences behind their data;
* an insert that leaves the sequence-fed columns to their defaults collides
  (or reuses an id) while they are behind;
* ``fix_sequences`` moves exactly those, to exactly past the data, none
  backwards, and a second fix changes nothing;
* afterwards such an insert succeeds on every table with a sequence-fed
  column, and hands out a value past every column the sequence feeds.

Sequence positions, fed columns and index columns are read here with our own
catalog queries, never through pgferry, so the tests do not grade pgferry
against itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

import pgferry
from pgferry.catalog import ColumnRef, Name
from pgferry.sequences import Status
from tests.conftest import corpus_path
from tests.pgtest import SUPERUSER_PASSWORD, Database, Server

pytestmark = pytest.mark.corpus

Conn = psycopg.Connection[Any]

# -- the corpora ----------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    id: str
    files: tuple[str, ...]  # under ../shared/corpora, loaded in this order
    #: the script creates its own database and ``\c``s into it: drop those lines
    strip_database_switch: bool = False
    #: run after loading: rows with explicit ids, so sequences start out behind
    setup: str = ""
    #: behind once reset to START -> the next value fix must give them
    behind: Mapping[str, int] = field(default_factory=dict)
    #: every other sequence -> its next value once reset (fix must leave it there)
    untouched: Mapping[str, int] = field(default_factory=dict)
    #: how many tables (partitions included) have a sequence-fed column
    fed_tables: int = 0
    #: tables whose copied row hits a unique key that does not hold the fed column
    other_unique: frozenset[str] = frozenset()


_CHINOOK_NEXT = {
    "public.album_album_id_seq": 348,
    "public.artist_artist_id_seq": 276,
    "public.customer_customer_id_seq": 60,
    "public.employee_employee_id_seq": 9,
    "public.genre_genre_id_seq": 26,
    "public.invoice_invoice_id_seq": 413,
    "public.invoice_line_invoice_line_id_seq": 2241,
    "public.media_type_media_type_id_seq": 6,
    "public.playlist_playlist_id_seq": 19,
    "public.track_track_id_seq": 3504,
}

# pgsync's schemas carry (almost) no data: give every serial table rows with
# explicit ids, as a copy does.  robots has a trigger that rejects inserts.
_PGSYNC_ROWS = """
SET session_replication_role = replica;
INSERT INTO posts (id, title) VALUES (1, 'one'), (2, 'two'), (7, 'seven');
INSERT INTO comments (id, post_id) VALUES (1, 1), (5, 2);
INSERT INTO comments2 (id, post_id) VALUES (4, 7);
INSERT INTO books (id, id2, title) VALUES (1, 1, 'a'), (2, 9, 'b');
INSERT INTO robots (id, name) VALUES (4, 'r2');
INSERT INTO excluded (id) VALUES (1), (3);
"""

_PGSYNC_NEXT = {
    'public."Users_Id_seq"': 11,
    "public.books_id2_seq": 10,
    "public.books_id_seq": 3,
    "public.comments2_id_seq": 5,
    "public.comments_id_seq": 6,
    "public.excluded_id_seq": 4,
    "public.posts_id_seq": 8,
    "public.robots_id_seq": 5,
}

_EXTRA_SQL = "pgcopydb/filtering/extra.sql"
_LONG = "very______long______table______name_______50_chars"

CORPORA = (
    Corpus(
        "pagila",
        ("pagila/pagila-schema.sql", "pagila/pagila-data.sql"),
        # 13 sequences reached only through DEFAULT nextval(), none OWNED BY
        behind={
            "public.actor_actor_id_seq": 201,
            "public.address_address_id_seq": 606,
            "public.category_category_id_seq": 17,
            "public.city_city_id_seq": 601,
            "public.country_country_id_seq": 110,
            "public.customer_customer_id_seq": 600,
            "public.film_film_id_seq": 1001,
            "public.inventory_inventory_id_seq": 4582,
            "public.language_language_id_seq": 7,
            "public.payment_payment_id_seq": 32099,
            "public.rental_rental_id_seq": 16050,
            "public.staff_staff_id_seq": 1500,
            "public.store_store_id_seq": 500,
        },
        fed_tables=20,  # 12 tables, payment and its 7 partitions
        other_unique=frozenset({"public.rental", "public.store"}),
    ),
    Corpus(
        "chinook-serial",
        ("chinook/chinook-serial.sql",),
        strip_database_switch=True,
        behind=_CHINOOK_NEXT,
        fed_tables=10,
    ),
    Corpus(
        "chinook-identity",
        ("chinook/chinook-identity.sql",),
        strip_database_switch=True,
        behind=_CHINOOK_NEXT,
        fed_tables=10,
    ),
    Corpus("chinook-quoted", ("chinook/chinook-quoted.sql",)),
    Corpus(
        "pgsync-schema1",
        ("pgsync/schema1.sql",),
        setup=_PGSYNC_ROWS
        + """INSERT INTO "Users" ("Id", email, current_mood)
             VALUES (3, 'a@example.com', 'ok'), (10, 'b@example.com', 'happy');""",
        # other.pets arrives with ids 1-3
        behind={**_PGSYNC_NEXT, "other.pets_id_seq": 4},
        fed_tables=8,
    ),
    Corpus(
        "pgsync-schema2",
        ("pgsync/schema2.sql",),
        setup=_PGSYNC_ROWS
        + """INSERT INTO "Users" ("Id", email) VALUES (3, 'a@example.com'), (10, 'b@example.com');
             INSERT INTO other.pets (id) VALUES (6);""",
        behind={**_PGSYNC_NEXT, "other.pets_id_seq": 7},
        fed_tables=8,
    ),
    Corpus("pgsync-schema3", ("pgsync/schema3.sql",)),
    Corpus("northwind", ("northwind/northwind.sql",)),
    Corpus(
        "neon-happiness-index",
        ("samples/neon/happiness_index.sql",),
        # a table named "2019"; the dump itself leaves its sequence at 1
        behind={'public."2019_overall_rank_seq"': 157},
        fed_tables=1,
    ),
    Corpus("neon-periodic-table", ("samples/neon/periodic_table.sql",)),
    Corpus("iso-3166", ("samples/iso-3166/iso-3166.sql",)),
    Corpus(
        "pgcopydb-extra",
        (_EXTRA_SQL,),
        # copy.foo is LIKE app.foo INCLUDING ALL: both draw from app.foo_id_seq,
        # which only app.foo owns; the larger ids sit in copy.foo.  seq.* stays
        # empty (16-sequences.sql below fills the same tables).
        setup=f"""
            INSERT INTO app.foo (id, f1) VALUES (1, 'a'), (2, 'b');
            INSERT INTO copy.foo (id, f1) VALUES (3, 'c'), (9, 'd');
            INSERT INTO foo.tbl1 (id, status_id, desc_text) VALUES (5, 1, 'one'), (6, 2, 'two');
            INSERT INTO foo.tbl2 (id, tbl1_id, desc_text) VALUES (11, 5, 'x');
            INSERT INTO schema_name_20_chars.{_LONG} (id) VALUES (2);
        """,
        behind={
            "app.foo_id_seq": 10,
            "foo.tbl1_id_seq": 7,
            "foo.tbl2_id_seq": 12,
            "foo.tbl_status_id_seq": 4,  # the script's own rows 1-3
            f"schema_name_20_chars.{_LONG}_id_seq": 3,
        },
        untouched={
            "seq.default_table_id_seq": 1,
            "seq.identity_table_id_seq": 1,
            "seq.standalone_id_seq": 1,
            "seq.standalone_minvalue_id_seq": 671,
            "seq.standalone_smallint_id_seq": 1,
        },
        fed_tables=8,
        other_unique=frozenset({"foo.tbl_status"}),  # UNIQUE (name)
    ),
    Corpus(
        "pgcopydb-16-sequences",
        ("pgcopydb/unit/setup/16-sequences.sql",),
        # the script moves both sequences (667, 668); rows then take the next ids
        setup="""
            INSERT INTO default_table DEFAULT VALUES;
            INSERT INTO default_table DEFAULT VALUES;
            INSERT INTO identity_table DEFAULT VALUES;
            INSERT INTO identity_table DEFAULT VALUES;
        """,
        behind={"public.default_table_id_seq": 670, "public.identity_table_id_seq": 671},
        untouched={
            "public.standalone_id_seq": 1,
            "public.standalone_minvalue_id_seq": 671,
            "public.standalone_smallint_id_seq": 1,
        },
        fed_tables=2,
    ),
    Corpus(
        "pgcopydb-7-identity",
        ("pgcopydb/unit/setup/7-identity.sql",),
        setup="INSERT INTO test_tbl (f1) VALUES ('a'), ('b'), ('c');",
        behind={"public.test_tbl_id_seq": 4},  # GENERATED ALWAYS
        fed_tables=1,
    ),
)

_BY_ID = {c.id: c for c in CORPORA}
CLUSTERS = ("prod", "qa")

# -- loading ----------------------------------------------------------------------

_DATABASE_SWITCH = re.compile(
    r"^(?:DROP DATABASE IF EXISTS \w+|CREATE DATABASE \w+|\\c \w+);[ \t]*$\n?", re.MULTILINE
)


def _without_database_switch(path: Path) -> str:
    text, count = _DATABASE_SWITCH.subn("", path.read_text(encoding="utf-8"))
    assert count == 3, f"{path}: expected DROP DATABASE, CREATE DATABASE and \\c, found {count}"
    return text


def _builder(corpus: Corpus, paths: list[Path]) -> Callable[[Database], None]:
    def build(db: Database) -> None:
        for path in paths:
            if corpus.strip_database_switch:
                db.psql(stdin=_without_database_switch(path))
            else:
                db.load(path)
        if corpus.setup:
            db.psql(stdin=corpus.setup)

    return build


def _server(servers: tuple[Server, Server], cluster: str) -> Server:
    return servers[CLUSTERS.index(cluster)]


def corpus_db(servers: tuple[Server, Server], cluster: str, corpus: Corpus) -> Database:
    """A fresh copy of *corpus*, loaded once per cluster per session."""
    paths = [corpus_path(*f.split("/")) for f in corpus.files]
    server = _server(servers, cluster)
    return server.from_template(corpus.id, _builder(corpus, paths), hint=corpus.id)


# -- our own catalog reads ------------------------------------------------------------

_NOT_EXTENSION = """NOT EXISTS (
    SELECT FROM pg_catalog.pg_depend e
    WHERE e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')"""

#: What a copy that ignores sequence state leaves: every sequence at its START.
BREAK = f"""
SELECT count(pg_catalog.setval(c.oid, s.seqstart, false))
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
WHERE {_NOT_EXTENSION}
"""

_SEQUENCES = f"""
SELECT n.nspname, c.relname, format('%I.%I', n.nspname, c.relname), s.seqincrement
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE {_NOT_EXTENSION}
ORDER BY 3
"""

#: Every column of a table or partitioned table a sequence feeds: identity,
#: or a default that depends on a sequence (owned or not).
_FED_COLUMNS = """
SELECT t.oid, tn.nspname, t.relname, format('%I.%I', tn.nspname, t.relname), a.attname,
       format('%I.%I', sn.nspname, s.relname)
FROM (
    SELECT d.refobjid AS rel, d.refobjsubid AS attnum, d.objid AS seq
    FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::regclass
      AND d.refclassid = 'pg_catalog.pg_class'::regclass
      AND d.deptype = 'i' AND d.refobjsubid > 0
    UNION
    SELECT ad.adrelid, ad.adnum, d.refobjid
    FROM pg_catalog.pg_attrdef ad
    JOIN pg_catalog.pg_depend d
      ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid
     AND d.refclassid = 'pg_catalog.pg_class'::regclass
) dep
JOIN pg_catalog.pg_class s ON s.oid = dep.seq AND s.relkind = 'S'
JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_catalog.pg_class t ON t.oid = dep.rel AND t.relkind IN ('r', 'p')
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_catalog.pg_attribute a
  ON a.attrelid = t.oid AND a.attnum = dep.attnum AND NOT a.attisdropped
ORDER BY 4, a.attnum
"""

_COLUMNS = """
SELECT attname, attgenerated, attidentity
FROM pg_catalog.pg_attribute
WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
"""

_INDEX_COLUMNS = """
SELECT a.attname
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE n.nspname = %s AND ic.relname = %s
"""


def positions(conn: Conn) -> dict[str, int]:
    """Every (non-extension) sequence's next value, read from the sequence itself."""
    seqs = conn.execute(_SEQUENCES).fetchall()
    if not seqs:
        return {}
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}::int, last_value, is_called FROM {}").format(
            sql.Literal(i), sql.Identifier(schema, name)
        )
        for i, (schema, name, _, _) in enumerate(seqs)
    )
    out: dict[str, int] = {}
    for i, last_value, is_called in conn.execute(query).fetchall():
        _, _, label, increment = seqs[i]
        out[label] = last_value + increment if is_called else last_value
    return out


def break_sequences(conn: Conn) -> int:
    row = conn.execute(BREAK).fetchone()
    assert row is not None
    return int(row[0])


@dataclass
class FedTable:
    oid: int
    name: str  # format('%I.%I')
    ident: sql.Identifier
    feeds: dict[str, str] = field(default_factory=dict)  # column -> sequence


def fed_tables(conn: Conn) -> dict[str, FedTable]:
    tables: dict[str, FedTable] = {}
    for oid, schema, name, table, column, seq in conn.execute(_FED_COLUMNS).fetchall():
        if table not in tables:
            tables[table] = FedTable(oid, table, sql.Identifier(schema, name))
        tables[table].feeds[column] = seq
    return tables


def _sequence_extremes(conn: Conn, tables: Mapping[str, FedTable]) -> dict[str, int | None]:
    """The largest value in any column each sequence feeds (None: all empty)."""
    by_seq: dict[str, list[sql.Composable]] = {}
    for t in tables.values():
        for column, seq in t.feeds.items():
            by_seq.setdefault(seq, []).append(
                sql.SQL("(SELECT max({})::numeric FROM {})").format(sql.Identifier(column), t.ident)
            )
    out: dict[str, int | None] = {}
    for seq, parts in by_seq.items():
        row = conn.execute(
            sql.SQL("SELECT greatest({})").format(sql.SQL(", ").join(parts))
        ).fetchone()
        out[seq] = None if row is None or row[0] is None else int(row[0])
    return out


# -- inserting with the defaults -----------------------------------------------------


class Outcome(Enum):
    OK = "ok"  # inserted; every fed value is past every column its sequence feeds
    REUSES = "reuses"  # inserted (no unique key on it), but a fed value is within the data
    COLLIDES = "collides"  # unique violation on a key that holds a fed column
    OTHER_UNIQUE = "other unique"  # unique violation on a key without a fed column


def _insert(t: FedTable, conn: Conn) -> sql.Composed:
    """Copy one row with every fed (and generated) column left to its default."""
    others = [
        sql.Identifier(name)
        for name, generated, identity in conn.execute(_COLUMNS, (t.oid,)).fetchall()
        if name not in t.feeds and not generated and identity != "a"
    ]
    returning = sql.SQL(", ").join(sql.Identifier(c) for c in t.feeds)
    has_rows = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(t.ident)).fetchone()
    if others and has_rows and has_rows[0]:
        cols = sql.SQL(", ").join(others)
        return sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {t} LIMIT 1 RETURNING {r}").format(
            t=t.ident, c=cols, r=returning
        )
    return sql.SQL("INSERT INTO {t} DEFAULT VALUES RETURNING {r}").format(t=t.ident, r=returning)


def try_inserts(conn: Conn) -> dict[str, tuple[Outcome, str]]:
    """Per table with a sequence-fed column: what an insert leaving them default does.

    All in one transaction that is rolled back, one savepoint per table, user
    triggers off (pgsync's robots rejects every insert).  nextval() is not
    rolled back: callers reset the sequences afterwards where it matters.
    """
    tables = fed_tables(conn)
    results: dict[str, tuple[Outcome, str]] = {}
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL session_replication_role = replica")
        extremes = _sequence_extremes(conn, tables)
        for name, t in tables.items():
            stmt = _insert(t, conn)
            try:
                with conn.transaction():
                    row = conn.execute(stmt).fetchone()
            except psycopg.errors.UniqueViolation as exc:
                key = exc.diag.constraint_name or ""
                covered = {
                    r[0]
                    for r in conn.execute(_INDEX_COLUMNS, (exc.diag.schema_name, key)).fetchall()
                }
                assert covered, f"{name}: unique violation on unknown key {key!r}: {exc}"
                outcome = Outcome.COLLIDES if covered & set(t.feeds) else Outcome.OTHER_UNIQUE
                results[name] = (outcome, f"{key} ({', '.join(sorted(covered))})")
                continue
            assert row is not None
            stale = [
                f"{column}={value} (data up to {extremes[t.feeds[column]]})"
                for column, value in zip(t.feeds, row, strict=True)
                if extremes[t.feeds[column]] is not None and value <= extremes[t.feeds[column]]
            ]
            results[name] = (Outcome.REUSES, "; ".join(stale)) if stale else (Outcome.OK, "")
    return results


# -- the story, per corpus and cluster --------------------------------------------------


@pytest.mark.parametrize("cluster", CLUSTERS)
@pytest.mark.parametrize("corpus", CORPORA, ids=lambda c: c.id)
def test_break_check_fix_insert(
    servers: tuple[Server, Server], cluster: str, corpus: Corpus
) -> None:
    db = corpus_db(servers, cluster, corpus)
    expected_names = set(corpus.behind) | set(corpus.untouched)
    with db.connect() as conn:
        # 1. break
        assert break_sequences(conn) == len(expected_names)
        broken = positions(conn)
        assert set(broken) == expected_names
        for name, next_value in corpus.untouched.items():
            assert broken[name] == next_value, name

        # 2. check names exactly the ones behind, with the value fix will give them
        report = pgferry.check_sequences(conn)
        states = {str(s.name): s for s in report.states}
        assert set(states) == expected_names
        assert sorted(str(s.name) for s in report.behind) == sorted(corpus.behind)
        assert report.healthy == (not corpus.behind)
        for name, target in corpus.behind.items():
            s = states[name]
            assert s.status is Status.BEHIND, (name, s)
            assert s.next_value == broken[name], name
            assert s.target_next == target, name
            assert s.data_extreme == target - s.sequence.increment, name
        for name in corpus.untouched:
            assert states[name].status is Status.OK, (name, states[name])
            assert states[name].target_next is None, name

        # ... and the inserts an application would make now fail or reuse ids
        tables = fed_tables(conn)
        assert len(tables) == corpus.fed_tables, sorted(tables)
        before = try_inserts(conn)
        for name, t in tables.items():
            outcome, detail = before[name]
            if set(t.feeds.values()) & set(corpus.behind):
                assert outcome is not Outcome.OK, (name, detail)
            else:
                assert outcome is Outcome.OK, (name, outcome, detail)

        # those inserts consumed values: put the sequences back where the break left them
        assert break_sequences(conn) == len(expected_names)
        assert positions(conn) == broken

        # 3. fix: exactly those, exactly past the data, none backwards
        fixed = pgferry.fix_sequences(conn)
        assert fixed.applied is bool(corpus.behind)
        assert sorted(str(s.name) for s in fixed.fixed) == sorted(corpus.behind)
        assert fixed.healthy
        after = positions(conn)
        assert after == {**corpus.untouched, **corpus.behind}
        backwards = {n: (broken[n], after[n]) for n in after if after[n] < broken[n]}
        assert not backwards

        again = pgferry.check_sequences(conn)
        assert again.healthy
        assert {s.status for s in again.states} <= {Status.OK}
        second = pgferry.fix_sequences(conn)
        assert second.fixed == []
        assert not second.applied
        assert positions(conn) == after

        # 4. now every table with a sequence-fed column takes an insert
        results = try_inserts(conn)
        assert set(results) == set(tables)
        failures = {
            n: r
            for n, r in results.items()
            if r[0] is not Outcome.OK and n not in corpus.other_unique
        }
        assert not failures
        other = {n for n, (o, _) in results.items() if o is Outcome.OTHER_UNIQUE}
        assert other == corpus.other_unique


@pytest.mark.parametrize("cluster", CLUSTERS)
@pytest.mark.parametrize("corpus", CORPORA, ids=lambda c: c.id)
def test_fix_as_loaded_never_moves_backwards(
    servers: tuple[Server, Server], cluster: str, corpus: Corpus
) -> None:
    """Unbroken, some sequences sit ahead of their data: fix must leave them there.

    (Pagila's staff and store sequences are at 1501 and 501, data up to 1499
    and 499; pgcopydb's scripts park sequences of empty tables at 667 and up.)
    """
    db = corpus_db(servers, cluster, corpus)
    with db.connect() as conn:
        loaded = positions(conn)
        report = pgferry.fix_sequences(conn)
        after = positions(conn)
    expected = {n: max(p, corpus.behind.get(n, p)) for n, p in loaded.items()}
    assert after == expected
    moved = {n for n in after if after[n] != loaded[n]}
    assert sorted(str(s.name) for s in report.fixed) == sorted(moved)
    assert report.healthy


# -- corpus specifics ---------------------------------------------------------------


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_pagila_unowned_sequences_and_partitioned_payment(
    servers: tuple[Server, Server], cluster: str
) -> None:
    db = corpus_db(servers, cluster, _BY_ID["pagila"])
    with db.connect() as conn:
        # Django's reset and pgsync find sequences with this: NULL for all 13
        unowned = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_get_serial_sequence(format('%I.%I', "
            "table_schema, table_name), column_name) IS NULL), count(*) "
            "FROM information_schema.columns WHERE column_default LIKE 'nextval(%' "
            "AND table_name !~ '^payment_p'"
        ).fetchone()
        assert unowned == (13, 13)
        break_sequences(conn)
        report = pgferry.check_sequences(conn)
    payment = next(s for s in report.states if s.name == Name("public", "payment_payment_id_seq"))
    # the partitions are read through their parent, once
    assert [str(f.column) for f in payment.feeds] == ["public.payment.payment_id"]
    assert payment.extreme_at == ColumnRef(Name("public", "payment"), "payment_id")
    assert payment.data_extreme == 32098
    assert all(s.sequence.owned_by is None for s in report.states)


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_pgcopydb_shared_sequence_takes_the_max_over_both_tables(
    servers: tuple[Server, Server], cluster: str
) -> None:
    db = corpus_db(servers, cluster, _BY_ID["pgcopydb-extra"])
    with db.connect() as conn:
        break_sequences(conn)
        report = pgferry.check_sequences(conn)
    shared = next(s for s in report.states if s.name == Name("app", "foo_id_seq"))
    assert [str(f.column) for f in shared.feeds] == ["app.foo.id", "copy.foo.id"]
    # only app.foo owns it; the larger ids are in copy.foo
    assert shared.sequence.owned_by == ColumnRef(Name("app", "foo"), "id")
    assert shared.extreme_at == ColumnRef(Name("copy", "foo"), "id")
    assert (shared.data_extreme, shared.target_next) == (9, 10)
    standalone = {
        str(s.name): s.note for s in report.states if s.name.name.startswith("standalone")
    }
    assert standalone == dict.fromkeys(
        [
            "seq.standalone_id_seq",
            "seq.standalone_minvalue_id_seq",
            "seq.standalone_smallint_id_seq",
        ],
        "feeds no column",
    )


# -- the command line ---------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pgferry", "sequences", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )
    assert SUPERUSER_PASSWORD not in proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
def test_cli_check_fix_check_on_pagila(servers: tuple[Server, Server]) -> None:
    db = corpus_db(servers, "qa", _BY_ID["pagila"])
    assert SUPERUSER_PASSWORD in db.url  # so the masking below is tested for real
    with db.connect() as conn:
        break_sequences(conn)

    first = _cli("check", "--db", db.url)
    assert first.returncode == 1, first.stderr
    assert "pgferry sequences fix" in first.stderr
    for name in _BY_ID["pagila"].behind:
        assert name in first.stdout

    as_json = _cli("check", "--db", db.url, "--json")
    assert as_json.returncode == 1, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["counts"] == {"sequences": 13, "problems": 13, "fixed": 0, "skipped": 0}
    assert {s["sequence"]: s["new_next_value"] for s in data["sequences"]} == dict(
        _BY_ID["pagila"].behind
    )

    fix = _cli("fix", "--db", db.url)
    assert fix.returncode == 0, fix.stderr

    last = _cli("check", "--db", db.url)
    assert last.returncode == 0, last.stdout + last.stderr
    with db.connect() as conn:
        assert positions(conn) == dict(_BY_ID["pagila"].behind)
