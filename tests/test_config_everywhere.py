"""pgferry.toml is honoured by every command that connects (issue 13 point 1).

``url_env`` for both sides, ``[target] protected`` by every command that writes to
QA, ``[migrate] tables/exclude/schema`` by migrate, preflight and verify alike, and
flags over the file; ``pgferry config show`` says where each setting came from.
Each test shares its two databases across all the commands it runs.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path

import pytest

from pgferry import config, defaults
from pgferry.errors import ConfigError, ExitCode
from pgferry.migrate import MigrateOptions
from pgferry.safety import backup as backupmod
from pgferry.safety.preflight import Scope
from tests.migrate_support import Ran, run_cli
from tests.pgtest import SUPERUSER_PASSWORD, Database

SCHEMA = """
CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL);
CREATE TABLE audit_log (id bigserial PRIMARY KEY, what text NOT NULL);
"""
PROD_DATA = """
INSERT INTO items (label) SELECT 'item ' || g FROM generate_series(1, 50) g;
INSERT INTO audit_log (what) SELECT 'event ' || g FROM generate_series(1, 30) g;
"""
ENV = {"MY_PROD_URL": "", "MY_QA_URL": ""}


def _toml(folder: Path, **target: str) -> Path:
    extra = "".join(f"{k} = {v}\n" for k, v in target.items())
    path = folder / "pgferry.toml"
    path.write_text(
        '[source]\nurl_env = "MY_PROD_URL"\n\n'
        f'[target]\nurl_env = "MY_QA_URL"\n{extra}\n'
        '[migrate]\nexclude = ["audit_log"]\n',
        encoding="utf-8",
    )
    return path


def _env(prod: Database, qa: Database) -> dict[str, str]:
    return {"MY_PROD_URL": prod.url, "MY_QA_URL": qa.url}


def _clean(ran: Ran) -> Ran:
    """No output of any command shows the password the test URLs hold."""
    assert SUPERUSER_PASSWORD not in ran.stdout + ran.stderr
    return ran


def test_every_connecting_command_reads_url_env_and_scope_from_the_file(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    prod.execute(SCHEMA + PROD_DATA)
    qa.execute(SCHEMA)
    qa.execute("INSERT INTO audit_log (what) VALUES ('qa only')")
    _toml(tmp_path)
    env = _env(prod, qa)

    def run(*args: str) -> Ran:
        return _clean(run_cli(*args, cwd=tmp_path, env=env))

    # the URLs come only from $MY_PROD_URL / $MY_QA_URL: no PG*, no QA_DATABASE_URL
    ran = run("migrate", "--yes", "--no-backup", "--report-dir", str(tmp_path / "r"))
    assert ran.code == 0, ran.stderr
    assert qa.scalar("SELECT count(*) FROM items") == 50
    assert qa.scalar("SELECT string_agg(what, ',') FROM audit_log") == "qa only"  # excluded
    # verify compares what migrate copied: audit_log is left out by the same file
    ran = run("verify")
    assert ran.code == 0, ran.stdout + ran.stderr
    assert "audit_log" not in ran.stdout
    # preflight plans the same set (its lines may warn, but it reached both databases)
    ran = run("preflight", "--json")
    assert ran.code in (0, int(ExitCode.FOUND)), ran.stderr
    assert qa.name in ran.stdout and prod.name in ran.stdout
    ran = run("schema", "diff", "--exit-code", "--across-servers")
    assert ran.code == 0, ran.stdout + ran.stderr
    ran = run("schema", "push", "--yes", "--across-servers", "--no-pg-dump")
    assert ran.code == 0, ran.stdout + ran.stderr
    assert "nothing to do" in ran.stdout
    for args in (("sequences", "check"), ("sequences", "fix")):
        ran = run(*args)
        assert ran.code == 0, ran.stdout + ran.stderr
    ran = run("doctor")
    assert ran.code in (0, int(ExitCode.FOUND)), ran.stderr
    assert qa.name in ran.stdout
    ran = run("backup", "--method", "dump", "--name", "cfg1", "--json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout)["database"] == qa.name
    assert (tmp_path / "pgferry-backups").is_dir()  # [backup] folder's default, in cwd
    ran = run("backups", "--json")
    assert ran.code == 0, ran.stderr
    assert [b["name"] for b in json.loads(ran.stdout)] == ["cfg1"]
    qa.execute("DELETE FROM items WHERE id > 10")
    ran = run("rollback", "--yes", "--backup", "cfg1")
    assert ran.code == 0, ran.stderr
    assert qa.scalar("SELECT count(*) FROM items") == 50

    # flags override the file: --to wins over url_env (even one naming an unset variable)
    ran = run_cli("verify", "--to", qa.url, cwd=tmp_path, env={"MY_PROD_URL": prod.url})
    assert _clean(ran).code == 0, ran.stdout + ran.stderr
    # a variable url_env names must be set: no quiet fallback to libpq's defaults
    ran = _clean(run_cli("sequences", "check", cwd=tmp_path, env={}))
    assert ran.code == int(ExitCode.USAGE), ran.stderr
    assert "$MY_QA_URL is not set" in ran.stderr and "[target] url_env" in ran.stderr

    # without the file, the same exclusion by flag: verify passes with it, fails without
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    urls = ("--from", prod.url, "--to", qa.url)
    ran = _clean(run_cli("verify", *urls, "--exclude", "audit_log", cwd=elsewhere))
    assert ran.code == 0, ran.stdout + ran.stderr
    ran = _clean(run_cli("verify", *urls, "--no-insert-check", cwd=elsewhere))
    assert ran.code == int(ExitCode.FOUND), ran.stdout
    assert "audit_log" in ran.stdout


def test_every_writing_command_refuses_a_protected_target(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    prod.execute(SCHEMA + "ALTER TABLE items ADD COLUMN extra int;" + PROD_DATA)
    qa.execute(SCHEMA)
    qa.execute("INSERT INTO items (id, label) VALUES (100, 'kept')")  # sequence behind
    _toml(tmp_path, protected=f'["{qa.name}"]')
    env = _env(prod, qa)

    def refused(*args: str) -> None:
        ran = _clean(run_cli(*args, cwd=tmp_path, env=env))
        assert ran.code == int(ExitCode.REFUSED), (args, ran.stdout, ran.stderr)
        assert "protected pattern" in ran.stderr and qa.name in ran.stderr, args

    refused("migrate", "--yes", "--report-dir", str(tmp_path / "r"))
    refused("migrate", "--yes", "--strategy", "swap", "--report-dir", str(tmp_path / "r"))
    refused("schema", "push", "--yes", "--across-servers", "--no-pg-dump")
    refused("sequences", "fix")
    refused("sequences", "fix", "--db", qa.url)  # a flag's URL is protected all the same
    refused("backup")
    refused("rollback", "--yes")

    # nothing was written: no data, no column, the sequence still behind, no backup
    assert qa.scalar("SELECT string_agg(label, ',') FROM items") == "kept"
    assert (
        qa.scalar("SELECT count(*) FROM information_schema.columns WHERE column_name = 'extra'")
        == 0
    )
    assert qa.scalar("SELECT last_value FROM items_id_seq") == 1
    assert not (tmp_path / "pgferry-backups").exists()
    assert not list((tmp_path / "r").glob("migrate-*"))  # the folder is probed, no report
    others = qa.server.admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{qa.name}%pgferry%",)
    )
    assert others == []

    # reading a protected database is fine: the check finds the sequence behind (exit 1)
    ran = _clean(run_cli("sequences", "check", cwd=tmp_path, env=env))
    assert ran.code == int(ExitCode.FOUND), ran.stderr
    ran = _clean(run_cli("backups", cwd=tmp_path, env=env))
    assert ran.code == 0, ran.stderr


def test_config_show_names_each_origin_and_no_password(tmp_path: Path) -> None:
    _toml(tmp_path, protected='["*prod*"]')
    (tmp_path / "pgferry.toml").write_text(
        (tmp_path / "pgferry.toml").read_text(encoding="utf-8") + "jobs = 3\n", encoding="utf-8"
    )
    env = {
        "MY_PROD_URL": "postgresql://app:hunter2-secret@prod.example:5432/app?schema=shop",
        "MY_QA_URL": "host=qa.example dbname=app_qa user=app password=qa-pw-9876",
    }
    ran = run_cli("config", "show", "--exclude", "sessions", cwd=tmp_path, env=env)
    assert ran.code == 0, ran.stderr
    out = ran.stdout
    assert "hunter2-secret" not in out + ran.stderr and "qa-pw-9876" not in out + ran.stderr
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "postgresql://app:***@prod.example:5432/app" in lines["source.url"]
    assert "env" in lines["source.url"] and "$MY_PROD_URL" in lines["source.url"]
    assert "password=***" in lines["target.url"] and "$MY_QA_URL" in lines["target.url"]
    assert "file" in lines["target.protected"] and "*prod*" in lines["target.protected"]
    assert "file" in lines["migrate.jobs"] and " 3 " in lines["migrate.jobs"]
    assert "audit_log, sessions" in lines["migrate.exclude"] and "flag" in lines["migrate.exclude"]
    assert "default" in lines["backup.keep"] and f" {defaults.BACKUP_KEEP} " in lines["backup.keep"]

    # flags override the file, and --json says the same
    ran = run_cli(
        "config",
        "show",
        "--to",
        "postgresql://u:flag-pw-555@h/qa",
        "--jobs",
        "7",
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert ran.code == 0, ran.stderr
    assert "flag-pw-555" not in ran.stdout and "hunter2-secret" not in ran.stdout
    shown = json.loads(ran.stdout)["settings"]
    assert shown["target.url"] == {
        "value": "postgresql://u:***@h/qa",
        "origin": "flag",
        "where": "--to",
    }
    assert shown["migrate.jobs"]["value"] == "7" and shown["migrate.jobs"]["origin"] == "flag"
    assert shown["migrate.schema"]["value"] == "(none)"  # ?schema= is the target's, not prod's


def test_the_library_resolves_the_same_way(tmp_path: Path) -> None:
    path = _toml(tmp_path)
    got = config.resolve(
        config.Flags(exclude=("x",), no_backup=True),
        path,
        environ={"MY_PROD_URL": "postgresql://p/db", "MY_QA_URL": "postgresql://q/db?schema=app"},
    )
    assert got.exclude.value == ("audit_log", "x") and got.exclude.origin is config.Origin.FLAG
    assert got.backup == config.Setting(False, config.Origin.FLAG, "--no-backup")
    assert got.schemas.value == ("app",) and got.schemas.origin is config.Origin.ENV
    assert got.target_endpoint().dbname == "db" and got.source.origin is config.Origin.ENV
    assert got.migrate_options()["exclude"] == ("audit_log", "x")
    unset = config.resolve(None, path, environ={})
    assert unset.target.value is None
    with pytest.raises(ConfigError, match=r"\$MY_QA_URL is not set"):
        unset.target_endpoint()


def test_defaults_are_the_same_everywhere() -> None:
    """pgferry.defaults is the one list; MigrateOptions (in a module being restructured)
    and the library functions declare the same values until they import them."""
    options = MigrateOptions()
    assert options.backup is defaults.BACKUP
    assert options.backup_method == defaults.BACKUP_METHOD
    assert options.backup_keep == defaults.BACKUP_KEEP
    assert options.lock_timeout == defaults.LOCK_TIMEOUT
    assert options.large_objects is defaults.LARGE_OBJECTS
    assert options.push_schema is defaults.PUSH_SCHEMA
    assert options.from_copy is defaults.SOURCE_COPY
    assert options.jobs == defaults.jobs()
    scope = Scope()
    assert scope.backup is defaults.BACKUP and scope.backup_method == defaults.BACKUP_METHOD
    params = inspect.signature(backupmod.backup).parameters
    assert params["method"].default == defaults.BACKUP_METHOD
    assert params["keep"].default == defaults.BACKUP_KEEP
    assert backupmod.DEFAULT_FOLDER == defaults.BACKUP_FOLDER
    resolved = config.resolve(None, Path("/dev/null"), environ={})
    for f in dataclasses.fields(resolved):
        setting = getattr(resolved, f.name)
        if isinstance(setting, config.Setting) and f.name not in ("source", "target"):
            assert setting.origin is config.Origin.DEFAULT, f.name
    assert config.Config().backup_folder == defaults.BACKUP_FOLDER
