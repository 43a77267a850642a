"""A schema larger than QA's lock table holds in one transaction, at default settings.

PostgreSQL's lock table has ``max_locks_per_transaction * (max_connections +
max_prepared_transactions)`` slots (6,400 on the test clusters), and every relation a
transaction creates, or empties, holds one until it commits: 5,000 tables and their keys
(more than 10,000 relations) can be neither made nor emptied in one transaction.  ``schema
push`` works in batches that fit and says so (the scratch database of its comparison does the
same); ``migrate`` then empties the copy set in ``TRUNCATE`` batches and loads it.
"""

from __future__ import annotations

import pytest

import pgferry
from pgferry.schema.push import push
from tests.migrate_support import assert_same_content, build_many_tables, foreign_keys, migrate_cli
from tests.pgtest import Database

pytestmark = pytest.mark.slow  # over a few seconds: left out by make test-fast

TABLES = 5000


def test_five_thousand_tables_push_and_migrate_at_default_lock_settings(
    prod: Database, qa: Database
) -> None:
    assert qa.scalar("SHOW max_locks_per_transaction") == "64"
    assert qa.scalar("SHOW max_connections") == "100"
    build_many_tables(prod, TABLES, rows=True)  # production, too, cannot make them at once
    src, dst = pgferry.parse(prod.url, role="prod"), pgferry.parse(qa.url, role="qa")

    result = push(src, dst)

    assert result.applied
    assert any("transactions" in n and "max_locks_per_transaction" in n for n in result.notes)
    assert qa.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == TABLES
    assert result.remaining is not None and not result.remaining

    qa.execute("INSERT INTO t7 VALUES (99, 'stale QA row', NULL)")
    ran = migrate_cli(prod, qa, "--yes", "--jobs", "2", timeout=300)

    assert ran.code == 0, ran.stderr
    assert_same_content(prod, qa)
    assert qa.scalar("SELECT count(*) FROM t7") == 0
    assert len(foreign_keys(qa)) == len(foreign_keys(prod))
