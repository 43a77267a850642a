"""Every example command in the README and docs/ runs, with the exit code it documents.

Each `pgferry ...` line of a ```sh block is run in document order against a
production and a QA built from the demo's Prisma-style schema, with
PROD_DATABASE_URL and QA_DATABASE_URL set as the docs assume.  A comment on the
line saying "exit N" sets the expected exit code; otherwise it is 0.  The
README's Python example is run too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import pgferry
from pgferry.demo import ROWS, _sql
from pgferry.migrate import MigrateOptions, migrate
from tests.pgtest import ROOT, Database

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"```(?:sh|bash|console)\n(.*?)```", re.S)
_EXIT = re.compile(r"exit (\d+)")


def _commands() -> list[tuple[str, str, int]]:
    found = []
    for doc in DOCS:
        if doc.name == "cli.md":
            continue  # generated --help text, not examples
        for block in _BLOCK.findall(doc.read_text(encoding="utf-8")):
            for line in block.splitlines():
                if not line.startswith("pgferry "):
                    continue
                command, _, comment = line.partition("  #")
                m = _EXIT.search(comment)
                found.append((doc.name, command.strip(), int(m.group(1)) if m else 0))
    return found


def _load(db: Database, data: bool) -> None:
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(_sql("app_schema.sql"))
        if data:
            small = {k: max(1, v // 20) for k, v in ROWS.items()}
            conn.execute(
                sql.SQL(_sql("app_data.sql")).format(
                    **{k: sql.Literal(v) for k, v in small.items()}
                )
            )


@pytest.fixture
def env(prod: Database, qa: Database, tmp_path: Path) -> dict[str, str]:
    _load(prod, data=True)
    _load(qa, data=False)
    migrate(pgferry.parse(prod.url), pgferry.parse(qa.url), MigrateOptions(backup=False))
    out = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    out.update(PROD_DATABASE_URL=prod.url, QA_DATABASE_URL=qa.url)
    return out


def test_the_docs_have_examples() -> None:
    commands = _commands()
    assert len(commands) >= 8
    assert {c.split()[1] for _, c, _ in commands} >= {"migrate", "sequences", "verify"}


@pytest.mark.slow
def test_every_example_command_runs(env: dict[str, str], tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    for doc, command, expected in _commands():
        proc = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == expected, (
            f"{doc}: `{command}` exited {proc.returncode}, documented {expected}:\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )


def test_the_readme_library_example_runs(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## As a library\n\n```python\n(.*?)```", readme, re.S)
    assert code is not None
    monkeypatch.setenv("QA_DATABASE_URL", env["QA_DATABASE_URL"])
    exec(compile(code.group(1), "README.md", "exec"), {})
