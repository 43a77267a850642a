"""``pgferry migrate`` refuses before writing anything, and never writes to production.

Every refusal is checked the same way: the right error class and exit code, a
message naming the object, and QA exactly as it was (its stale row still there,
no ``pgferry`` schema created).
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import pgferry
from pgferry.errors import CopyFailed, ExitCode, PrivilegeError, RefusedError, SchemaMismatch
from pgferry.migrate import MigrateOptions, migrate
from tests.migrate_support import (
    assert_same_content,
    fingerprints,
    foreign_keys,
    migrate_cli,
    run_cli,
    run_migrate,
    sequences_healthy,
)
from tests.pgtest import SUPERUSER_PASSWORD, Database, Server
from tests.test_migrate import PROD_HISTORY, SCHEMA, prod_rows

BASE = """
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE parent (id INT PRIMARY KEY, name TEXT, mood mood);
CREATE TABLE child (id INT PRIMARY KEY, parent_id INT REFERENCES parent (id), note TEXT);
"""
PROD_DATA = """
INSERT INTO parent VALUES (1, 'p1', 'ok'), (2, 'p2', 'sad');
INSERT INTO child VALUES (1, 1, 'c1'), (2, 2, 'c2');
"""
QA_STALE = """
INSERT INTO parent VALUES (50, 'stale', 'sad');
INSERT INTO child VALUES (50, 50, 'stale');
"""

_QA_UNTOUCHED = "SELECT (SELECT count(*) FROM parent) = 1 AND (SELECT count(*) FROM child) = 1 \
AND EXISTS (SELECT FROM parent WHERE id = 50) AND to_regnamespace('pgferry') IS NULL"


def _pair(prod: Database, qa: Database, prod_ddl: str = "", qa_ddl: str = "") -> None:
    prod.execute(BASE + prod_ddl)
    prod.execute(PROD_DATA)
    qa.execute(BASE)
    qa.execute(QA_STALE)
    if qa_ddl:
        qa.execute(qa_ddl)


def assert_untouched(qa: Database) -> None:
    assert qa.scalar(_QA_UNTOUCHED), "QA was written to"
    assert all(v for _, _, v, _ in foreign_keys(qa))
    assert len(foreign_keys(qa)) == 1


# -- schema mismatches (point 1) ----------------------------------------------------

MISMATCHES = {
    "table-missing": (
        "CREATE TABLE extra (id INT); INSERT INTO extra VALUES (1);",
        "",
        {},
        "table public.extra does not exist in QA",
    ),
    "column-missing": (
        "",
        "ALTER TABLE parent DROP COLUMN name;",
        {},
        "column public.parent.name is missing in QA",
    ),
    "incompatible-type": (
        "",
        "ALTER TABLE child ALTER COLUMN note TYPE INTEGER USING 0;",
        {},
        "public.child.note is text in production but integer in QA",
    ),
    "enum-label": (
        "ALTER TYPE mood ADD VALUE 'happy';",
        "",
        {},
        "enum public.mood in QA lacks label 'happy' used by public.parent.mood",
    ),
    "not-null-without-default": (
        "",
        "ALTER TABLE parent ADD COLUMN code TEXT NOT NULL DEFAULT 'x';"
        "ALTER TABLE parent ALTER COLUMN code DROP DEFAULT;",
        {},
        "QA column public.parent.code is NOT NULL without a default",
    ),
    "excluded-table-references-copy": (
        "",
        "",
        {"exclude": ["child"]},
        "public.child is not copied but its foreign key child_parent_id_fkey references "
        "public.parent",
    ),
}


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_schema_mismatch_refused_before_any_write(prod: Database, qa: Database, case: str) -> None:
    prod_ddl, qa_ddl, options, message = MISMATCHES[case]
    _pair(prod, qa, prod_ddl, qa_ddl)
    with pytest.raises(SchemaMismatch) as caught:
        run_migrate(prod.url, qa.url, **options)
    assert message in caught.value.message
    assert "nothing was written" in caught.value.message
    assert caught.value.exit_code == ExitCode.SCHEMA == 7
    assert_untouched(qa)


@pytest.mark.slow
def test_every_problem_is_named_and_the_cli_exits_7(prod: Database, qa: Database) -> None:
    _pair(
        prod,
        qa,
        "ALTER TYPE mood ADD VALUE 'happy';",
        "ALTER TABLE parent DROP COLUMN name;ALTER TABLE child ALTER COLUMN note TYPE INT USING 0;",
    )
    ran = migrate_cli(prod, qa, "--yes", "--no-report")
    assert ran.code == 7, ran.stderr
    for fragment in (
        "public.parent.name is missing in QA",
        "public.child.note is text in production but integer in QA",
        "lacks label 'happy'",
    ):
        assert fragment in ran.stderr
    assert_untouched(qa)
    # --dry-run prints the same problems and exits 7 as well
    dry = migrate_cli(prod, qa, "--dry-run", "--json")
    assert dry.code == 7
    problems = json.loads(dry.stdout)["plan"]["problems"]
    assert sum(p["severity"] == "blocking" for p in problems) == 3
    assert_untouched(qa)


# -- guarding the target (point 3) ------------------------------------------------------


def test_target_is_the_source(prod: Database, prod_server: Server) -> None:
    prod.execute(BASE + PROD_DATA)
    with pytest.raises(RefusedError, match="production database itself"):
        run_migrate(prod.url, prod.url)
    # the same database reached as another role, through another spelling of the URL
    with prod_server.role("same_db_app") as role:
        prod.execute(
            sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(role))
        )
        other = prod.url_as(role, "secret-pw").replace("127.0.0.1", "localhost")
        with pytest.raises(RefusedError, match="production database itself") as caught:
            run_migrate(prod.url, other)
    assert caught.value.exit_code == 6
    assert prod.scalar("SELECT count(*) FROM parent") == 2
    assert prod.scalar("SELECT to_regnamespace('pgferry') IS NULL")


def test_protected_pattern_refused(prod: Database, qa: Database, tmp_path: Path) -> None:
    _pair(prod, qa)
    with pytest.raises(RefusedError, match=r"protected pattern '\*qa\*'"):
        run_migrate(prod.url, qa.url, protected=["*prod*", "*qa*"])
    assert_untouched(qa)
    config = tmp_path / "pgferry.toml"
    config.write_text(f'[target]\nprotected = ["{qa.name}"]\n', encoding="utf-8")
    ran = migrate_cli(prod, qa, "--yes", "--config", str(config), "--report-dir", str(tmp_path))
    assert ran.code == 6, ran.stderr
    assert "protected" in ran.stderr and qa.name in ran.stderr
    assert_untouched(qa)
    assert not list(tmp_path.glob("migrate-*"))


def test_no_confirmation_without_a_terminal(prod: Database, qa: Database, tmp_path: Path) -> None:
    _pair(prod, qa)
    ran = migrate_cli(prod, qa, "--report-dir", str(tmp_path))
    assert ran.code == 6, ran.stderr
    assert "without confirmation" in ran.stderr and "--yes" in ran.stderr
    assert_untouched(qa)


def test_confirm_callback_declines(prod: Database, qa: Database) -> None:
    _pair(prod, qa)
    asked: list[str] = []

    def decline(plan: object, dbname: str) -> bool:
        asked.append(dbname)
        return False

    with pytest.raises(RefusedError, match="not confirmed"):
        migrate(pgferry.parse(prod.url), pgferry.parse(qa.url), MigrateOptions(), confirm=decline)
    assert asked == [qa.name]
    assert_untouched(qa)


def test_dry_run_prints_the_plan_and_writes_nothing(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _pair(prod, qa)
    ran = migrate_cli(prod, qa, "--dry-run", "--report-dir", str(tmp_path))
    assert ran.code == 0, ran.stderr
    assert "public.parent" in ran.stdout and "public.child" in ran.stdout
    assert "would empty 2 QA tables" in ran.stdout
    assert_untouched(qa)
    dry = migrate_cli(prod, qa, "--dry-run", "--json")
    assert dry.code == 0, dry.stderr
    plan = json.loads(dry.stdout)["plan"]
    assert [t["target"] for t in plan["tables"]] == ["public.parent", "public.child"]
    assert plan["truncate"] == ["public.child", "public.parent"]
    assert plan["problems"] == []
    assert_untouched(qa)
    assert not list(tmp_path.iterdir())


def test_cli_run_with_json_and_report(prod: Database, qa: Database, tmp_path: Path) -> None:
    _pair(prod, qa)
    ran = migrate_cli(prod, qa, "--yes", "--json", "--report-dir", str(tmp_path))
    assert ran.code == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out["ok"] is True
    assert {c["table"]: c["qa"] for c in out["counts"]} == {
        "public.parent": 2,
        "public.child": 2,
    }
    assert SUPERUSER_PASSWORD not in ran.stdout + ran.stderr  # the password is masked
    assert SUPERUSER_PASSWORD not in "".join(p.read_text() for p in tmp_path.iterdir())
    reports = sorted(p.suffix for p in tmp_path.iterdir())
    assert reports == [".json", ".log", ".md"]
    log = next(tmp_path.glob("*.log")).read_text()
    assert "done public.child: 2 rows" in log and "emptied 2 tables" in log
    assert_same_content(prod, qa)


# -- safe casts (point 5) ----------------------------------------------------------------


def test_safe_casts_copy_and_warn(prod: Database, qa: Database) -> None:
    prod.execute("""
        CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(50), n INT, at TIMESTAMP);
        INSERT INTO t VALUES (1, 'a', -2147483648, '2024-01-01 12:00'), (2, NULL, 2147483647,
                              'infinity'), (3, repeat('x', 50), NULL, NULL);
    """)
    qa.execute("""
        CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT, n BIGINT, at TIMESTAMP);
        INSERT INTO t VALUES (9, 'stale', 9, now());
    """)
    report = run_migrate(prod.url, qa.url)
    assert report.ok
    warnings = [p.message for p in report.plan.warnings]
    assert any(
        "public.t.v is character varying(50) in production and text in QA" in w for w in warnings
    ), warnings
    assert any("public.t.n is integer in production and bigint in QA" in w for w in warnings)
    assert any("public.t.id" in w for w in warnings)
    assert not any("jsonb" in w for w in warnings)
    # every cast here is one production's server makes exactly: binary COPY stays
    assert [r.table.binary for r in report.results] == [True]
    assert {c.column: c.explicit for c in report.results[0].table.casts} == {
        "id": True,
        "v": True,
        "n": True,
    }
    assert_same_content(prod, qa)


def test_timestamp_into_timestamptz_is_read_as_utc(prod: Database, qa: Database) -> None:
    prod.execute("CREATE TABLE t (id int PRIMARY KEY, at timestamp, d date)")
    prod.execute("INSERT INTO t VALUES (1, '2024-03-31 01:30', '2024-02-29')")
    qa.execute("CREATE TABLE t (id int PRIMARY KEY, at timestamptz, d timestamptz)")
    report = run_migrate(prod.url, qa.url)
    assert any("read as UTC" in p.message for p in report.plan.warnings)
    rows = qa.execute("SELECT at AT TIME ZONE 'UTC', d AT TIME ZONE 'UTC' FROM t")
    assert [tuple(str(v) for v in r) for r in rows] == [
        ("2024-03-31 01:30:00", "2024-02-29 00:00:00")
    ]


def test_checked_casts_copy_values_that_fit(prod: Database, qa: Database) -> None:
    prod.execute("CREATE TABLE t (id int PRIMARY KEY, code text, n bigint, amount numeric(12,2))")
    prod.execute("INSERT INTO t VALUES (1, 'abc', 5, 12345.67), (2, 'five ', -7, NULL)")
    qa.execute(
        "CREATE TABLE t (id int PRIMARY KEY, code varchar(5), n integer, amount numeric(8,2))"
    )
    report = run_migrate(prod.url, qa.url)
    assert report.ok
    kinds = {c.column: c.kind.value for c in report.results[0].table.casts}
    assert kinds == {"code": "checked", "n": "checked", "amount": "checked"}
    assert any("checked cast" in p.message for p in report.plan.warnings)
    assert_same_content(prod, qa)


@pytest.mark.parametrize(
    ("prod_type", "qa_type", "bad"),
    [
        ("text", "varchar(5)", "'much too long'"),
        ("bigint", "integer", "3000000000"),
        ("numeric(12,2)", "numeric(6,2)", "123456.78"),
    ],
)
def test_a_value_that_does_not_fit_is_named_with_its_row(
    prod: Database, qa: Database, prod_type: str, qa_type: str, bad: str
) -> None:
    prod.execute(f"CREATE TABLE t (id int PRIMARY KEY, v {prod_type})")
    prod.execute("INSERT INTO t SELECT g, NULL FROM generate_series(1, 500) g")
    prod.execute(f"UPDATE t SET v = {bad} WHERE id = 321")
    qa.execute(f"CREATE TABLE t (id int PRIMARY KEY, v {qa_type})")
    qa.execute("INSERT INTO t VALUES (1, NULL)")
    with pytest.raises(CopyFailed) as err:
        run_migrate(prod.url, qa.url)
    message = str(err.value.message)
    assert "public.t" in message and "'v'" in message and "id=321" in message, message
    assert bad.strip("'") in message
    assert err.value.key == "id=321" and err.value.column == "v"
    assert qa.scalar("SELECT count(*) FROM t") == 0  # that table failed cleanly, emptied


def test_narrowing_casts_are_refused_before_writing(prod: Database, qa: Database) -> None:
    prod.execute("CREATE TABLE t (id int PRIMARY KEY, n integer, r numeric(10,3))")
    qa.execute("CREATE TABLE t (id int PRIMARY KEY, n numeric(3), r numeric(10,2))")
    qa.execute("INSERT INTO t VALUES (1, 1, 1)")
    with pytest.raises(SchemaMismatch) as err:
        run_migrate(prod.url, qa.url)
    assert "public.t.n is integer in production but numeric(3,0) in QA" in str(err.value)
    assert "public.t.r is numeric(10,3) in production but numeric(10,2) in QA" in str(err.value)
    assert qa.execute("SELECT n FROM t") == [(1,)]


# -- row-level security (point 2) ----------------------------------------------------------


def test_rls_filtered_role_gets_an_error_naming_the_table(
    prod: Database, qa: Database, prod_server: Server
) -> None:
    _pair(prod, qa)
    prod.execute("""
        CREATE TABLE secret (id INT PRIMARY KEY, owner TEXT NOT NULL);
        INSERT INTO secret VALUES (1, 'someone'), (2, 'someone-else');
        ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
        CREATE POLICY mine ON secret USING (owner = current_user);
    """)
    qa.execute(
        "CREATE TABLE secret (id INT PRIMARY KEY, owner TEXT NOT NULL);"
        "INSERT INTO secret VALUES (7, 'stale');"
    )
    with prod_server.role("rls_reader") as role:
        prod.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
                sql.Identifier(role)
            )
        )
        assert not prod_server.admin.scalar(
            "SELECT rolbypassrls FROM pg_roles WHERE rolname = %s", (role,)
        )
        # what a plain reader would see: nothing, silently
        with psycopg.connect(prod.url_as(role, "secret-pw")) as conn:
            assert conn.execute("SELECT count(*) FROM secret").fetchone() == (0,)
        with pytest.raises(PrivilegeError) as caught:
            run_migrate(prod.url_as(role, "secret-pw"), qa.url)
        # --dry-run shows it as a blocking problem
        dry = migrate_cli(prod.url_as(role, "secret-pw"), qa, "--dry-run", "--json")
    assert "public.secret" in caught.value.message
    assert "row-level security" in caught.value.message
    assert caught.value.exit_code == 5
    assert dry.code == 7, dry.stderr
    problems = json.loads(dry.stdout)["plan"]["problems"]
    assert [(p["table"], p["severity"]) for p in problems] == [("public.secret", "blocking")]
    assert_untouched(qa)
    assert qa.execute("SELECT * FROM secret") == [(7, "stale")]


# -- production sees no writes (point 2) --------------------------------------------------

_SCHEMAS = "SELECT nspname FROM pg_namespace ORDER BY 1"
_SEQUENCE_STATE = """
SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2
"""
_OBJECTS = """
SELECT c.oid, c.relname, c.relkind::text, c.relfilenode
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1
"""


def test_production_sees_no_writes_and_a_select_only_role_suffices(
    prod: Database, qa: Database, prod_server: Server
) -> None:
    prod.execute(SCHEMA)
    prod.execute(prod_rows(min(prod.server.major, qa.server.major)) + PROD_HISTORY)
    qa.execute(SCHEMA)
    with prod_server.role("select_only") as role:
        ident = sql.Identifier(role)
        for grant in (
            "REVOKE ALL ON DATABASE {db} FROM PUBLIC",
            "GRANT CONNECT ON DATABASE {db} TO {r}",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            "GRANT USAGE ON SCHEMA public TO {r}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {r}",
            "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
        ):
            prod.execute(sql.SQL(grant).format(db=sql.Identifier(prod.name), r=ident))
        before = (
            fingerprints(prod),
            prod.execute(_SCHEMAS),
            prod.execute(_OBJECTS),
            prod.execute(_SEQUENCE_STATE),
        )
        report = run_migrate(prod.url_as(role, "secret-pw"), qa.url)
        after = (
            fingerprints(prod),
            prod.execute(_SCHEMAS),
            prod.execute(_OBJECTS),
            prod.execute(_SEQUENCE_STATE),
        )
    assert report.ok
    assert after == before
    assert ("pgferry",) not in after[1]
    assert_same_content(prod, qa, [n for n in fingerprints(prod) if "_prisma" not in n[1]])
    assert sequences_healthy(qa) == []


# -- the final insert check ----------------------------------------------------------------


@pytest.mark.slow
def test_migrate_fails_when_a_new_row_would_still_collide(prod: Database, qa: Database) -> None:
    # a serial widened to bigint keeps an integer sequence: it cannot pass the data
    for db in (prod, qa):
        db.execute("CREATE TABLE big (id serial PRIMARY KEY, v int)")
        db.execute("ALTER TABLE big ALTER COLUMN id TYPE bigint")
    prod.execute("INSERT INTO big VALUES (1, 1), (3000000000, 2)")
    ran = migrate_cli(prod, qa, "--yes", "--no-report")
    assert ran.code == 1, ran.stderr
    assert "1 sequence(s) could not be moved past the data: public.big_id_seq" in ran.stderr
    assert "ALTER SEQUENCE public.big_id_seq AS bigint" in ran.stderr
    assert qa.scalar("SELECT count(*) FROM big") == 2  # the data arrived; the check is rolled back
    report = run_migrate(prod.url, qa.url)
    assert [(i.table.name, i.status) for i in report.inserts] == [("big", "collision")]
    assert "Key (id)=(1) already exists" in report.inserts[0].detail
    qa.execute("ALTER SEQUENCE big_id_seq AS bigint")
    assert migrate_cli(prod, qa, "--yes", "--no-report").code == 0


# -- findings of the review -------------------------------------------------------------


def test_patterns_never_copy_the_journal_nor_migration_history_unless_named(
    prod: Database, qa: Database
) -> None:
    for db in (prod, qa):
        db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        db.execute('CREATE TABLE "_prisma_migrations" (id text PRIMARY KEY)')
    prod.execute("INSERT INTO t VALUES (1); INSERT INTO \"_prisma_migrations\" VALUES ('prod')")
    qa.execute("INSERT INTO \"_prisma_migrations\" VALUES ('qa-only')")
    prod.execute("CREATE SCHEMA pgferry; CREATE TABLE pgferry.journal (id int)")
    report = run_migrate(prod.url, qa.url, tables=["public.*", "pgferry.*"])
    assert [str(tp.target) for tp in report.plan.tables] == ["public.t"]
    assert qa.execute('SELECT id FROM "_prisma_migrations"') == [("qa-only",)]
    named = run_migrate(prod.url, qa.url, tables=["t", "_prisma_migrations"])
    assert {str(tp.target) for tp in named.plan.tables} == {
        "public.t",
        "public._prisma_migrations",
    }


def test_a_partition_only_qa_has_is_emptied_too(prod: Database, qa: Database) -> None:
    ddl = (
        "CREATE TABLE m (id int, at date NOT NULL) PARTITION BY RANGE (at);"
        "CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
    )
    prod.execute(ddl)
    qa.execute(ddl)
    qa.execute("CREATE TABLE m_default PARTITION OF m DEFAULT")
    prod.execute("INSERT INTO m VALUES (1, '2024-03-01')")
    qa.execute("INSERT INTO m VALUES (9, '2030-01-01')")  # stale, in QA's extra partition
    report = run_migrate(prod.url, qa.url)
    assert [str(tp.target) for tp in report.plan.tables] == ["public.m"]  # through the root
    assert qa.execute("SELECT id FROM m") == [(1,)]


def test_a_second_run_on_the_same_qa_is_refused(prod: Database, qa: Database) -> None:
    for db in (prod, qa):
        db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    from pgferry.journal import LOCK_KEY

    with qa.connect() as other:  # another pgferry run holds QA
        other.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        with pytest.raises(RefusedError, match="another pgferry run"):
            run_migrate(prod.url, qa.url)
        ran = run_cli("sequences", "fix", "--db", qa.url)
        assert ran.code == 6
    run_migrate(prod.url, qa.url)  # free again


def test_pgbouncer_urls_are_refused_for_migrate(prod: Database, qa: Database) -> None:
    with pytest.raises(RefusedError, match="PgBouncer"):
        run_migrate(prod.url, qa.url + "?pgbouncer=true")


def test_role_timeouts_do_not_cancel_the_copy(prod: Database, qa: Database) -> None:
    for db in (prod, qa):
        db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    prod.execute("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g")
    prod.execute(f"ALTER DATABASE {prod.name} SET statement_timeout = '1ms'")
    prod.execute(f"ALTER DATABASE {prod.name} SET idle_in_transaction_session_timeout = '1ms'")
    report = run_migrate(prod.url, qa.url)
    assert report.ok and qa.scalar("SELECT count(*) FROM t") == 50000


def test_a_run_that_stops_still_writes_its_report(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    prod.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    prod.execute("INSERT INTO t VALUES (1, 'ok'), (2, 'far too long for five')")
    qa.execute("CREATE TABLE t (id int PRIMARY KEY, v varchar(5))")
    ran = migrate_cli(prod, qa, "--yes", "--report-dir", str(tmp_path))
    assert ran.code == ExitCode.COPY, ran.stderr
    assert "what was done: " in ran.stderr
    md = next(tmp_path.glob("migrate-*.md")).read_text()
    assert "**STOPPED**" in md and "id=2" in md
    data = json.loads(next(tmp_path.glob("migrate-*.json")).read_text())
    assert data["ok"] is False and "id=2" in data["error"]
    assert SUPERUSER_PASSWORD not in md + json.dumps(data)
