"""A schema larger than QA's lock table holds in one transaction, at default settings.

PostgreSQL's lock table has ``max_locks_per_transaction * (max_connections +
max_prepared_transactions)`` slots (6,400 on the test clusters), and every relation a
transaction creates holds one until it commits: 5,000 tables and their keys (10,000
relations) cannot be made in one transaction.  ``schema push`` works in batches that fit,
says so, and the scratch database of the comparison does the same.
"""

from __future__ import annotations

import pgferry
from pgferry.schema.push import push
from tests.pgtest import Database

TABLES = 5000


def test_five_thousand_tables_push_at_default_lock_settings(prod: Database, qa: Database) -> None:
    assert qa.scalar("SHOW max_locks_per_transaction") == "64"
    for start in range(1, TABLES + 1, 1000):  # production, too, cannot make them at once
        prod.execute(
            f"DO $$BEGIN FOR i IN {start}..{start + 999} LOOP "
            "EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v text)', 't_' || i); "
            "END LOOP; END$$"
        )
    src, dst = pgferry.parse(prod.url, role="prod"), pgferry.parse(qa.url, role="qa")
    result = push(src, dst)
    assert result.applied
    assert any("transactions" in n and "max_locks_per_transaction" in n for n in result.notes)
    assert qa.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == TABLES
    assert result.remaining is not None and not result.remaining
