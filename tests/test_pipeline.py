"""``migrate`` as a pipeline of named steps (issue 13 point 2): the steps name themselves
while they run, a failed run keeps its report, and a plan can carry column transforms
and row filters that the load honours."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from psycopg import sql

import pgferry
from pgferry.catalog import Catalog, Name
from pgferry.errors import CopyFailed
from pgferry.migrate import MigrateOptions, Refresh, Strategy, execute
from pgferry.plan import Plan, TablePlan, Transform
from pgferry.refresh.streams import TableResult
from tests.migrate_support import migrate_cli
from tests.pgtest import Database
from tests.test_migrate_prompt import _run_on_a_terminal

SCHEMA = """
CREATE TABLE parent (id int PRIMARY KEY, name text);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id));
"""


def _pair(prod: Database, qa: Database) -> None:
    for db in (prod, qa):
        db.execute(SCHEMA)
    prod.execute("INSERT INTO parent VALUES (1, 'ann'), (2, 'bob')")
    prod.execute("INSERT INTO child VALUES (1, 1), (2, 2)")


class Steps:
    """A progress display that records what it is told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, int]] = []
        self.done: list[str] = []

    def step(self, name: str, number: int, total: int) -> None:
        self.seen.append((name, number, total))

    def step_done(self, name: str, seconds: float) -> None:
        assert seconds >= 0
        self.done.append(name)

    def started(self, table: TablePlan) -> None:
        pass

    def advanced(self, table: TablePlan, nbytes: int) -> None:
        pass

    def finished(self, result: TableResult) -> None:
        pass


def _refresh(prod: Database, qa: Database, progress: Steps, **options: object) -> Refresh:
    return Refresh(
        pgferry.parse(prod.url, role="prod"),
        pgferry.parse(qa.url, role="qa"),
        MigrateOptions(backup=False, **options),  # type: ignore[arg-type]
        progress=progress,
    )


@pytest.mark.parametrize("strategy", [Strategy.REFRESH, Strategy.SWAP])
def test_every_step_names_itself_in_order(prod: Database, qa: Database, strategy: Strategy) -> None:
    _pair(prod, qa)
    progress = Steps()
    run = _refresh(prod, qa, progress, strategy=strategy)
    report = execute(run)
    assert report.ok
    names = [name for name, _, _ in progress.seen]
    assert names == run.steps, names
    assert [n for _, n, _ in progress.seen] == list(range(1, len(run.steps) + 1))
    assert {total for _, _, total in progress.seen} == {len(run.steps)}
    assert progress.done == names
    wanted = {"set aside", "truncate", "load", "put back", "sequences", "count", "verify"}
    assert wanted <= set(names)
    assert ("make sibling" in names) == ("swap in" in names) == (strategy is Strategy.SWAP)
    assert any("step put back" in line for line in report.log)


def test_a_failed_run_keeps_its_report(prod: Database, qa: Database) -> None:
    _pair(prod, qa)
    qa.execute("ALTER TABLE parent ADD CHECK (name <> 'bob')")  # QA refuses one of the rows
    run = _refresh(prod, qa, Steps())
    with pytest.raises(CopyFailed):
        run.run()
    assert run.report is not None
    assert run.report.error is not None and "parent" in run.report.error
    assert not run.report.ok and run.report.put_back > 0
    # the keys set aside are back
    assert qa.scalar("SELECT count(*) FROM pg_constraint WHERE contype = 'f'") == 1


