"""``verify`` knows the masks (issue 14 point 8): on a sample of QA's rows, no masked
column holds production's value, while every other check still runs.

Production's values reach QA here only through the tests' own UPDATEs, to make a leak.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import pgferry
from pgferry.verify import CHANCE_KINDS, MaskCheck, verify
from tests.migrate_support import Ran, migrate_cli, run_cli
from tests.pgtest import Database

SCHEMA = """
CREATE TABLE clients (id int PRIMARY KEY, email text UNIQUE NOT NULL, grade text, note text);
CREATE TABLE visits (note text, contact text);  -- no key: compared by its unmasked columns
CREATE TABLE inbox (address text);              -- no key and nothing unmasked
"""
ROWS = """
INSERT INTO clients
  SELECT i, 'person' || i || '@corp.example', (i % 10)::text, 'note ' || i
  FROM generate_series(1, 200) i;
INSERT INTO visits SELECT 'visit ' || i, 'visitor' || i || '@corp.example'
  FROM generate_series(1, 50) i;
INSERT INTO inbox SELECT 'inbox' || i || '@corp.example' FROM generate_series(1, 30) i;
"""
TOML = """
[mask.clients]
email = "email"
grade = "digits"      # single digits: "0" is kept, 1-9 are permuted among themselves

[mask.visits]
contact = "email"

[mask.inbox]
address = "email"
"""
KEY = {"PGFERRY_MASK_KEY": "verify-knows-the-masks-key"}
#: what every production email here holds, and no masked one does
PRODUCTION = "@corp.example"


@pytest.fixture
def masked(prod: Database, qa: Database, tmp_path: Path) -> Path:
    """A masked QA, refreshed by ``pgferry migrate``; the folder with its pgferry.toml."""
    prod.execute(SCHEMA + ROWS)
    qa.execute(SCHEMA)
    (tmp_path / "pgferry.toml").write_text(TOML)
    ran = migrate_cli(prod, qa, "--yes", "--no-report", cwd=tmp_path, env=KEY)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert qa.scalar(f"SELECT count(*) FROM clients WHERE email LIKE '%{PRODUCTION}'") == 0
    return tmp_path


def _verify(prod: Database, qa: Database, folder: Path, *extra: str) -> Ran:
    return run_cli("verify", "--from", prod.url, "--to", qa.url, *extra, cwd=folder)


def _checks(ran: Ran) -> dict[str, dict[str, Any]]:
    """The JSON report's masked columns, by "table.column"."""
    found = json.loads(ran.stdout)["masked_columns"]
    return {f"{m['table']}.{m['column']}": m for m in found}


def _leak(prod: Database, qa: Database, table: str, column: str, by: str, which: str) -> None:
    """Copy production's *column* back into QA for the rows *which* picks, matched by *by*."""
    rows = prod.execute(f"SELECT {by}, {column} FROM {table} WHERE {which}")
    assert rows
    with qa.connect() as conn:
        for key, value in rows:
            conn.execute(f"UPDATE {table} SET {column} = %s WHERE {by} = %s", (value, key))


def test_verify_passes_on_a_masked_qa(prod: Database, qa: Database, masked: Path) -> None:
    ran = _verify(prod, qa, masked, "--checksums")
    assert ran.code == 0, ran.stdout + ran.stderr
    assert "4 masked columns checked on a sample" in ran.stdout
    ran = _verify(prod, qa, masked, "--json")
    assert ran.code == 0, ran.stdout + ran.stderr
    checks = _checks(ran)
    assert set(checks) == {
        "public.clients.email",
        "public.clients.grade",
        "public.visits.contact",
        "public.inbox.address",
    }
    assert all(m["ok"] for m in checks.values())
    assert checks["public.clients.email"]["compared_by"] == "key"
    assert checks["public.clients.email"]["sampled"] == 200  # the whole table fits the sample
    assert checks["public.visits.contact"]["compared_by"] == "row"
    assert checks["public.visits.contact"]["sampled"] == 50
    assert checks["public.inbox.address"]["sampled"] == 30


def test_a_small_domain_kind_tolerates_chance_coincidences(
    prod: Database, qa: Database, masked: Path
) -> None:
    """``digits`` keeps a lone "0" and permutes 1-9: a tenth of the grades at least
    are production's by design, and that is no leak."""
    assert "digits" in CHANCE_KINDS
    same = qa.scalar("SELECT count(*) FROM clients WHERE grade = '0'")
    assert same == 20
    ran = _verify(prod, qa, masked, "--json")
    assert ran.code == 0, ran.stdout + ran.stderr
    grade = _checks(ran)["public.clients.grade"]
    assert grade["ok"] and grade["tolerates_chance"]
    assert 20 <= grade["equal_to_production"] <= 100


