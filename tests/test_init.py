"""`pgferry init` writes a config that names variables, never their values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pgferry import config
from pgferry.errors import RefusedError
from pgferry.init import init

SECRET_URL = "postgresql://app:Very-Secret-1@prod.internal:5432/app"


def test_init_names_the_variables_found(tmp_path: Path) -> None:
    result = init(tmp_path, environ={"PROD_DATABASE_URL": SECRET_URL, "DATABASE_URL": "x"})
    text = result.config.read_text()
    assert 'url_env = "PROD_DATABASE_URL"' in text
    assert 'url_env = "DATABASE_URL"' in text  # no QA_DATABASE_URL in this shell
    assert "Very-Secret" not in text and "prod.internal" not in text
    loaded = config.load(result.config)  # what it writes is a valid config
    assert (loaded.source_env, loaded.target_env) == ("PROD_DATABASE_URL", "DATABASE_URL")
    assert loaded.protected == ("*prod*", "*production*", "*live*")
    ignored = (tmp_path / ".gitignore").read_text().splitlines()
    assert {"pgferry-runs/", "pgferry-backups/"} <= set(ignored)
    assert (loaded.backup, loaded.backup_keep, loaded.push_schema) == (True, 5, False)


def test_init_says_when_a_variable_is_not_set(tmp_path: Path) -> None:
    text = init(tmp_path, environ={}).config.read_text()
    assert 'url_env = "PROD_DATABASE_URL"' in text and 'url_env = "QA_DATABASE_URL"' in text
    assert text.count("not set in this shell") == 2


def test_init_keeps_an_existing_config_and_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\npgferry-runs/\npgferry-backups/\n")
    init(tmp_path, environ={})
    with pytest.raises(RefusedError, match="exists already"):
        init(tmp_path, environ={})
    init(tmp_path, force=True, environ={})
    assert (tmp_path / ".gitignore").read_text() == (
        "node_modules/\npgferry-runs/\npgferry-backups/\n"
    )


def test_init_cli(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pgferry", "init", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "QA_DATABASE_URL": SECRET_URL},
    )
    assert proc.returncode == 0, proc.stderr
    assert "target $QA_DATABASE_URL" in proc.stdout
    assert "Very-Secret" not in proc.stdout + proc.stderr
    again = subprocess.run(
        [sys.executable, "-m", "pgferry", "init", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 6 and "exists already" in again.stderr
