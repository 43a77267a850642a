"""``pgferry migrate`` while production writes, and when pgferry is killed mid-copy.

* Production under writes: a thread keeps adding a parent and a child that
  references it, one transaction each, while a large parent table is copied.
  Every table must be read at the same instant: QA ends FK-consistent, and the
  numbers of parents and children added by the writer that QA holds are equal.
* ``kill -9`` during the COPY, with a QA role that is not a superuser (so the
  foreign keys are dropped and journaled): the journal in QA holds what was set
  aside, and rerunning ``pgferry migrate --yes`` puts everything back and
  completes the data.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.migrate_support import (
    assert_same_content,
    foreign_keys,
    give_database_to,
    journal_rows,
    kill_mid_copy,
    migrate_cli,
    run_as,
    run_migrate,
    sequences_healthy,
    spawn_migrate,
    triggers,
)
from tests.pgtest import Database, Server

SCHEMA = """
CREATE TABLE parent (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE child (
    id BIGSERIAL PRIMARY KEY,
    parent_id BIGINT NOT NULL REFERENCES parent (id),
    payload TEXT
);
CREATE TABLE note (id SERIAL PRIMARY KEY, child_id BIGINT REFERENCES child (id), body TEXT);
CREATE TABLE visit (parent_id BIGINT NOT NULL REFERENCES parent (id), at DATE NOT NULL)
    PARTITION BY RANGE (at);
CREATE TABLE visit_2024 PARTITION OF visit FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE visit_2025 PARTITION OF visit FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
"""

QA_EXTRAS = """
CREATE TABLE audit (n SERIAL PRIMARY KEY, tbl TEXT);
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.audit (tbl) VALUES (TG_TABLE_NAME); RETURN NULL; END $$;
CREATE TRIGGER audit_child AFTER INSERT ON child FOR EACH ROW EXECUTE FUNCTION audit_row();
"""

QA_STALE = """
INSERT INTO parent (id, payload) VALUES (1, 'stale'), (999999999, 'stale');
INSERT INTO child (parent_id, payload) VALUES (999999999, 'stale');
INSERT INTO note (child_id, body) VALUES (1, 'stale');
"""


def _prod(prod: Database, parents: int, width: int) -> None:
    prod.execute(SCHEMA)
    prod.execute(
        f"INSERT INTO parent (payload) SELECT repeat('p', {width}) || g "
        f"FROM generate_series(1, {parents}) g"
    )
    prod.execute(
        "INSERT INTO child (parent_id, payload) "
        "SELECT g * 7, 'c' || g FROM generate_series(1, 2000) g;"
        "INSERT INTO note (child_id, body) SELECT g, 'n' FROM generate_series(1, 500) g;"
        "INSERT INTO visit SELECT g * 11, DATE '2024-01-01' + g % 700 "
        "FROM generate_series(1, 1000) g;"
        "ANALYZE"
    )


ORPHANS = """
SELECT (SELECT count(*) FROM child c
        WHERE NOT EXISTS (SELECT FROM parent p WHERE p.id = c.parent_id))
     + (SELECT count(*) FROM note n WHERE n.child_id IS NOT NULL
          AND NOT EXISTS (SELECT FROM child c WHERE c.id = n.child_id))
     + (SELECT count(*) FROM visit v
        WHERE NOT EXISTS (SELECT FROM parent p WHERE p.id = v.parent_id))
"""


class Writer(threading.Thread):
    """Adds one parent and one child referencing it per transaction, bounded in time and count."""

    def __init__(self, db: Database, *, seconds: float = 30, limit: int = 50_000) -> None:
        super().__init__(name="prod-writer", daemon=True)
        self.db, self.seconds, self.limit = db, seconds, limit
        self.done = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        try:
            with psycopg.connect(self.db.url) as conn:
                while not self.stop.is_set() and self.done < self.limit:
                    if time.monotonic() > deadline:
                        break
                    with conn.transaction():
                        row = conn.execute(
                            "INSERT INTO parent (payload) VALUES ('live') RETURNING id"
                        ).fetchone()
                        assert row is not None
                        conn.execute(
                            "INSERT INTO child (parent_id, payload) VALUES (%s, 'live')", row
                        )
                    self.done += 1
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_production_under_writes_gives_a_consistent_qa(
    prod: Database, qa: Database, jobs: int
) -> None:
    # The parent table is the largest, so it is read first (jobs=1) or alongside
    # (jobs=2): read at their own moments, the child table would hold children
    # of parents added after the parents were read.
    _prod(prod, parents=200_000, width=80)
    qa.execute(SCHEMA)
    qa.execute(QA_STALE)
    writer = Writer(prod)
    writer.start()
    try:
        while writer.done < 20 and writer.is_alive():
            time.sleep(0.01)
        started_with = writer.done
        report = run_migrate(prod.url, qa.url, jobs=jobs)
        during = writer.done - started_with
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error
    assert during > 0, "production saw no writes during the migrate: the test proves nothing"

    assert report.ok, report.to_dict()
    assert all(c.ok for c in report.counts)
    assert qa.scalar(ORPHANS) == 0
    assert all(validated for _, _, validated, _ in foreign_keys(qa))
    live_parents = qa.scalar("SELECT count(*) FROM parent WHERE payload = 'live'")
    live_children = qa.scalar("SELECT count(*) FROM child WHERE payload = 'live'")
    assert live_parents == live_children >= 20
    # QA holds the snapshot, not what production wrote afterwards
    assert qa.scalar("SELECT count(*) FROM parent") == 200_000 + live_parents
    assert qa.scalar("SELECT count(*) FROM parent") < prod.scalar("SELECT count(*) FROM parent")
    assert sequences_healthy(qa) == []


@pytest.mark.slow
def test_kill_during_copy_then_rerun_completes(
    prod: Database, qa: Database, qa_server: Server, tmp_path: Path
) -> None:
    _prod(prod, parents=300_000, width=150)
    with qa_server.role("kill_test_app") as role:
        give_database_to(qa, role)
        run_as(qa, role, SCHEMA + QA_EXTRAS)
        qa.execute(QA_STALE)
        qa_url = qa.url_as(role, "secret-pw")
        fks_before, triggers_before = foreign_keys(qa), triggers(qa)
        audit_before = qa.scalar("SELECT count(*) FROM audit")

        proc = spawn_migrate(
            prod.url, qa_url, "--jobs", "2", "--report-dir", str(tmp_path), cwd=tmp_path
        )
        kill_mid_copy(proc, qa, timeout=30, settle=0.2)

        # No half tables: the table being copied is empty, every other one is
        # either complete or empty.
        assert qa.scalar("SELECT count(*) FROM parent") == 0
        for table in ("child", "note", "visit_2024", "visit_2025"):
            assert qa.scalar(f"SELECT count(*) FROM {table}") in (
                0,
                prod.scalar(f"SELECT count(*) FROM {table}"),
            ), table

        # What the killed run set aside is written down in QA itself.
        journal = qa.execute("SELECT kind, table_name, name FROM pgferry.journal ORDER BY id")
        fk_names = {fk[1] for fk in fks_before}
        present = {fk[1] for fk in foreign_keys(qa)}
        journaled = {name for kind, _, name in journal if kind == "fk"}
        assert journaled, journal
        assert journaled | present == fk_names, "a foreign key is neither in place nor journaled"
        assert ("trigger", "child", "audit_child") in journal
        assert not present & journaled

        ran = migrate_cli(prod, qa_url, "--yes", "--report-dir", str(tmp_path))
        assert ran.code == 0, ran.stderr + ran.stdout
        assert "put back" in ran.stdout

    assert_same_content(
        prod, qa, [("public", t) for t in ("parent", "child", "note", "visit_2024", "visit_2025")]
    )
    assert foreign_keys(qa) == fks_before
    assert all(validated for _, _, validated, _ in foreign_keys(qa))
    assert triggers(qa) == triggers_before
    assert journal_rows(qa) is None
    assert qa.scalar("SELECT count(*) FROM audit") == audit_before
    assert sequences_healthy(qa) == []