def test_a_plan_carries_row_filters_and_column_transforms(prod: Database, qa: Database) -> None:
    _pair(prod, qa)

    def only_ann_upper(plan: Plan, source: Catalog, target: Catalog) -> Plan:
        assert source.table(Name("public", "parent")) is not None
        tables = []
        for tp in plan.tables:
            where = sql.SQL("{} = 1").format(
                sql.Identifier("parent_id" if "parent_id" in tp.columns else "id")
            )
            tp = replace(tp, row_filter=where, filter_note="ann only")
            if tp.target.name == "parent":
                upper = sql.SQL("upper({})").format(sql.Identifier("name"))
                tp = replace(tp, transforms=(Transform("name", upper, "upper-cased"),))
            tables.append(tp)
        return replace(plan, tables=tuple(tables))

    run = Refresh(
        pgferry.parse(prod.url, role="prod"),
        pgferry.parse(qa.url, role="qa"),
        MigrateOptions(backup=False),
        shapers=[only_ann_upper],
    )
    report = run.run()
    assert report.ok, report.to_dict()
    assert qa.execute("SELECT id, name FROM parent") == [(1, "ANN")]
    assert qa.execute("SELECT id, parent_id FROM child") == [(1, 1)]
    shown = {t["target"]: t for t in report.plan.to_dict()["tables"]}
    assert shown["public.parent"]["transforms"] == [{"column": "name", "note": "upper-cased"}]
    assert shown["public.child"]["row_filter"] == "ann only"
    assert prod.scalar("SELECT count(*) FROM parent") == 2  # production only read


def test_off_a_terminal_stderr_stays_the_tables_and_the_log_has_the_steps(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _pair(prod, qa)
    ran = migrate_cli(prod, qa, "--yes", "--report-dir", str(tmp_path), cwd=tmp_path)
    assert ran.code == 0, ran.stderr
    assert all(line.startswith("copied ") for line in ran.stderr.splitlines()), ran.stderr
    (written,) = tmp_path.glob("migrate-*.log")
    log = written.read_text().splitlines()
    steps = [line.split(" step ", 1)[1] for line in log if " step " in line]
    assert steps[:5] == ["snapshot", "guard", "recover", "plan", "confirm"], steps
    assert "sequences" in steps and steps[-1] == "verify"


def test_on_a_terminal_the_bars_follow_the_steps(prod: Database, qa: Database) -> None:
    _pair(prod, qa)
    code, out = _run_on_a_terminal(prod, qa, qa.name)
    assert code == 0, out
    assert "step " in out and "/s" in out  # the overall bar, and finished tables' rates


def test_schema_push_puts_back_what_an_interrupted_run_set_aside_first(
    prod: Database, qa: Database
) -> None:
    from pgferry import journal
    from pgferry.catalog import read_catalog
    from pgferry.schema.push import push

    _pair(prod, qa)
    qa_ep = pgferry.parse(qa.url, role="qa")
    # a migrate killed after setting the key aside (its session: names read schema-qualified)
    with pgferry.connect(qa_ep, autocommit=True) as conn:
        fks = read_catalog(conn).foreign_keys()
        journal.set_aside(conn, "killed-run", fks, [], [], details={})
    assert qa.scalar("SELECT count(*) FROM pg_constraint WHERE contype = 'f'") == 0
    result = push(pgferry.parse(prod.url, role="prod"), qa_ep)
    assert any("put back 1 objects" in n for n in result.notes), result.notes
    assert qa.scalar("SELECT count(*) FROM pg_constraint WHERE contype = 'f'") == 1
    assert qa.scalar("SELECT to_regnamespace('pgferry')") is None  # the journal is gone


@pytest.mark.parametrize("strategy", [Strategy.REFRESH, Strategy.SWAP])
def test_a_data_run_leaves_qa_s_objects_as_they_were(
    prod: Database, qa: Database, strategy: Strategy
) -> None:
    """Object for object, as pg_dump splits them: the steps (a swap's on its sibling too)
    set keys, triggers and indexes aside and put every one back with its details."""
    from tests.schema_support import objects

    extra = """
    CREATE INDEX child_parent ON child (parent_id);
    COMMENT ON INDEX child_parent IS 'for the join';
    COMMENT ON CONSTRAINT child_parent_id_fkey ON child IS 'every child has a parent';
    CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
    CREATE TRIGGER parent_touch BEFORE UPDATE ON parent FOR EACH ROW EXECUTE FUNCTION touch();
    """
    _pair(prod, qa)
    for db in (prod, qa):
        db.execute(extra)
    before = objects(qa)
    report = execute(_refresh(prod, qa, Steps(), strategy=strategy))
    assert report.ok
    assert objects(qa) == before
    assert qa.execute("SELECT id, name FROM parent ORDER BY id") == [(1, "ann"), (2, "bob")]
