"""The masking key appears in no server log, no output, no report (issue 14, Tests).

Both servers log every statement of the run, with its parameters in full, for a
role made for the test (a role's settings follow it into every database it
opens, so a session pgferry opens elsewhere is logged too).  Then the logs, the
CLI's output and the report files are searched for the key in every form
pgferry holds it: as text, its bytes in hex and base64, and each kind's subkey.
The logs must also hold the run's COPY statements, so the test cannot pass on
an empty log.  A ``verify`` afterwards must not send production's masked values
to QA either: QA's log never sees one.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from psycopg import sql

from pgferry.masking import Keyed
from tests.migrate_support import Ran, migrate_cli, run_cli
from tests.pgtest import Database, Server

SCHEMA = """
CREATE TABLE log_clients (id int PRIMARY KEY, email text UNIQUE NOT NULL, phone text,
                          token uuid, seen_from inet, secret text);
CREATE TABLE log_users (id int PRIMARY KEY, client_email text REFERENCES log_clients (email));
"""
ROWS = """
INSERT INTO log_clients
  SELECT i, 'private.person' || i || '@corp.example', '+44 20 7946 ' || (1000 + i),
         md5(i::text)::uuid, ('10.9.8.' || i)::inet, 'diary of person ' || i
  FROM generate_series(1, 40) i;
INSERT INTO log_users SELECT i, 'private.person' || i || '@corp.example'
  FROM generate_series(1, 40) i;
"""
TOML = """
[mask]
key_env = "PGFERRY_MASK_KEY"

[mask.log_clients]
email = "email"
phone = "digits"
token = "uuid"
seen_from = "ip"
secret = "hash"
"""
KINDS = ("email", "digits", "uuid", "ip", "ipv4", "ipv6", "hash")
ROLE, PASSWORD = "mask_log_runner", "mask-log-pw"
#: every statement, its duration, and bind parameters without truncation
LOGGED = {"log_statement": "all", "log_min_duration_statement": "0"}
LOGGED_13 = {"log_parameter_max_length": "-1", "log_parameter_max_length_on_error": "-1"}


def _forms(key: str) -> dict[str, str]:
    """The key as pgferry could leak it: text, hex, base64, and each kind's subkey."""
    raw = key.encode()
    forms = {"key": key, "hex": raw.hex(), "base64": base64.b64encode(raw).decode()}
    keyed = Keyed(raw)
    forms.update({f"{kind} subkey": keyed.subkey(kind).hex() for kind in KINDS})
    return forms


def _leaks(text: str, forms: dict[str, str]) -> list[str]:
    lowered = text.lower()
    return [name for name, form in forms.items() if form.lower() in lowered]


@contextmanager
def _logged_role(server: Server) -> Iterator[None]:
    """A superuser login role whose sessions log every statement; reset afterwards."""
    settings = dict(LOGGED) | (LOGGED_13 if server.major >= 13 else {})
    with server.role(ROLE, password=PASSWORD, attrs="LOGIN SUPERUSER"):
        for name, value in settings.items():
            server.admin.execute(
                sql.SQL("ALTER ROLE {} SET {} = {}").format(
                    sql.Identifier(ROLE), sql.Identifier(name), sql.Literal(value)
                )
            )
        try:
            yield
        finally:
            server.admin.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(sql.Identifier(ROLE)))


class _Log:
    """What a cluster's server log gained since this was made (``pg_ctl -l``'s file:
    the test clusters run without the logging collector)."""

    def __init__(self, server: Server) -> None:
        assert server.admin.scalar("SHOW logging_collector") == "off"
        self.path = server.cluster.logfile
        self.start = self.path.stat().st_size

    def text(self) -> str:
        with self.path.open("rb") as f:
            f.seek(self.start)
            return f.read().decode(errors="replace")


def test_the_key_is_in_no_server_log_output_or_report(
    prod: Database, qa: Database, tmp_path: Path
) -> None:
    prod.execute(SCHEMA + ROWS)
    qa.execute(SCHEMA)
    (tmp_path / "pgferry.toml").write_text(TOML)
    key = f"LogCheck-{secrets.token_hex(16)}"
    forms = _forms(key)
    env = {"PGFERRY_MASK_KEY": key}
    reports = tmp_path / "reports"
    with _logged_role(prod.server), _logged_role(qa.server):
        prod_log, qa_log = _Log(prod.server), _Log(qa.server)
        ran = migrate_cli(
            prod.url_as(ROLE, PASSWORD),
            qa.url_as(ROLE, PASSWORD),
            "--yes",
            "--report-dir",
            str(reports),
            cwd=tmp_path,
            env=env,
        )
        assert ran.code == 0, ran.stdout + ran.stderr
        ran_logs = prod_log.text(), qa_log.text()
        verified = run_cli(
            "verify",
            "--from",
            prod.url_as(ROLE, PASSWORD),
            "--to",
            qa.url_as(ROLE, PASSWORD),
            "--checksums",
            cwd=tmp_path,
            env=env,
        )
        assert verified.code == 0, verified.stdout + verified.stderr
        prod_text, qa_text = prod_log.text(), qa_log.text()
    # the masking happened, and the logs saw the run's statements
    assert qa.scalar("SELECT count(*) FROM log_clients WHERE email LIKE '%@corp.example'") == 0
    assert re.search(r'statement: COPY \(SELECT .*"log_clients".* TO STDOUT', ran_logs[0])
    assert re.search(r'statement: COPY "public"\."log_clients" .* FROM STDIN', ran_logs[1])
    # verify sampled QA, and production answered from QA's values, logged in full
    assert 'FROM "public"."log_clients" LIMIT 1000' in qa_text
    assert '"pgferry row"' in prod_text
    assert re.search(r"parameters: \$1 = '\{1,2,3,.*,40\}', \$2 = '\{user\.", prod_text, re.I)
    # nowhere: server logs, output, report files (the .md, .json and the run log)
    written = sorted(reports.iterdir())
    assert {p.suffix for p in written} >= {".md", ".json", ".log"}, written
    places = {"production's log": prod_text, "QA's log": qa_text}
    places |= {f"output of {n}": r.stdout + r.stderr for n, r in _runs(ran, verified).items()}
    places |= {f"report {p.name}": p.read_text(errors="replace") for p in written}
    found = {where: _leaks(text, forms) for where, text in places.items()}
    assert not any(found.values()), found
    # and QA's log never held production's masked values (verify sends QA's to production)
    originals = [str(v) for row in prod.execute("SELECT email FROM log_clients") for v in row]
    assert originals
    assert [v for v in originals if v in qa_text] == []


def _runs(migrated: Ran, verified: Ran) -> dict[str, Ran]:
    return {"pgferry migrate": migrated, "pgferry verify": verified}
