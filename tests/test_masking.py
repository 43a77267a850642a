"""Masking on the way from production to QA (issue 14, first part): the library's
``masking`` shaper on real servers (production and QA on different majors)."""

from __future__ import annotations

from pathlib import Path

import pytest

import pgferry
from pgferry.errors import ConfigError
from pgferry.masking import Keyed
from pgferry.masking.fakes import fake
from pgferry.masking.rules import Rule
from pgferry.migrate import MigrateOptions, Refresh
from pgferry.refresh.masking import masking
from tests.migrate_support import migrate_cli, run_cli
from tests.pgtest import Database

SCHEMA = """
CREATE TABLE clients (id serial PRIMARY KEY, email text UNIQUE NOT NULL, phone text,
                      note text);
CREATE TABLE users (id serial PRIMARY KEY,
                    client_email text NOT NULL REFERENCES clients (email), ip inet);
"""
ROWS = """
INSERT INTO clients (email, phone, note) VALUES
  ('Ann@corp.example', '+44 20 7946 0958', E'tab\\there, new\\nline, back\\\\slash, é'),
  ('bob@corp.example', NULL, NULL),
  (E'odd\\tname@corp.example', '0049 30 1234', '');
INSERT INTO users (client_email, ip)
  SELECT email, ('10.1.2.' || id)::inet FROM clients;
"""
KEY = Keyed(b"a-test-key-of-enough-bytes")
RULES = {
    "clients": {"email": "email", "phone": "digits"},
    "public.users": {"client_email": "email", "ip": "ip"},
}


def _run(prod: Database, qa: Database, rules: dict[str, dict[str, str]]) -> pgferry.MigrateReport:
    run = Refresh(
        pgferry.parse(prod.url, role="prod"),
        pgferry.parse(qa.url, role="qa"),
        MigrateOptions(backup=False),
        shapers=[masking(KEY, rules)],
    )
    return run.run()


def _pair(prod: Database, qa: Database) -> None:
    prod.execute(SCHEMA + ROWS)
    qa.execute(SCHEMA)


def test_masked_columns_change_joins_hold_and_the_rest_is_exact(
    prod: Database, qa: Database
) -> None:
    _pair(prod, qa)
    report = _run(prod, qa, RULES)
    assert report.ok, report.to_dict()
    email, digits = fake("email", KEY), fake("digits", KEY)
    before = prod.execute("SELECT id, email, phone, note FROM clients ORDER BY id")
    after = qa.execute("SELECT id, email, phone, note FROM clients ORDER BY id")
    assert [(i, email(e), p and digits(p), n) for i, e, p, n in before] == after
    assert all(b[1] != a[1] for b, a in zip(before, after, strict=True))
    # the foreign key on the masked natural key still joins every user to its client
    assert qa.scalar("SELECT count(*) FROM users JOIN clients ON email = client_email") == 3
    assert qa.scalar("SELECT count(*) FROM users WHERE ip << '10.1.2.0/24'") < 3
    # sequences are still advanced past the copied ids
    assert qa.scalar("INSERT INTO clients (email) VALUES ('new@x') RETURNING id") == 4
    shown = {t["target"]: t for t in report.plan.to_dict()["tables"]}
    assert shown["public.clients"]["masked"] == [
        {"column": "email", "kind": "email"},
        {"column": "phone", "kind": "digits"},
    ]
    assert prod.scalar("SELECT email FROM clients WHERE id = 1") == "Ann@corp.example"


def test_the_same_key_gives_the_same_qa_on_every_run(prod: Database, qa: Database) -> None:
    _pair(prod, qa)
    assert _run(prod, qa, RULES).ok
    first = qa.execute("SELECT * FROM users ORDER BY id")
    assert _run(prod, qa, RULES).ok
    assert qa.execute("SELECT * FROM users ORDER BY id") == first


@pytest.mark.parametrize(
    ("rules", "says"),
    [
        ({"nope": {"x": "email"}}, "production does not have"),
        ({"clients": {"nope": "email"}}, "column nope of public.clients"),
        ({"clients": {"email": "bogus"}}, "no kind 'bogus'"),
    ],
)
def test_a_rule_naming_nothing_stops_before_qa_is_written(
    prod: Database, qa: Database, rules: dict[str, dict[str, str]], says: str
) -> None:
    _pair(prod, qa)
    qa.execute("INSERT INTO clients (email) VALUES ('kept@qa')")
    with pytest.raises(ConfigError, match=says):
        _run(prod, qa, rules)
    assert qa.execute("SELECT email FROM clients") == [("kept@qa",)]


TOML = """
[mask]
key_env = "QA_MASK_KEY"

[mask.clients]
email = "email"
phone = "digits"

[mask."public.users"]
client_email = "email"
"""


