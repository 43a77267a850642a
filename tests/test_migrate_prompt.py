"""On a terminal, migrate asks for the QA database's name before writing anything."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from tests.pgtest import Database


def _setup(prod: Database, qa: Database) -> None:
    for db in (prod, qa):
        db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    prod.execute("INSERT INTO t VALUES (1), (2)")
    qa.execute("INSERT INTO t VALUES (99)")


def _run_on_a_terminal(prod: Database, qa: Database, answer: str) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin/stderr; type *answer* at the prompt."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pgferry",
            "migrate",
            "--from",
            prod.url,
            "--to",
            qa.url,
            "--no-report",
        ],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    while b"Type the QA database's name" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            seen += os.read(leader, 4096)
    os.write(leader, answer.encode() + b"\n")
    stdout, _ = proc.communicate(timeout=60)
    try:
        while select.select([leader], [], [], 0.2)[0]:
            seen += os.read(leader, 4096)
    except OSError:
        pass
    os.close(leader)
    return proc.returncode, seen.decode(errors="replace") + stdout


def test_wrong_name_refuses_and_writes_nothing(prod: Database, qa: Database) -> None:
    _setup(prod, qa)
    code, out = _run_on_a_terminal(prod, qa, "not-the-name")
    assert code == 6, out
    assert "not confirmed" in out
    assert qa.execute("SELECT id FROM t") == [(99,)]


def test_typing_the_name_goes_on(prod: Database, qa: Database) -> None:
    _setup(prod, qa)
    code, out = _run_on_a_terminal(prod, qa, qa.name)
    assert code == 0, out
    assert f"QA database '{qa.name}'" in out
    assert qa.execute("SELECT id FROM t ORDER BY id") == [(1,), (2,)]
