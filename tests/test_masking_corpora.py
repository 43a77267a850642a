"""Masking schemas we did not write (../shared/corpora), the way a user would:
``pgferry pii scan`` suggests the rules, they are pasted into pgferry.toml
unchanged, ``mask check`` passes, a masked ``migrate`` (production PG 18, QA
PG 15) loads, and ``verify`` passes with its masked-column sample."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import pgferry
from pgferry.pii import scan
from tests.migrate_support import migrate_cli, run_cli
from tests.pgtest import Server
from tests.test_migrate_corpora import CASES as ROUND_TRIPS
from tests.test_migrate_corpora import _databases

pytestmark = pytest.mark.corpus

ENV = {"PGFERRY_MASK_KEY": "a-corpus-key-of-enough-bytes"}

#: per corpus (a round trip of test_migrate_corpora), columns that must be found and masked
CASES = {
    "chinook-serial": {("customer", "email"), ("customer", "last_name"), ("employee", "phone")},
    "northwind": {
        ("employees", "first_name"),
        ("customers", "address"),
        ("employees", "home_phone"),
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_scanned_rules_mask_a_corpus_end_to_end(
    prod_server: Server, qa_server: Server, case: str, tmp_path: Path
) -> None:
    wanted = CASES[case]
    prod, qa = _databases(prod_server, qa_server, next(c for c in ROUND_TRIPS if c.id == case))
    found = scan(pgferry.parse(prod.url, role="prod"))
    assert wanted <= {(f.table.name, f.column) for f in found.findings}
    (tmp_path / "pgferry.toml").write_text(found.toml())
    rules = tomllib.loads(found.toml())["mask"]
    assert rules, found.toml()

    checked = run_cli("mask", "check", "--from", prod.url, cwd=tmp_path, env=ENV)
    assert checked.code == 0, checked.stderr
    ran = migrate_cli(prod, qa, "--yes", cwd=tmp_path, env=ENV)
    assert ran.code == 0, ran.stderr
    verified = run_cli("verify", "--from", prod.url, "--to", qa.url, cwd=tmp_path, env=ENV)
    assert verified.code == 0, verified.stdout + verified.stderr
    rescan = run_cli("pii", "scan", "--from", prod.url, cwd=tmp_path)
    assert rescan.code == 0, rescan.stdout  # every finding has its rule now

    table, column = sorted(wanted)[0]
    query = f'SELECT count(*) FROM {table} WHERE "{column}" IS NOT NULL'
    assert qa.scalar(query) == prod.scalar(query)
    values = f'SELECT "{column}" FROM {table} ORDER BY 1 LIMIT 20'
    assert not set(qa.execute(values)) & set(prod.execute(values))