def test_the_cli_masks_what_pgferry_toml_names(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _pair(prod, qa)
    (tmp_path / "pgferry.toml").write_text(TOML)
    key = "a-test-key-of-enough-bytes"
    ran = migrate_cli(prod, qa, "--yes", "--no-report", cwd=tmp_path, env={"QA_MASK_KEY": key})
    assert ran.code == 0, ran.stderr
    assert key not in ran.stdout + ran.stderr
    email = fake("email", Keyed(key.encode()))
    assert qa.scalar("SELECT email FROM clients WHERE id = 1") == email("Ann@corp.example")
    assert qa.scalar("SELECT count(*) FROM users JOIN clients ON email = client_email") == 3


def test_the_cli_without_the_key_stops_naming_the_variable_and_writes_nothing(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _pair(prod, qa)
    qa.execute("INSERT INTO clients (email) VALUES ('kept@qa')")
    (tmp_path / "pgferry.toml").write_text(TOML)
    ran = migrate_cli(prod, qa, "--yes", "--no-report", cwd=tmp_path)
    assert ran.code == 2, ran.stderr
    assert "QA_MASK_KEY" in ran.stderr and "Traceback" not in ran.stderr
    assert qa.execute("SELECT email FROM clients") == [("kept@qa",)]


def test_a_mask_rule_that_is_not_a_kind_name_is_a_config_error(tmp_path: Path) -> None:
    from pgferry.config import load

    path = tmp_path / "pgferry.toml"
    path.write_text("[mask.users]\nemail = 3\n")
    with pytest.raises(ConfigError, match=r"\[mask.users\] email: must be a kind"):
        load(path)
    path.write_text('[mask]\nkey_env = "K"\n[mask.users]\nemail = "email"\n')
    assert load(path).mask == (("users", (("email", Rule("email")),)),)
    assert load(path).mask_key_env == "K"


def test_columns_referencing_a_masked_key_follow_it(prod: Database, qa: Database) -> None:
    composite = """
    CREATE TABLE accounts (region text, code text, PRIMARY KEY (region, code));
    CREATE TABLE invoices (id int PRIMARY KEY, region text, code text,
                           FOREIGN KEY (region, code) REFERENCES accounts);
    CREATE TABLE notes (id int PRIMARY KEY, invoice_code text);
    """
    prod.execute(
        SCHEMA + ROWS + composite + "INSERT INTO accounts VALUES ('eu', 'A-100'), ('us', 'A-100');"
        "INSERT INTO invoices VALUES (1, 'eu', 'A-100'), (2, 'us', 'A-100');"
        "INSERT INTO notes VALUES (1, 'A-100');"
    )
    qa.execute(SCHEMA + composite)
    report = _run(prod, qa, {"clients": {"email": "email"}, "accounts": {"code": "digits"}})
    assert report.ok, report.to_dict()
    shown = {t["target"]: t["masked"] for t in report.plan.to_dict()["tables"]}
    assert shown["public.users"] == [{"column": "client_email", "kind": "email"}]
    assert shown["public.invoices"] == [{"column": "code", "kind": "digits"}]
    assert shown["public.notes"] == []  # no key: a look-alike column is left alone
    assert qa.scalar("SELECT count(*) FROM users JOIN clients ON email = client_email") == 3
    assert qa.scalar("SELECT count(*) FROM invoices JOIN accounts USING (region, code)") == 2
    assert qa.scalar("SELECT count(DISTINCT code) FROM accounts") == 1
    assert qa.scalar("SELECT code FROM accounts LIMIT 1") != "A-100"


@pytest.mark.parametrize(
    "rules",
    [
        {"users": {"client_email": "email"}},
        {"users": {"client_email": "email"}, "clients": {"email": "hash"}},
    ],
)
def test_a_rule_that_breaks_a_foreign_key_is_refused(
    prod: Database, qa: Database, rules: dict[str, dict[str, str]]
) -> None:
    _pair(prod, qa)
    with pytest.raises(ConfigError, match="breaks foreign key users_client_email_fkey"):
        _run(prod, qa, rules)
    assert qa.scalar("SELECT count(*) FROM clients") == 0


def test_verify_with_checksums_leaves_masked_columns_out_and_still_sees_the_rest(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    _pair(prod, qa)
    (tmp_path / "pgferry.toml").write_text(TOML)
    env = {"QA_MASK_KEY": "a-test-key-of-enough-bytes"}
    assert migrate_cli(prod, qa, "--yes", "--no-report", cwd=tmp_path, env=env).code == 0
    args = ("verify", "--from", prod.url, "--to", qa.url, "--checksums")
    ran = run_cli(*args, cwd=tmp_path)
    assert ran.code == 0, ran.stdout + ran.stderr
    qa.execute("UPDATE clients SET note = 'changed in QA' WHERE id = 2")
    ran = run_cli(*args, cwd=tmp_path)
    assert ran.code == 1, ran.stdout + ran.stderr
    assert "public.clients" in ran.stdout + ran.stderr


def test_a_table_name_without_schema_is_found_in_any_schema_as_tables_reads_it(
    prod: Database, qa: Database
) -> None:
    other = "CREATE SCHEMA app; CREATE TABLE app.people (id int PRIMARY KEY, email text);"
    prod.execute(SCHEMA + ROWS + other + "INSERT INTO app.people VALUES (1, 'p@corp.example');")
    qa.execute(SCHEMA + other)
    assert _run(prod, qa, {"people": {"email": "email"}}).ok
    assert qa.scalar("SELECT email FROM app.people") == fake("email", KEY)("p@corp.example")
    prod.execute("CREATE TABLE people (id int PRIMARY KEY, email text);")
    qa.execute("CREATE TABLE people (id int PRIMARY KEY, email text);")
    with pytest.raises(ConfigError, match=r"several schemas: app\.people, public\.people"):
        _run(prod, qa, {"people": {"email": "email"}})
