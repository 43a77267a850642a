"""Errors that must be one clear line with a documented exit code (issue 12, "Why" 9).

Each case is provoked for real on the test clusters: an unwritable report folder,
SIGTERM and SIGHUP mid-COPY, a full tablespace on QA, either side's session ended
mid-COPY (what a server restart does to it), a backup database the role may not
connect to, a rerun in the same second as an interrupted backup, and production
without ``EXECUTE`` on ``pg_control_system()``.
"""

from __future__ import annotations

from pathlib import Path

from tests.migrate_support import migrate_cli
from tests.pgtest import Database

SCHEMA = """
CREATE TABLE parent (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE child (
    id BIGSERIAL PRIMARY KEY,
    parent_id BIGINT NOT NULL REFERENCES parent (id),
    payload TEXT
);
CREATE INDEX child_payload ON child (payload);
"""


def _small(prod: Database, qa: Database) -> None:
    """Both sides hold the schema; production ten rows, QA one stale row."""
    prod.execute(
        SCHEMA + "INSERT INTO parent (payload) SELECT 'p' || g FROM generate_series(1, 10) g;"
        "INSERT INTO child (parent_id, payload) SELECT g, 'c' FROM generate_series(1, 10) g;"
    )
    qa.execute(SCHEMA + "INSERT INTO parent (payload) VALUES ('stale');")


def test_unwritable_report_folder_is_refused_before_qa_is_written(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _small(prod, qa)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the report folder would go\n")
    folder = blocker / "runs"

    ran = migrate_cli(prod, qa, "--yes", "--report-dir", str(folder))

    assert ran.code == 2, ran.stderr + ran.stdout
    errors = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, ran.stderr
    assert str(folder) in errors[0]
    assert "Traceback" not in ran.stderr
    assert qa.execute("SELECT payload FROM parent") == [("stale",)]  # QA not touched
