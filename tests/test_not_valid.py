"""Foreign keys production itself holds NOT VALID are copied as production has them.

Production (OpenStreetMap has five) can hold a key NOT VALID over rows that
break it.  After ``migrate`` QA holds the same key NOT VALID, in both load modes
(superuser "replica" mode, and "constraints" mode for a QA owner that is not a
superuser, which drops and adds the keys through the journal); ``migrate`` and
``verify`` report it as production's state, with its orphans counted, and pass.
A key valid in production still comes back validated, or fails the run when
QA's data break it (see tests/test_migrate.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pgferry
from pgferry.doctor import Severity, health
from pgferry.verify import verify
from tests.migrate_support import (
    foreign_keys,
    give_database_to,
    journal_rows,
    migrate_cli,
    run_as,
    run_cli,
    run_migrate,
)
from tests.pgtest import Database, Server

SCHEMA = """
CREATE TABLE parent (id INT PRIMARY KEY, name TEXT);
CREATE TABLE child (id INT PRIMARY KEY, parent_id INT);
CREATE TABLE note (id INT PRIMARY KEY, parent_id INT);
CREATE TABLE item (id INT PRIMARY KEY, parent_id INT);
"""

#: child breaks its key twice; note's key is NOT VALID with no orphan; item's is valid
PROD = (
    SCHEMA
    + """
INSERT INTO parent VALUES (1, 'one'), (2, 'two');
INSERT INTO child VALUES (1, 1), (2, 42), (3, 43);
INSERT INTO note VALUES (1, 1), (2, 2);
INSERT INTO item VALUES (1, 2);
ALTER TABLE child ADD CONSTRAINT child_parent_fkey
    FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID;
ALTER TABLE note ADD CONSTRAINT note_parent_fkey
    FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID;
ALTER TABLE item ADD CONSTRAINT item_parent_fkey FOREIGN KEY (parent_id) REFERENCES parent (id);
"""
)

#: QA built by its migrations on an empty database: every key validated, stale rows
QA_VALID = (
    SCHEMA
    + """
