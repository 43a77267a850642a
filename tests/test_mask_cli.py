"""``pgferry mask check``, ``pgferry mask preview`` and ``config show`` with [mask],
against a real production server (nothing is written there, and there is no QA)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.migrate_support import run_cli
from tests.pgtest import Database

SCHEMA = """
CREATE TABLE clients (id int PRIMARY KEY, name text, email text UNIQUE NOT NULL,
                      phone varchar(20));
CREATE TABLE users (id int PRIMARY KEY, client_email text REFERENCES clients (email),
                    nickname varchar(6));
INSERT INTO clients SELECT g, 'Client ' || g, 'client' || g || '@corp.example',
                           '+44 20 7946 ' || lpad(g::text, 4, '0')
FROM generate_series(1, 30) g;
INSERT INTO users SELECT g, 'client' || g || '@corp.example', 'n' || g
FROM generate_series(1, 30) g;
"""
TOML = """
[mask.clients]
name = "company"
email = "email"
phone = "phone"
"""
ENV = {"PGFERRY_MASK_KEY": "a-test-key-of-enough-bytes"}


def _toml(tmp_path: Path, text: str = TOML) -> Path:
    (tmp_path / "pgferry.toml").write_text(text)
    return tmp_path


def test_mask_check_passes_fitting_rules_and_names_followed_keys(
    prod: Database, tmp_path: Path
) -> None:
    prod.execute(SCHEMA)
    before = prod.scalar("SELECT count(*) FROM pg_class")
    ran = run_cli("mask", "check", "--from", prod.url, cwd=_toml(tmp_path), env=ENV)
    assert ran.code == 0, ran.stderr
    assert "public.users: client_email (email, follows a foreign key)" in ran.stdout
    assert "The rules fit" in ran.stdout
    ran = run_cli("mask", "check", "--from", prod.url, "--json", cwd=tmp_path, env=ENV)
    found = {t["table"]: t for t in json.loads(ran.stdout)["tables"]}
    assert found["public.users"]["followed"] == ["client_email"]
    assert prod.scalar("SELECT count(*) FROM pg_class") == before  # nothing created


def test_mask_check_names_a_rule_that_does_not_fit(prod: Database, tmp_path: Path) -> None:
    prod.execute(SCHEMA)
    cases = {
        '[mask.clients]\nemail = "name"\n': "can give two rows the same value",
        '[mask.users]\nnickname = "hash"\n': "nickname as hash gives 32 characters",
        '[mask.clients]\nnope = "email"\n': "column nope of public.clients, which production",
        '[mask.clients]\nemail = "emali"\n': "there is no kind 'emali'",
    }
    for text, said in cases.items():
        ran = run_cli("mask", "check", "--from", prod.url, cwd=_toml(tmp_path, text), env=ENV)
        assert ran.code == 2, (text, ran.stdout)
        assert said in ran.stderr, (text, ran.stderr)
        assert "Traceback" not in ran.stderr
    ran = run_cli("mask", "check", "--from", prod.url, cwd=_toml(tmp_path), env={})
    assert ran.code == 2 and "PGFERRY_MASK_KEY" in ran.stderr


def test_mask_preview_shows_masked_rows_only(prod: Database, tmp_path: Path) -> None:
    prod.execute(SCHEMA)
    ran = run_cli(
        "mask",
        "preview",
        "--from",
        prod.url,
        "--table",
        "clients",
        "--limit",
        "3",
        "--json",
        cwd=_toml(tmp_path),
        env=ENV,
    )
    assert ran.code == 0, ran.stderr
    shown = json.loads(ran.stdout)
    assert shown["masked"] == ["name", "email", "phone"] and len(shown["rows"]) == 3
    assert "corp.example" not in ran.stdout and "Client " not in ran.stdout
    assert "7946" not in ran.stdout
    ran = run_cli(
        "mask", "preview", "--from", prod.url, "--table", "clients", cwd=tmp_path, env=ENV
    )
    assert ran.code == 0 and "masked" in ran.stdout and "corp.example" not in ran.stdout
    ran = run_cli("mask", "preview", "--from", prod.url, "--table", "users", cwd=tmp_path, env=ENV)
    assert ran.code == 0  # users.client_email follows the key: it is masked too
    ran = run_cli("mask", "preview", "--from", prod.url, "--table", "nope", cwd=tmp_path, env=ENV)
    assert ran.code == 2 and "cannot preview nope" in ran.stderr


def test_config_show_lists_the_mask_rules_and_never_a_fixed_value(tmp_path: Path) -> None:
    text = TOML + '[mask.users]\npasswordHash = { fixed = "s3cr3t-looking" }\n'
    ran = run_cli("config", "show", cwd=_toml(tmp_path, text))
    assert ran.code == 0, ran.stderr
    assert "mask.clients.email" in ran.stdout and "mask.users.passwordHash" in ran.stdout
    assert "s3cr3t-looking" not in ran.stdout
