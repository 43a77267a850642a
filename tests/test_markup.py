"""Names reach the terminal as they are: rich markup never eats a ``[b]`` in a name (issue 13,
point 7)."""

from __future__ import annotations

from tests.migrate_support import migrate_cli, run_cli
from tests.pgtest import Database

SCHEMA = """
CREATE SCHEMA "s[red]";
CREATE TABLE "s[red]"."x[b]y" (id serial PRIMARY KEY, "v[i]" text);
"""
NAME = '"s[red]"."x[b]y"'


def test_a_name_with_brackets_prints_intact(prod: Database, qa: Database) -> None:
    prod.execute(SCHEMA)
    qa.execute(SCHEMA)
    prod.execute('INSERT INTO "s[red]"."x[b]y" ("v[i]") SELECT \'v\' FROM generate_series(1, 5)')
    for ran in (
        migrate_cli(prod, qa, "--yes"),
        migrate_cli(prod, qa, "--dry-run"),
        run_cli("verify", "--from", prod.url, "--to", qa.url),
        run_cli("sequences", "check", "--all", "--db", qa.url),
    ):
        assert ran.code == 0, ran.stdout + ran.stderr
        assert NAME in ran.stdout, ran.stdout
    qa.execute('ALTER SEQUENCE "s[red]"."x[b]y_id_seq" RESTART WITH 1')
    behind = run_cli("sequences", "check", "--db", qa.url)
    assert behind.code == 1 and '"s[red]"."x[b]y_id_seq"' in behind.stdout, behind.stdout
    doctor = run_cli("doctor", "--db", qa.url)
    assert '"s[red]"."x[b]y_id_seq"' in doctor.stdout, doctor.stdout
