"""A view production changed while other views read it in QA.

``CREATE OR REPLACE VIEW`` cannot drop or rename a column, and ``DROP VIEW`` refuses
while another view reads it: ``schema push`` drops the readers first and makes them
again after, from production's archive (QA's own definition for a view only QA has),
with their comments, grants and indexes.
"""

from __future__ import annotations

import pgferry
from pgferry.schema.push import push
from tests.pgtest import Database, Server
from tests.schema_support import objects, restored_by_pg_restore

BASE = """
CREATE TABLE t (id int PRIMARY KEY, a text, b text);
CREATE VIEW v AS SELECT id, a FROM t;
CREATE VIEW w AS SELECT id FROM v;
COMMENT ON VIEW w IS 'reads v';
CREATE VIEW x AS SELECT count(*) AS n FROM w;
CREATE MATERIALIZED VIEW m AS SELECT id FROM v WITH NO DATA;
CREATE UNIQUE INDEX m_id ON m (id);
"""
CHANGED = BASE.replace("SELECT id, a FROM t", "SELECT id, b AS a2 FROM t")


def test_a_changed_view_read_by_others_is_pushed_with_its_readers(
    prod: Database, qa: Database, qa_server: Server
) -> None:
    prod.execute(CHANGED)
    prod.execute("GRANT SELECT ON w TO PUBLIC")
    qa.execute(BASE)
    qa.execute("CREATE VIEW only_qa AS SELECT id FROM w")  # QA's own reader: kept
    src, dst = pgferry.parse(prod.url, role="prod"), pgferry.parse(qa.url, role="qa")

    result = push(src, dst)

    assert result.applied
    assert result.remaining is not None
    assert [(d.name, d.change.value) for d in result.remaining.differences] == [
        ("public.only_qa", "extra")
    ]
    oracle = objects(restored_by_pg_restore(prod, qa_server))
    got = objects(qa)
    only_qa = {k: v for k, v in got.items() if "only_qa" in k[2] or "only_qa" in v}
    assert {k: v for k, v in got.items() if k not in only_qa} == oracle
    assert qa.scalar("SELECT count(*) FROM only_qa") == 0
    assert qa.scalar("SELECT a2 FROM v LIMIT 1") is None
    assert qa.scalar("SELECT obj_description('w'::regclass)") == "reads v"


def test_a_second_push_after_it_does_nothing(prod: Database, qa: Database) -> None:
    prod.execute(CHANGED)
    qa.execute(BASE)
    src, dst = pgferry.parse(prod.url, role="prod"), pgferry.parse(qa.url, role="qa")
    assert push(src, dst).applied
    again = push(src, dst, dry_run=True)
    assert again.plan is not None and not again.plan.statements
