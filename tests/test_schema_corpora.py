"""An empty QA gets production's whole schema: ``schema push``, then ``migrate``, then
``schema diff`` finds nothing and the data are equal, over every corpus in ../shared/corpora.

Both ways of building it are run: pg_dump's archive (the default) and the catalog
(``--no-pg-dump``, and what pgferry falls back on without a new enough pg_dump).  After
the archive's push, QA's schema equals, object for object as pg_dump splits it, the schema
pg_restore itself makes from production's archive on QA's server, and a second push has
nothing to do.
"""

from __future__ import annotations

import pytest

import pgferry
from pgferry.schema.push import push
from tests.migrate_support import assert_same_content, run_migrate, sequences_healthy
from tests.pgtest import Server
from tests.schema_support import objects, restored_by_pg_restore
from tests.test_migrate_corpora import CASES, _loader
from tests.test_schema import schema_diff

pytestmark = pytest.mark.corpus

#: QA's schema differs from production's on purpose there: nothing to push into.
_SKIP = {"pgcopydb-partitioned-target"}
ROUND_TRIPS = [c for c in CASES if c.id not in _SKIP]


#: the archive's way restores an oracle with pg_restore too: 3 to 6 s a corpus here
@pytest.mark.parametrize("method", [pytest.param("pg_dump", marks=pytest.mark.slow), "catalog"])
@pytest.mark.parametrize("case", ROUND_TRIPS, ids=[c.id for c in ROUND_TRIPS])
def test_push_into_an_empty_qa_then_migrate(
    prod_server: Server, qa_server: Server, case: object, method: str
) -> None:
    assert hasattr(case, "id")
    prod = prod_server.from_template(
        f"migrate-{case.id}",
        _loader(*case.prod, strip_switch=case.strip_switch, then=case.prod_then),  # type: ignore[attr-defined]
        hint=case.id,
    )
    qa = qa_server.create(f"empty-{case.id}")
    src, dst = pgferry.parse(prod.url, role="prod"), pgferry.parse(qa.url, role="qa")

    pushed = push(src, dst, use_pg_dump=method == "pg_dump")
    assert pushed.plan.method == method
    assert pushed.applied
    if method == "pg_dump":
        assert not pushed.remaining, [d.to_dict() for d in pushed.remaining.differences]  # type: ignore[union-attr]
        oracle = restored_by_pg_restore(prod, qa_server)
        mine, theirs = objects(qa), objects(oracle)
        assert sorted(set(mine) ^ set(theirs)) == []
        assert [k for k in mine if mine[k] != theirs[k]] == []
        assert push(src, dst).plan.size == 0

    report = run_migrate(prod.url, qa.url)
    assert report.ok, report.to_dict()
    left = schema_diff(prod, qa)
    assert not left, [d.to_dict() for d in left.differences]
    assert assert_same_content(prod, qa)
    assert sequences_healthy(qa) == []
