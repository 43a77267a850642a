"""`pgferry demo` runs end to end, tells the story, and leaves nothing behind."""

from __future__ import annotations

import glob
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # over a few seconds: left out by make test-fast


def _leftovers() -> set[str]:
    return set(glob.glob(str(Path(tempfile.gettempdir()) / "pgferry-demo-*")))


def _demo_servers() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=False)
    return [line for line in out.stdout.splitlines() if "pgferry-demo-" in line]


def test_demo_shows_the_failure_then_the_fix_and_cleans_up() -> None:
    before = _leftovers()
    proc = subprocess.run(
        [sys.executable, "-m", "pgferry", "demo", "--scale", "0.05"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "FAILS: Unique constraint failed on the fields: (`id`)" in out
    assert 'duplicate key value violates unique constraint "Order_pkey"' in out
    assert "3. the app creates an order: OK, new order id" in out
    assert "sequences healthy" in out
    assert "verified" in out
    assert "@127.0.0.1" not in proc.stderr
    assert _leftovers() <= before
    assert _demo_servers() == []
