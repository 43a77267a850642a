"""Memory stays bounded for huge values: one 200 MB value is not multiplied in pgferry.

libpq itself must hold a whole COPY row (its input buffer, then the copy it
hands out), so about twice the value is the floor; what pgferry adds on top
must be small.  Peak memory is measured on a real ``pgferry migrate`` child
process (its own ``ru_maxrss`` from ``wait4``), against a baseline run of the
same command over a one-byte value, so the interpreter's own footprint is
taken out.  Memory is not timing: this assertion is allowed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from tests.pgtest import Database

pytestmark = pytest.mark.slow  # over a few seconds: left out by make test-fast

#: The size of the one huge value, in bytes.
VALUE = 200 * 1024 * 1024

#: Peak growth allowed over the baseline run, as a multiple of the value.
ALLOWED = 2.5

SCHEMA = "CREATE TABLE big (id int PRIMARY KEY, body text, blob bytea);"


def _peak_rss_of_migrate(prod: Database, qa: Database) -> int:
    """Peak resident memory, in bytes, of one ``pgferry migrate`` child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    args = ["migrate", "--from", prod.url, "--to", qa.url, "--yes", "--no-backup"]
    with (
        tempfile.TemporaryDirectory(prefix="pgferry-mem-") as cwd,
        subprocess.Popen(
            [sys.executable, "-m", "pgferry", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
        ) as proc,
    ):
        assert proc.stderr is not None
        err = proc.stderr.read()  # small: a run's error line at most
        # wait4 gives this child's own peak, unlike RUSAGE_CHILDREN (the largest of all)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, err.decode(errors="replace")
    return int(usage.ru_maxrss) * 1024  # kilobytes on Linux


@pytest.mark.parametrize("column", ["body", "blob"])
def test_a_200_mb_value_is_not_multiplied_in_memory(
    prod: Database, qa: Database, column: str
) -> None:
    prod.execute(SCHEMA)
    qa.execute(SCHEMA)
    one = "'x'" if column == "body" else "'\\x78'::bytea"
    prod.execute(f"INSERT INTO big (id, {column}) VALUES (1, {one})")
    baseline = _peak_rss_of_migrate(prod, qa)

    huge = f"repeat('x', {VALUE})"
    value = huge if column == "body" else f"convert_to({huge}, 'UTF8')"
    prod.execute(f"UPDATE big SET {column} = {value}")
    peak = _peak_rss_of_migrate(prod, qa)

    copied = qa.scalar(f"SELECT octet_length({column}) FROM big WHERE id = 1")
    assert copied == VALUE
    assert qa.scalar(f"SELECT {column} = {value} FROM big WHERE id = 1")
    growth = peak - baseline
    mb = 1024 * 1024
    assert growth < ALLOWED * VALUE, (
        f"migrating one {VALUE // mb} MB value took {growth // mb} MB more than a one-byte "
        f"one (peak {peak // mb} MB, baseline {baseline // mb} MB): over {ALLOWED}x the value"
    )
