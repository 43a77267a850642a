"""Schema fidelity: every object comes from pg_dump's own SQL, and drift is compared like with
like (production's schema restored into a scratch database on QA's server).

Production runs the newest major, QA the oldest.  For each kind of drift pg_dump knows and
the catalog comparison did not: ``schema diff`` (exact mode) reports it, ``schema push``
closes it, a second push has nothing to do, and pg_dump of QA equals, object for object,
pg_dump of a database pg_restore made from production's archive on the same server.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest

import pgferry
from pgferry.schema.push import push
from pgferry.schema.scratch import PREFIX
from tests.migrate_support import give_database_to, run_as, run_cli
from tests.pgtest import SUPERUSER_PASSWORD, Database, Server
from tests.schema_support import objects, restored_by_pg_restore

BASE = """
CREATE TABLE public.client (id integer PRIMARY KEY, email text NOT NULL, grp integer);
CREATE TABLE public."Order" (id serial PRIMARY KEY, "clientId" integer REFERENCES client (id));
CREATE VIEW public.emails AS SELECT id, email FROM public.client;
CREATE TYPE public.mood AS ENUM ('ok', 'sad');
"""


@dataclass(frozen=True)
class Drift:
    id: str
    prod: str
    kind: str  # the kind schema diff names
    qa: str = ""


DRIFTS = [
    Drift("row-level security enabled", "ALTER TABLE client ENABLE ROW LEVEL SECURITY",
          "row-level security"),
    Drift("row-level security disabled", "", "row-level security",
          qa="ALTER TABLE client ENABLE ROW LEVEL SECURITY"),
    Drift("forced row-level security",
          "ALTER TABLE client ENABLE ROW LEVEL SECURITY;"
          "ALTER TABLE client FORCE ROW LEVEL SECURITY",
          "table", qa="ALTER TABLE client ENABLE ROW LEVEL SECURITY"),
    Drift("policy", "ALTER TABLE client ENABLE ROW LEVEL SECURITY;"
          "CREATE POLICY own ON client USING (grp > 0)", "policy"),
    Drift("collation on a column", 'ALTER TABLE client ADD COLUMN nick text COLLATE "C"',
          "column"),
    Drift("collation changed", 'ALTER TABLE client ADD COLUMN nick text COLLATE "C"', "column",
          qa="ALTER TABLE client ADD COLUMN nick text"),
    Drift("text search configuration used by an index",
          "CREATE TEXT SEARCH CONFIGURATION my_ts (COPY = english);"
          "CREATE INDEX client_ts ON client USING gin (to_tsvector('my_ts', email))",
          "text search configuration"),
    Drift("collation object used by a column",
          "CREATE COLLATION my_c (locale = 'C'); ALTER TABLE client ADD COLUMN k text COLLATE my_c",
          "collation"),
    Drift("cast", "CREATE FUNCTION mood_text(mood) RETURNS text LANGUAGE sql IMMUTABLE "
          "AS $$SELECT $1::text$$; CREATE CAST (mood AS text) WITH FUNCTION mood_text(mood)",
          "cast"),
    Drift("rule", "CREATE RULE emails_ins AS ON INSERT TO emails DO INSTEAD NOTHING", "rule"),
    Drift("view column default", "ALTER VIEW emails ALTER COLUMN email SET DEFAULT 'x@y'",
          "default"),
    Drift("zero-argument aggregate",
          "CREATE AGGREGATE cnt(*) (SFUNC = int8inc, STYPE = int8, INITCOND = '0')",
          "function"),
    Drift("view grouped by a primary key",
          "CREATE VIEW by_client AS SELECT id, email FROM client GROUP BY id", "view"),
    Drift("grant", "GRANT SELECT ON client TO fidelity_api", "grant"),
    Drift("revoked grant", "", "grant", qa="GRANT SELECT ON client TO fidelity_api"),
    Drift("comment", "COMMENT ON TABLE client IS 'the people who pay'", "comment"),
    Drift("comment on a constraint",
          "COMMENT ON CONSTRAINT client_pkey ON client IS 'one row a client'", "comment"),
    Drift("cluster on", "ALTER TABLE client CLUSTER ON client_pkey", "constraint"),
    Drift("domain constraint name",
          "CREATE DOMAIN pos AS integer CONSTRAINT pos_is_positive CHECK (VALUE > 0)", "domain"),
    Drift("statistics target", "ALTER TABLE client ALTER COLUMN email SET STATISTICS 500",
          "table"),
    Drift("function changed", "CREATE FUNCTION f(x json) RETURNS int LANGUAGE sql AS 'SELECT 2'",
          "function", qa="CREATE FUNCTION f(x json) RETURNS int LANGUAGE sql AS 'SELECT 1'"),
]  # fmt: skip

#: Drifts applied together, a group per test: those of one group do not touch each other.
GROUPS = {
    "production ahead": [d for d in DRIFTS if not d.qa and d.prod],
    "QA ahead or changed": [
        d
        for d in DRIFTS
        if d.qa and d.id not in ("row-level security disabled", "collation changed")
    ],
    "QA's own row-level security and collation": [
        d for d in DRIFTS if d.id in ("row-level security disabled", "collation changed")
    ],
}


@pytest.fixture
def api_role(prod_server: Server, qa_server: Server) -> str:
    with (
        prod_server.role("fidelity_api", attrs="NOLOGIN"),
        qa_server.role("fidelity_api", attrs="NOLOGIN"),
    ):
        return "fidelity_api"


def _endpoints(prod: Database, qa: Database) -> tuple[pgferry.Endpoint, pgferry.Endpoint]:
    return pgferry.parse(prod.url, role="prod"), pgferry.parse(qa.url, role="qa")


@pytest.mark.parametrize("group", list(GROUPS))
def test_each_kind_of_drift_is_found_pushed_and_left_equal(
    prod: Database, qa: Database, qa_server: Server, api_role: str, group: str
) -> None:
    drifts = GROUPS[group]
    prod.execute(BASE)
    qa.execute(BASE)
    for d in drifts:
        if d.prod:
            prod.execute(d.prod)
        if d.qa:
            qa.execute(d.qa)
    src, dst = _endpoints(prod, qa)
    result = push(src, dst, allow_drop=True)
    assert result.plan.diff.mode == "exact"
    kinds = {d.kind for d in result.plan.diff.differences}
    assert {d.kind for d in drifts} <= kinds, [d.to_dict() for d in result.plan.diff.differences]
    assert result.applied
    assert result.remaining is not None and not result.remaining, [
        d.to_dict() for d in result.remaining.differences
    ]
    again = push(src, dst, allow_drop=True)
    assert not again.applied and again.plan.size == 0, again.plan.statements
    oracle = restored_by_pg_restore(prod, qa_server)
    mine, theirs = objects(qa), objects(oracle)
    assert set(mine) == set(theirs)
    assert [k for k in mine if mine[k] != theirs[k]] == []


def test_a_clean_qa_diffs_clean_across_versions(prod: Database, qa: Database) -> None:
    """Text each server version writes its own way: IN lists, json arguments, view bodies,
    extension versions: no drift, and --exit-code says 0."""
    schema = """
        CREATE EXTENSION IF NOT EXISTS citext;
        CREATE TABLE o (id int PRIMARY KEY, state text CHECK (state IN ('a', 'b')), doc json);
        CREATE FUNCTION f(x json, y "char") RETURNS int LANGUAGE sql AS 'SELECT 1';
        CREATE VIEW v AS SELECT o.id, o.state FROM o WHERE o.state IN ('a', 'b');
    """
    prod.execute(schema)
    src, dst = _endpoints(prod, qa)
    pushed = push(src, dst)
    assert pushed.applied and not pushed.remaining
    ran = run_cli("schema", "diff", "--from", prod.url, "--to", qa.url, "--exit-code")
    assert ran.code == 0, ran.stdout + ran.stderr
    assert "no differences" in ran.stdout
    assert "compared: exact" in ran.stdout
    again = push(src, dst)
    assert again.plan.size == 0


def test_exit_code_counts_info_only_with_strict(prod: Database, qa: Database) -> None:
    prod.execute(BASE + "COMMENT ON TABLE client IS 'people'")
    qa.execute(BASE)
    lax = run_cli("schema", "diff", "--from", prod.url, "--to", qa.url, "--exit-code")
    assert lax.code == 0, lax.stdout + lax.stderr
    assert "info missing on TABLE client" in lax.stdout
    strict = run_cli(
        "schema", "diff", "--from", prod.url, "--to", qa.url, "--exit-code", "--strict"
    )
    assert strict.code == 1, strict.stdout + strict.stderr


def test_grants_for_roles_qa_lacks_are_listed(
    prod: Database, qa: Database, prod_server: Server
) -> None:
    with (
        prod_server.role("only_in_prod", attrs="NOLOGIN"),
        prod_server.role("fidelity_api", attrs="NOLOGIN"),
    ):
        prod.execute(BASE + "GRANT SELECT ON client TO only_in_prod")
        src, dst = _endpoints(prod, qa)
        result = push(src, dst)
        assert any("only_in_prod" in n for n in result.plan.notes), result.plan.notes
        assert result.applied
        skipped = push(src, dst, grants=False)
        assert skipped.plan.size == 0


def test_a_virtual_column_lands_stored(prod: Database, qa: Database) -> None:
    if prod.server.major < 18 or qa.server.major >= 18:
        pytest.skip("needs production on 18+ and QA older")
    prod.execute(
        "CREATE TABLE g (a int, b int GENERATED ALWAYS AS (a * 2) VIRTUAL);"
        "CREATE VIEW gv AS SELECT a, b FROM g"
    )
    src, dst = _endpoints(prod, qa)
    result = push(src, dst)
    assert any("STORED" in n and "public.g.b" in n for n in result.plan.notes)
    assert (
        qa.scalar(
            "SELECT attgenerated FROM pg_attribute WHERE attrelid = 'g'::regclass AND attname = 'b'"
        )
        == "s"
    )
    assert qa.scalar("SELECT to_regclass('public.gv')") is not None
    assert result.remaining is not None and not result.remaining


def test_a_feature_qa_lacks_is_named_before_the_push_with_its_dependents(
    prod: Database, qa: Database
) -> None:
    if prod.server.major < 17 or qa.server.major >= 17:
        pytest.skip("needs production on 17+ (JSON_TABLE) and QA older")
    prod.execute(
        BASE + "CREATE VIEW jt AS SELECT * FROM JSON_TABLE('[1, 2]'::jsonb, '$[*]' "
        "COLUMNS (x int PATH '$')) AS j; CREATE VIEW jt2 AS SELECT x FROM jt"
    )
    src, dst = _endpoints(prod, qa)
    dry = push(src, dst, dry_run=True)
    refused = {d.name: d.refused for d in dry.plan.refused}
    assert "public.jt" in refused and "public.jt2" in refused, refused
    assert "JSON_TABLE" in (refused["public.jt"] or "") or "syntax" in (refused["public.jt"] or "")
    assert qa.scalar("SELECT count(*) FROM pg_class WHERE relname = 'client'") == 0  # dry run
    result = push(src, dst)
    assert result.applied
    assert qa.scalar("SELECT to_regclass('public.client')") is not None
    assert qa.scalar("SELECT to_regclass('public.jt')") is None


def test_a_scratch_database_left_by_a_killed_run_is_dropped(
    prod: Database, qa: Database, qa_server: Server
) -> None:
    prod.execute(BASE)
    qa.execute(BASE)
    left = f"{PREFIX}999999_dead00"
    qa_server.admin.execute(f'CREATE DATABASE "{left}"')
    meta = {"pgferry": 1, "kind": "scratch", "pid": 2**22 + 7, "host": os.uname().nodename,
            "created": 0}  # fmt: skip
    qa_server.admin.execute(f"COMMENT ON DATABASE \"{left}\" IS '{json.dumps(meta)}'")
    ran = run_cli("schema", "diff", "--from", prod.url, "--to", qa.url)
    assert ran.code == 0, ran.stderr
    assert "dropped 1 scratch database" in ran.stdout
    names = {r[0] for r in qa_server.admin.execute("SELECT datname FROM pg_database")}
    assert not [n for n in names if n.startswith(PREFIX)], names


def test_without_createdb_the_servers_are_compared_directly_and_it_says_so(
    prod: Database, qa: Database, qa_server: Server
) -> None:
    prod.execute(BASE + "ALTER TABLE client ENABLE ROW LEVEL SECURITY")
    with qa_server.role("fidelity_owner", password="owner-pw", attrs="LOGIN NOCREATEDB"):
        give_database_to(qa, "fidelity_owner")
        run_as(qa, "fidelity_owner", BASE, password="owner-pw")
        owner_url = qa.url_as("fidelity_owner", "owner-pw")
        ran = run_cli("schema", "diff", "--from", prod.url, "--to", owner_url, "--exit-code")
        assert ran.code == 1, ran.stdout + ran.stderr
        assert "compared across servers (the less exact mode)" in ran.stdout
        assert "CREATEDB" in ran.stdout
        assert "row-level security" in ran.stdout
        assert SUPERUSER_PASSWORD not in ran.stdout + ran.stderr
        assert "owner-pw" not in ran.stdout + ran.stderr
