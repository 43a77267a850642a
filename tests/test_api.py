"""``import pgferry`` is the whole library: every command's function, every error class,
and ``__all__`` saying exactly which names those are (issue 13 point 6)."""

from __future__ import annotations

import inspect

import click

import pgferry
from pgferry.cli.app import cli

#: Each CLI command and the library function it calls (see pgferry's docstring).
COMMANDS = {
    "migrate": "run_migrate",
    "verify": "run_verify",
    "schema diff": "schema_diff",
    "schema push": "push",
    "sequences check": "check_sequences",
    "sequences fix": "fix_database",
    "preflight": "run_preflight",
    "backup": "run_backup",
    "backups": "list_backups",
    "rollback": "rollback",
    "doctor": "diagnose",
    "init": "run_init",
    "demo": "run_demo",
    "config show": "resolve_settings",
    "mask check": "check_masks",
    "mask preview": "preview_masks",
    "pii scan": "scan_pii",
}

#: every public name has a docstring now
NOT_YET_DOCUMENTED: set[str] = set()


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> list[str]:
    if isinstance(command, click.Group):
        return [c for name, sub in command.commands.items() for c in _commands(sub, (*path, name))]
    return [" ".join(path)]


def _documented(obj: object) -> bool:
    doc = inspect.getdoc(obj) or ""
    name = getattr(obj, "__name__", "")
    return bool(doc) and not doc.startswith(f"{name}(")  # not a dataclass's own signature


def test_all_is_the_sorted_public_names() -> None:
    public = {
        name
        for name, value in vars(pgferry).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert pgferry.__all__ == sorted({*public, "__version__"})


def test_every_public_name_is_importable_and_documented() -> None:
    undocumented = set()
    for name in pgferry.__all__:
        space: dict[str, object] = {}
        exec(f"from pgferry import {name}", space)
        obj = space[name]
        assert obj is getattr(pgferry, name)
        if callable(obj) and not _documented(obj):
            undocumented.add(name)
    assert undocumented == NOT_YET_DOCUMENTED


def test_every_command_has_its_library_function() -> None:
    assert sorted(_commands(cli)) == sorted(COMMANDS)
    for name in COMMANDS.values():
        assert name in pgferry.__all__
        assert inspect.isfunction(getattr(pgferry, name)), name


def test_modules_keep_the_names_their_commands_share() -> None:
    from pgferry import backup, init, migrate, preflight, verify

    assert all(inspect.ismodule(m) for m in (backup, init, migrate, preflight, verify))
    assert pgferry.run_verify is verify.verify
    assert pgferry.run_backup is backup.backup
    assert pgferry.run_migrate is migrate.migrate  # which translates psycopg errors itself


def test_every_error_class_is_exported_with_its_exit_code() -> None:
    from pgferry import errors

    classes = [
        value
        for value in vars(errors).values()
        if inspect.isclass(value) and issubclass(value, pgferry.PgferryError)
    ]
    assert len(classes) > 10
    for cls in classes:
        assert getattr(pgferry, cls.__name__) is cls
        assert isinstance(cls.exit_code, pgferry.ExitCode)
