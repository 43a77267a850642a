"""``pgferry preflight``: every line on real servers, and each turned red by a fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.backup_support import SCHEMA, build_app, state
from tests.migrate_support import migrate_cli, run_cli
from tests.pgtest import Database, Server

KEYS = [
    "prod",
    "qa",
    "qa_state",
    "versions",
    "tools",
    "source_privileges",
    "rls",
    "target_privileges",
    "backup",
    "schema",
    "space",
    "sessions",
    "estimate",
]


def _marks(prod_url: str, qa_url: str, *extra: str) -> tuple[int, dict[str, dict[str, str]]]:
    ran = run_cli("preflight", "--from", prod_url, "--to", qa_url, "--json", *extra)
    assert ran.code in (0, 1), ran.stderr
    data = json.loads(ran.stdout)
    return ran.code, {c["check"]: c for c in data["checks"]}


@pytest.fixture
def app(prod: Database, qa: Database) -> tuple[Database, Database]:
    build_app(prod)
    qa.execute(SCHEMA)
    return prod, qa


def test_all_lines_pass_on_a_ready_pair(app: tuple[Database, Database], tmp_path: Path) -> None:
    prod, qa = app
    code, lines = _marks(prod.url, qa.url)
    assert list(lines) == KEYS
    assert code == 0, lines
    assert {k for k, c in lines.items() if c["mark"] != "ok"} <= {"space", "tools"}
    assert "cannot be known from SQL" in lines["space"]["reason"]
    assert "assumes" in lines["estimate"]["reason"]
    assert lines["backup"]["reason"].startswith("template")
    human = run_cli("preflight", "--from", prod.url, "--to", qa.url)
    assert human.code == 0 and "ready: no line fails" in human.stdout
    assert "s3cr3t" not in human.stdout + human.stderr


def test_missing_select_on_production(app: tuple[Database, Database], prod_server: Server) -> None:
    prod, qa = app
    with prod_server.role("pf_reader") as role:
        prod.execute(
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}; "
            f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}; "
            f'REVOKE SELECT ON "Order" FROM {role}'
        )
        code, lines = _marks(prod.url_as(role, "secret-pw"), qa.url)
    assert code == 1
    assert lines["source_privileges"]["mark"] == "fail"
    assert "Order" in lines["source_privileges"]["reason"]


def test_rls_without_bypassrls(app: tuple[Database, Database], prod_server: Server) -> None:
    prod, qa = app
    with prod_server.role("pf_rls") as role:
        prod.execute(
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}; "
            f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}; "
            'ALTER TABLE "Client" ENABLE ROW LEVEL SECURITY; '
            'CREATE POLICY mine ON "Client" USING (false)'
        )
        code, lines = _marks(prod.url_as(role, "secret-pw"), qa.url)
    assert code == 1
    assert lines["rls"]["mark"] == "fail" and "Client" in lines["rls"]["reason"]
    assert "BYPASSRLS" in lines["rls"]["fix"]
    assert lines["source_privileges"]["mark"] == "ok"


def test_qa_role_that_may_not_write(app: tuple[Database, Database], qa_server: Server) -> None:
    prod, qa = app
    with qa_server.role("pf_writer") as role:
        qa.execute(
            f"GRANT USAGE ON SCHEMA public TO {role}; "
            f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {role}"
        )
        code, lines = _marks(prod.url, qa.url_as(role, "secret-pw"))
    assert code == 1
    reason = lines["target_privileges"]["reason"]
    assert lines["target_privileges"]["mark"] == "fail"
    assert "TRUNCATE" in reason and "ownership" in reason and "UPDATE on sequence" in reason
    # and no backup is possible for it either: no CREATEDB, and it may not read everything
    assert lines["backup"]["mark"] in ("ok", "fail")


def test_drifted_schema(app: tuple[Database, Database]) -> None:
    prod, qa = app
    qa.execute('ALTER TABLE "Order" DROP COLUMN "total" CASCADE')
    code, lines = _marks(prod.url, qa.url)
    assert code == 1
    assert lines["schema"]["mark"] == "fail" and "total" in lines["schema"]["reason"]
    assert "schema diff: " in lines["schema"]["reason"]
    assert "pgferry schema push" in lines["schema"]["fix"]


@pytest.mark.slow
def test_sessions_open_on_qa(app: tuple[Database, Database], tmp_path: Path) -> None:
    prod, qa = app
    with qa.connect(autocommit=False) as idle:
        idle.execute('SELECT count(*) FROM "Client"')  # and leaves the transaction open
        code, lines = _marks(prod.url, qa.url)
        assert code == 1
        assert lines["sessions"]["mark"] == "fail"
        assert "idle in transaction" in lines["sessions"]["reason"]
        # migrate runs the same line first and stops before writing
        before = state(qa)
        ran = migrate_cli(prod, qa, "--yes", cwd=tmp_path)
        assert ran.code == 6, ran.stderr
        assert "preflight: sessions on QA" in ran.stderr and "nothing was written" in ran.stderr
        idle.rollback()
    assert state(qa) == before
    with qa.connect() as plain:  # an app simply connected: a warning, not a failure
        plain.execute("SELECT 1")
        code, lines = _marks(prod.url, qa.url)
        assert lines["sessions"]["mark"] == "warn" and code == 0
        code, lines = _marks(prod.url, qa.url, "--strategy", "swap")
        assert lines["sessions"]["mark"] == "fail" and "--force" in lines["sessions"]["fix"]
        code, lines = _marks(prod.url, qa.url, "--strategy", "swap", "--force")
        assert lines["sessions"]["mark"] == "warn" and code == 0


def test_preflight_takes_migrates_table_selection(app: tuple[Database, Database]) -> None:
    prod, qa = app
    qa.execute('ALTER TABLE "Order" DROP COLUMN "total" CASCADE')
    code, lines = _marks(prod.url, qa.url)
    assert code == 1 and lines["schema"]["mark"] == "fail"
    code, lines = _marks(prod.url, qa.url, "--tables", "ticket", "--tables", "audit")
    assert code == 0 and lines["schema"]["mark"] != "fail", lines["schema"]


def test_a_server_that_cannot_be_reached(qa: Database) -> None:
    bad = qa.url.rsplit(":", 1)[0] + ":1/nowhere"
    code, lines = _marks(bad, qa.url)
    assert code == 1
    assert lines["prod"]["mark"] == "fail" and "cannot connect" in lines["prod"]["reason"]
    assert lines["qa"]["mark"] == "ok"
    ran = run_cli("preflight", "--from", bad, "--to", qa.url)
    assert "s3cr3t" not in ran.stdout + ran.stderr
