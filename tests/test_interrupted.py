"""A load that stops part-way: QA is never called healthy over a broken key, every object
set aside comes back exactly, and recovery completes whatever changed since (issue 12,
points 1 to 3)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import pgferry
from pgferry import journal
from pgferry.errors import ExitCode
from tests.migrate_support import (
    foreign_keys,
    give_database_to,
    journal_rows,
    kill_mid_copy,
    migrate_cli,
    run_as,
    run_cli,
    run_migrate,
    spawn_migrate,
)
from tests.pgtest import Database, Server

SCHEMA = """
CREATE TABLE parent (id int PRIMARY KEY, v {vtype});
CREATE TABLE child (id int PRIMARY KEY, p int NOT NULL REFERENCES parent, pad text);
"""

#: child rows whose parent is missing while the key says it holds
VALID_ORPHANS = """
SELECT count(*) FROM child c
WHERE NOT EXISTS (SELECT FROM parent p WHERE p.id = c.p)
  AND (SELECT convalidated FROM pg_constraint WHERE conname = 'child_p_fkey')
"""


def _production(prod: Database, *, parents: int, children: int, bad: bool) -> None:
    prod.execute(SCHEMA.format(vtype="text"))
    prod.execute(f"INSERT INTO parent SELECT g, 'ok' FROM generate_series(1, {parents}) g")
    # the child table is the larger: with one worker it is loaded first
    prod.execute(
        f"INSERT INTO child SELECT g, 1 + g % {parents}, repeat('x', 200) "
        f"FROM generate_series(1, {children}) g"
    )
    if bad:  # one parent that does not fit QA's varchar(3): that table fails (exit 8)
        prod.execute("UPDATE parent SET v = 'much too long' WHERE id = 7")
    prod.execute("ANALYZE")


def _qa(qa: Database) -> None:
    qa.execute(SCHEMA.format(vtype="varchar(3)"))
    qa.execute("INSERT INTO parent VALUES (1, 'old'); INSERT INTO child VALUES (1, 1, 'old')")


def _mid_refresh_everywhere(prod: Database, qa: Database) -> None:
    """Every command that reads QA says it is mid-refresh, and what to run."""
    doctor = run_cli("doctor", "--db", qa.url)
    assert doctor.code == ExitCode.FOUND, doctor.stdout + doctor.stderr
    assert "mid-refresh" in doctor.stdout, doctor.stdout
    assert "nothing wrong" not in doctor.stdout
    verify = run_cli("verify", "--from", prod.url, "--to", qa.url)
    assert verify.code == ExitCode.FOUND, verify.stdout + verify.stderr
    assert "mid-refresh" in verify.stdout + verify.stderr
    for args in (
        ("sequences", "check", "--db", qa.url),
        ("preflight", "--from", prod.url, "--to", qa.url),
        ("schema", "diff", "--from", prod.url, "--to", qa.url),
    ):
        ran = run_cli(*args)
        said = ran.stdout + ran.stderr
        assert "mid-refresh" in said and "pgferry migrate" in said, (args, said)


@pytest.mark.slow
def test_a_failed_replica_load_leaves_no_valid_key_over_orphans(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _production(prod, parents=50, children=2_000, bad=True)
    _qa(qa)
    # QA is reached as a superuser: replica mode, the key stays in place during the load
    ran = migrate_cli(prod, qa, "--yes", "--jobs", "1", "--report-dir", str(tmp_path))
    assert ran.code == ExitCode.COPY, ran.stdout + ran.stderr
    assert qa.scalar("SELECT count(*) FROM child") == 2_000  # loaded before parent failed
    assert qa.scalar("SELECT count(*) FROM parent") == 0
    assert qa.scalar(VALID_ORPHANS) == 0, "a key marked valid over rows that break it"
    assert qa.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'child_p_fkey'") == 1

    # the report of the stopped run ticks nothing it did not do, and says what is left
    (md,) = tmp_path.glob("migrate-*.md")
    text = md.read_text()
    assert "STOPPED" in text
    assert "[x] foreign keys" not in text, text
    assert "mid-refresh" in text and "child_p_fkey" in text, text
    data = json.loads(next(tmp_path.glob("migrate-*.json")).read_text())
    assert data["mid_refresh"] and data["constraints_not_validated"], data

    _mid_refresh_everywhere(prod, qa)

    prod.execute("UPDATE parent SET v = 'ok' WHERE id = 7")
    report = run_migrate(prod.url, qa.url, jobs=1)
    assert report.ok, report.to_dict()
    assert report.mid_refresh is None
    assert [(t, n, v) for t, n, v, _ in foreign_keys(qa)] == [
        ("public.child", "child_p_fkey", True)
    ]
    assert journal_rows(qa) is None, "the journal's schema outlived the refresh"
    doctor = run_cli("doctor", "--db", qa.url)
    assert "mid-refresh" not in doctor.stdout


def _copying_parent(qa: Database) -> bool:
    return bool(
        qa.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgferry load' "
            "AND state = 'active' AND query ILIKE 'COPY%parent%'"
        )
    )


@pytest.mark.slow
def test_after_kill_9_in_replica_mode_every_command_says_mid_refresh(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    prod.execute(SCHEMA.format(vtype="text"))
    # parent is the largest table, so it is copied while child is done
    prod.execute("INSERT INTO parent SELECT g, repeat('p', 300) FROM generate_series(1, 300000) g")
    prod.execute("INSERT INTO child SELECT g, g, 'c' FROM generate_series(1, 2000) g")
    prod.execute("ANALYZE")
    qa.execute(SCHEMA.format(vtype="text"))
    qa.execute("INSERT INTO parent VALUES (1, 'old'); INSERT INTO child VALUES (1, 1, 'old')")
    proc = spawn_migrate(prod.url, qa.url, "--no-backup", "--jobs", "2", cwd=tmp_path)
    kill_mid_copy(proc, qa, when=_copying_parent, settle=0.3, what="parent never copied")

    with pgferry.connect(pgferry.parse(qa.url), read_only=True) as conn:
        (left,) = journal.unfinished(conn)
    assert left.tables == 2
    _mid_refresh_everywhere(prod, qa)

    report = run_migrate(prod.url, qa.url, jobs=2)
    assert report.ok, report.to_dict()
    assert qa.scalar(VALID_ORPHANS) == 0
    assert all(v for _, _, v, _ in foreign_keys(qa))
    assert journal_rows(qa) is None


# -- point 2: objects come back exactly -----------------------------------------------------


def _schema_dump(db: Database) -> str:
    """QA's schema as pg_dump shows it (without its random \\restrict key)."""
    text = subprocess.run(
        [str(db.server.cluster.install.tool("pg_dump")), "--schema-only", "--dbname", db.url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(ln for ln in text.splitlines() if not re.match(r"^\\(un)?restrict ", ln))


def _tablespace(server: Server, name: str) -> str:
    folder = server.cluster.basedir / name
    folder.mkdir()
    user = server.cluster._user  # the cluster's own unprivileged user
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    server.admin.execute(f"CREATE TABLESPACE {name} LOCATION '{folder}'")
    return name


DETAILS = """
CREATE INDEX "ix V" ON child (pad, (lower(pad))) TABLESPACE {ts};
ALTER INDEX "ix V" ALTER COLUMN 2 SET STATISTICS 500;
ALTER TABLE child CLUSTER ON "ix V";
COMMENT ON INDEX "ix V" IS 'pad lookups';
COMMENT ON CONSTRAINT child_p_fkey ON child IS 'every child has a parent';
ALTER TABLE child ALTER COLUMN pad SET STATISTICS 300;
"""


@pytest.mark.parametrize("as_owner", [True, False], ids=["constraints-mode", "replica-mode"])
def test_a_clean_run_leaves_the_schema_exactly_as_it_was(
    prod: Database, qa: Database, qa_server: Server, as_owner: bool
) -> None:
    # 12,000 rows: the index is set aside for the load and built again afterwards
    _production(prod, parents=100, children=12_000, bad=False)
    ts = _tablespace(qa_server, f"ts_{qa.name}")
    with qa_server.role("details_app") as role:
        qa.server.admin.execute(f"GRANT CREATE ON TABLESPACE {ts} TO {role}")
        give_database_to(qa, role)
        run_as(qa, role, SCHEMA.format(vtype="text") + DETAILS.format(ts=ts))
        url = qa.url_as(role, "secret-pw") if as_owner else qa.url
        before = _schema_dump(qa)
        report = run_migrate(prod.url, url, jobs=2)
        assert report.ok, report.to_dict()
        assert report.mode == ("constraints" if as_owner else "replica")
        assert qa.scalar("SELECT count(*) FROM child") == 12_000
        after = _schema_dump(qa)
    assert "TABLESPACE" in before or "default_tablespace" in before
    assert "CLUSTER ON" in before and "SET STATISTICS 500" in before
    assert after == before


# -- point 3: recovery completes --------------------------------------------------------------


@pytest.mark.slow
def test_a_journaled_table_dropped_since_does_not_block_the_next_run(
    prod: Database, qa: Database
) -> None:
    for db in (prod, qa):
        db.execute(SCHEMA.format(vtype="text"))
        db.execute("CREATE TABLE gone (id int PRIMARY KEY, p int REFERENCES parent)")
        db.execute("CREATE INDEX gone_p ON gone (p)")
    qa.execute("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$")
    qa.execute("CREATE TRIGGER audit AFTER INSERT ON child FOR EACH ROW EXECUTE FUNCTION f()")
    prod.execute("INSERT INTO parent VALUES (1, 'a'); INSERT INTO child VALUES (1, 1, 'c')")
    with pgferry.connect(pgferry.parse(qa.url), autocommit=True) as conn:
        catalog = pgferry.read_catalog(conn)
        journal.set_aside(
            conn,
            "killed-run",
            list(catalog.foreign_keys()),
            list(catalog.triggers),
            [ix for ix in catalog.indexes if ix.name == "gone_p"],
        )
    # as after kill -9, then a migration (Prisma's, say) removes a table
    prod.execute("DROP TABLE gone")
    qa.execute("DROP TABLE gone")
    ran = migrate_cli(prod, qa, "--yes")
    assert ran.code == 0, ran.stdout + ran.stderr
    assert "gone" in ran.stdout + ran.stderr and "no longer exists" in ran.stdout + ran.stderr
    assert [(t, n, v) for t, n, v, _ in foreign_keys(qa)] == [
        ("public.child", "child_p_fkey", True)
    ]
    assert qa.scalar("SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit'") == "O"
    assert journal_rows(qa) is None