def test_verify_fails_when_a_masked_column_holds_production_values(
    prod: Database, qa: Database, masked: Path
) -> None:
    _leak(prod, qa, "clients", "email", "id", "id IN (7, 8, 9)")
    ran = _verify(prod, qa, masked)
    assert ran.code == 1, ran.stdout + ran.stderr
    out = ran.stdout + ran.stderr
    assert "public.clients.email (masked as email): 3 of 200 sampled rows" in out
    assert "e.g. the row (id)=(7)" in out
    assert "rerun pgferry migrate with the [mask] rules" in out
    assert PRODUCTION not in out  # the key of a row, never its value
    assert "leaks" in out
    ran = _verify(prod, qa, masked, "--json")
    assert ran.code == 1
    assert PRODUCTION not in ran.stdout
    email = _checks(ran)["public.clients.email"]
    assert (email["ok"], email["equal_to_production"], email["example_key"]) == (
        False,
        3,
        "(id)=(7)",
    )
    assert json.loads(ran.stdout)["tables"]  # the row counts still reported, and equal
    assert all(t["ok"] for t in json.loads(ran.stdout)["tables"])


def test_a_keyless_table_is_compared_by_its_unmasked_columns(
    prod: Database, qa: Database, masked: Path
) -> None:
    _leak(prod, qa, "visits", "contact", "note", "note IN ('visit 3', 'visit 4')")
    ran = _verify(prod, qa, masked)
    assert ran.code == 1, ran.stdout + ran.stderr
    assert "public.visits.contact (masked as email): 2 of 50 sampled rows" in ran.stdout
    assert "e.g. the row at ctid (" in ran.stdout
    assert PRODUCTION not in ran.stdout + ran.stderr


def test_a_table_with_every_column_masked_is_compared_against_the_whole_column(
    prod: Database, qa: Database, masked: Path
) -> None:
    value = prod.scalar("SELECT address FROM inbox WHERE address LIKE 'inbox12@%'")
    qa.execute("UPDATE inbox SET address = %s WHERE ctid = (SELECT min(ctid) FROM inbox)", [value])
    ran = _verify(prod, qa, masked, "--json")
    assert ran.code == 1, ran.stdout + ran.stderr
    inbox = _checks(ran)["public.inbox.address"]
    assert (inbox["ok"], inbox["equal_to_production"], inbox["sampled"]) == (False, 1, 30)
    assert PRODUCTION not in ran.stdout


def test_a_small_domain_column_left_unmasked_fails(
    prod: Database, qa: Database, masked: Path
) -> None:
    _leak(prod, qa, "clients", "grade", "id", "true")
    ran = _verify(prod, qa, masked)
    assert ran.code == 1, ran.stdout + ran.stderr
    assert "public.clients.grade (masked as digits): 200 of 200 sampled rows" in ran.stdout
    assert "the column looks unmasked" in ran.stdout


def test_the_sample_is_bounded(prod: Database, qa: Database, masked: Path) -> None:
    _leak(prod, qa, "clients", "email", "id", "true")  # every row leaks: any sample sees it
    report = verify(
        pgferry.parse(prod.url, role="prod"),
        pgferry.parse(qa.url, role="qa"),
        masked={"clients": {"email": "email"}},
        mask_sample=25,
        inserts=False,
    )
    assert not report.ok
    (email,) = report.masks
    assert isinstance(email, MaskCheck)
    assert 0 < email.compared <= 25 and email.equal == email.compared
    assert [t.ok for t in report.tables] == [True, True, True]
    with pytest.raises(ValueError, match="at least 1"):
        verify(pgferry.parse(prod.url), pgferry.parse(qa.url), masked={}, mask_sample=0)


def test_kept_columns_are_not_checked(prod: Database, qa: Database) -> None:
    prod.execute(SCHEMA + ROWS)
    qa.execute(SCHEMA)
    assert migrate_cli(prod, qa, "--yes", "--no-report").code == 0  # unmasked
    report = verify(
        pgferry.parse(prod.url, role="prod"),
        pgferry.parse(qa.url, role="qa"),
        masked={"clients": {"note": "keep", "email": "email"}},
        inserts=False,
    )
    assert [(m.column, m.ok, m.equal) for m in report.masks] == [("email", False, 200)]


def test_partitions_are_compared_by_their_parent_s_key(prod: Database, qa: Database) -> None:
    schema = """
    CREATE TABLE events (id int, at date, email text, PRIMARY KEY (id, at))
      PARTITION BY RANGE (at);
    CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    """
    prod.execute(
        schema + "INSERT INTO events SELECT i, date '2024-06-01' + i, 'e' || i || '@corp.example' "
        "FROM generate_series(1, 400) i"
    )
    qa.execute(schema)
    rules = {"events_2024": {"email": "email"}, "events_2025": {"email": "email"}}
    report = verify(
        pgferry.parse(prod.url, role="prod"),
        pgferry.parse(qa.url, role="qa"),
        masked=rules,
        mask_sample=50,
        inserts=False,
    )
    # QA is empty: the counts differ, but nothing is sampled and nothing leaks
    assert [(m.compared, m.ok) for m in report.masks] == [(0, True), (0, True)]
    assert migrate_cli(prod, qa, "--yes", "--no-report").code == 0  # unmasked: every row leaks
    report = verify(
        pgferry.parse(prod.url, role="prod"),
        pgferry.parse(qa.url, role="qa"),
        masked=rules,
        mask_sample=50,
        inserts=False,
    )
    assert sorted((m.table.name, m.ok, m.by_key) for m in report.masks) == [
        ("events_2024", False, True),
        ("events_2025", False, True),
    ]
    assert all(0 < m.compared <= 50 and m.equal == m.compared for m in report.masks)
    assert all(m.example.startswith("(id, at)=(") for m in report.masks)