INSERT INTO parent VALUES (7, 'stale');
INSERT INTO child VALUES (7, 7);
ALTER TABLE child ADD CONSTRAINT child_parent_fkey FOREIGN KEY (parent_id) REFERENCES parent (id);
ALTER TABLE note ADD CONSTRAINT note_parent_fkey FOREIGN KEY (parent_id) REFERENCES parent (id);
ALTER TABLE item ADD CONSTRAINT item_parent_fkey FOREIGN KEY (parent_id) REFERENCES parent (id);
"""
)

#: QA restored from production's schema: the same keys NOT VALID
QA_NOT_VALID = QA_VALID.replace("(id);\nALTER TABLE note", "(id) NOT VALID;\nALTER TABLE note")
QA_NOT_VALID = QA_NOT_VALID.replace("(id);\nALTER TABLE item", "(id) NOT VALID;\nALTER TABLE item")

EXPECTED_KEYS = [
    ("public.child", "child_parent_fkey", False),
    ("public.item", "item_parent_fkey", True),
    ("public.note", "note_parent_fkey", False),
]


def _qa(qa: Database, owner: str | None, script: str) -> str:
    if owner is None:
        qa.execute(script)
        return qa.url
    give_database_to(qa, owner)
    run_as(qa, owner, script)
    return qa.url_as(owner, "secret-pw")


@pytest.mark.parametrize("qa_keys", ["valid", "not-valid"])
@pytest.mark.parametrize("owner", [None, "notvalid_app"], ids=["replica", "constraints"])
def test_keys_not_valid_in_production_stay_not_valid_and_pass(
    prod: Database,
    qa: Database,
    qa_server: Server,
    owner: str | None,
    qa_keys: str,
    tmp_path: Path,
) -> None:
    prod.execute(PROD)
    with qa_server.role(owner or "unused_role"):
        qa_url = _qa(qa, owner, QA_VALID if qa_keys == "valid" else QA_NOT_VALID)
        ran = migrate_cli(prod, qa_url, "--yes", "--report-dir", str(tmp_path))
        assert ran.code == 0, ran.stderr + ran.stdout
        mode = "replica" if owner is None else "constraints"
        assert f"({mode} mode): verified" in ran.stdout
        assert "NOT VALID in production too (kept so)" in ran.stdout
        assert "child_parent_fkey on public.child" in ran.stdout
        assert "2 rows of public.child have no parent row" in ran.stdout
        assert "note_parent_fkey on public.note" in ran.stdout
        assert [fk[:3] for fk in foreign_keys(qa)] == EXPECTED_KEYS
        assert journal_rows(qa) is None

        report = json.loads(next(tmp_path.glob("migrate-*.json")).read_text())
        assert report["ok"] is True
        assert report["constraints_not_validated"] == []
        kept = {
            k["constraint"]: k["orphans"] for k in report["constraints_not_valid_in_production"]
        }
        assert kept == {"public.child.child_parent_fkey": 2, "public.note.note_parent_fkey": 0}
        assert {"done": True, "item": "foreign keys validated (0 left NOT VALID)"} in report[
            "checklist"
        ]
        md = next(tmp_path.glob("migrate-*.md")).read_text()
        assert "Foreign keys NOT VALID in production too (kept so" in md
        assert "`public.child.child_parent_fkey` (2 orphan rows)" in md
        assert "left NOT VALID (their data" not in md

        ran = run_cli("verify", "--from", prod.url, "--to", qa_url, "--checksums")
        assert ran.code == 0, ran.stderr + ran.stdout
        assert "QA matches production" in ran.stdout
        assert "NOT VALID in production too (kept so)" in ran.stdout
        assert "2 rows of public.child have no parent row" in ran.stdout

        # a second run finds QA as production has it and keeps it so
        again = run_migrate(prod.url, qa_url)
        assert again.ok, again.to_dict()
        assert [fk[:3] for fk in foreign_keys(qa)] == EXPECTED_KEYS


def test_verify_json_and_doctor_treat_them_as_production_state(
    prod: Database, qa: Database
) -> None:
    prod.execute(PROD)
    qa.execute(QA_VALID)
    assert run_migrate(prod.url, qa.url).ok

    report = verify(pgferry.parse(prod.url, role="prod"), pgferry.parse(qa.url, role="qa"))
    assert report.ok
    by_name = {f.name: f for f in report.foreign_keys}
    child = by_name["child_parent_fkey"]
    assert (child.status, child.orphans, child.ok) == ("not valid in production too", 2, True)
    assert "(parent_id)=(4" in child.example
    assert by_name["note_parent_fkey"].orphans == 0
    assert by_name["item_parent_fkey"].status == "ok"

    with (
        pgferry.connect(pgferry.parse(qa.url), autocommit=True) as conn,
        pgferry.connect(pgferry.parse(prod.url), autocommit=True) as src,
    ):
        d = health(conn, source_conn=src)
    assert d.problems == [], [f.to_dict() for f in d.findings]
    kept = [f for f in d.findings if f.title == "foreign key NOT VALID in production too"]
    assert {(f.constraint, dict(f.facts)["orphans"]) for f in kept} == {
        ("child_parent_fkey", 2),
        ("note_parent_fkey", 0),
    }
    assert all(f.severity is Severity.INFO and f.fix is None for f in kept)
    assert not [f for f in d.findings if f.fix and "VALIDATE" in f.fix]


def test_a_key_valid_in_production_is_validated_again_in_qa(prod: Database, qa: Database) -> None:
    """QA holds NOT VALID a key production holds valid: migrate validates it."""
    prod.execute(PROD)
    qa.execute(
        QA_NOT_VALID.replace(" REFERENCES parent (id);", " REFERENCES parent (id) NOT VALID;")
    )
    assert [fk[2] for fk in foreign_keys(qa)] == [False, False, False]
    report = run_migrate(prod.url, qa.url)
    assert report.ok, report.to_dict()
    assert [fk[:3] for fk in foreign_keys(qa)] == EXPECTED_KEYS


def test_a_key_valid_in_production_that_qa_data_break_still_fails(
    prod: Database, qa: Database
) -> None:
    """Production's valid key over a parent left out of the copy: reported, not kept."""
    prod.execute(PROD)
    qa.execute(QA_VALID + "INSERT INTO item VALUES (9, 7);")
    report = run_migrate(prod.url, qa.url, exclude=["parent"])
    assert not report.ok
    assert [n for n, _ in report.not_validated] == ["public.item.item_parent_fkey"]
    assert [f"{f.table}.{f.name}" for f in report.not_valid_in_production] == [
        "public.child.child_parent_fkey",
        "public.note.note_parent_fkey",
    ]
    assert [fk[:3] for fk in foreign_keys(qa)] == [
        ("public.child", "child_parent_fkey", False),
        ("public.item", "item_parent_fkey", False),
        ("public.note", "note_parent_fkey", False),
    ]
