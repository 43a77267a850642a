"""pgferry.toml read without a server: values, defaults, and the errors for bad ones."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pgferry.config import Config, load
from pgferry.errors import ConfigError

FULL = """
[source]
url_env = "PROD_DATABASE_URL"
copy = true

[target]
url_env = "QA_DATABASE_URL"
protected = ["*prod*", "*live*"]

[migrate]
tables = ["public.*"]
exclude = ["audit_log"]
jobs = 4
push_schema = true
backup = false
large_objects = false
lock_timeout = "2min"

[backup]
method = "dump"
keep = 3
folder = "backups"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pgferry.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_key_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, FULL)
    assert load(path) == Config(
        source_env="PROD_DATABASE_URL",
        source_copy=True,
        target_env="QA_DATABASE_URL",
        protected=("*prod*", "*live*"),
        tables=("public.*",),
        exclude=("audit_log",),
        jobs=4,
        push_schema=True,
        backup=False,
        large_objects=False,
        lock_timeout="2min",
        backup_method="dump",
        backup_keep=3,
        backup_folder=Path("backups"),
        path=path,
        # every key the file sets, so `config show` can say it came from the file
        given=frozenset(f"{s}.{k}" for s, body in tomllib.loads(FULL).items() for k in body),
    )


def test_an_empty_file_is_the_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    assert load(path) == Config(path=path)


def test_no_file_in_the_folder_is_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load() == Config()
    _write(tmp_path, '[target]\nprotected = ["x"]\n')
    assert load().protected == ("x",)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[sauce]\nurl_env = 'X'\n", "unknown section [sauce]"),
        ("[target]\nprotect = ['x']\n", "unknown key 'protect' in [target]"),
        ("[migrate]\njobs = 0\n", "jobs must be a positive integer"),
        ("[migrate]\njobs = 'four'\n", "jobs must be a positive integer"),
        ("[migrate]\npush_schema = 'yes'\n", "push_schema must be true or false"),
        ("[migrate]\nbackup = 1\n", "backup must be true or false"),
        ("[migrate]\nlarge_objects = 'no'\n", "large_objects must be true or false"),
        ("[migrate]\nlock_timeout = 60\n", "lock_timeout must be a string"),
        ("[migrate]\nlock_timeout = 'soon'\n", "lock_timeout must be a positive duration"),
        ("[migrate]\nexclude = 'audit_log'\n", "exclude must be a list of strings"),
        ("[target]\nprotected = [1]\n", "protected must be a list of strings"),
        ("[source]\ncopy = 'true'\n", "copy must be true or false"),
        ("[backup]\nmethod = 'rsync'\n", "method must be auto, template or dump"),
        ("[backup]\nkeep = 0\n", "keep must be a positive integer"),
        ("[backup]\nfolder = 5\n", "folder must be a string"),
        ("[migrate\n", "pgferry.toml: "),
    ],
)
def test_bad_values_are_config_errors(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(_write(tmp_path, text))
    assert words in str(caught.value)


def test_a_missing_named_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.toml")
