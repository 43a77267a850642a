"""Connections: reading URLs, choosing them from the environment, pinning the
session, one-line failures, and never showing a password."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from pgferry import endpoints
from pgferry.embedded import free_port
from pgferry.endpoints import PINNED_SETTINGS, PRISMA_PARAMS, connect, mask, parse, resolve
from pgferry.errors import ConfigError, ConnectionFailed, ExitCode
from tests.pgtest import SUPERUSER_PASSWORD, Database

# -- parse() ------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "POSTGRESQL"])
def test_parse_reads_both_url_schemes(scheme: str) -> None:
    ep = parse(f"{scheme}://app:pw-parse-1@db.example.com:6543/appdb", role="qa")
    params = conninfo_to_dict(ep.conninfo)
    assert params["user"] == "app"
    assert params["host"] == "db.example.com"
    assert params["port"] == "6543"
    assert params["dbname"] == "appdb"
    assert ep.role == "qa"
    assert ep.schema is None
    assert ep.pgbouncer is False
    assert ep.dbname == "appdb"
    assert ep.describe() == "db.example.com:6543/appdb as app"


def test_parse_reads_libpq_keyword_strings() -> None:
    ep = parse("  host=db.example.com port=6543 dbname=appdb user=app password='a b c'  ")
    params = conninfo_to_dict(ep.conninfo)
    assert params == {
        "host": "db.example.com",
        "port": "6543",
        "dbname": "appdb",
        "user": "app",
        "password": "a b c",
    }
    assert ep.describe() == "db.example.com:6543/appdb as app"


def test_parse_of_nothing_leaves_libpq_defaults() -> None:
    ep = parse("")
    assert ep.conninfo == ""
    assert conninfo_to_dict(ep.conninfo) == {}


def test_prisma_parameters_are_accepted_and_hidden_from_libpq() -> None:
    url = (
        "postgresql://app:pw-prisma-1@db.example.com:5432/appdb"
        "?schema=app&connection_limit=5&pool_timeout=10&pgbouncer=true&sslaccept=strict"
        "&socket_timeout=30&statement_cache_size=100&sslmode=disable"
    )
    ep = parse(url)
    params = conninfo_to_dict(ep.conninfo)
    assert not PRISMA_PARAMS & params.keys()
    assert "schema=" not in ep.conninfo
    assert ep.schema == "app"
    assert ep.pgbouncer is True
    assert set(ep.ignored_params) == {
        "connection_limit",
        "pool_timeout",
        "sslaccept",
        "socket_timeout",
        "statement_cache_size",
    }
    # what libpq does understand stays
    assert params["sslmode"] == "disable"
    assert params["password"] == "pw-prisma-1"
    assert params["dbname"] == "appdb"


@pytest.mark.parametrize(
    ("query", "schema", "pgbouncer"),
    [
        ("schema=public", "public", False),
        ("schema=My%20Schema", "My Schema", False),
        ("schema=", None, False),
        ("pgbouncer=false", None, False),
        ("pgbouncer=TRUE", None, True),
        ("pgbouncer=1", None, True),
    ],
)
def test_prisma_schema_and_pgbouncer_values(
    query: str, schema: str | None, pgbouncer: bool
) -> None:
    ep = parse(f"postgresql://u@h/db?{query}")
    assert ep.schema == schema
    assert ep.pgbouncer is pgbouncer
    assert conninfo_to_dict(ep.conninfo) == {"user": "u", "host": "h", "dbname": "db"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sslmode=require", {"sslmode": "require"}),
        ("application_name=my%20app", {"application_name": "my app"}),
        ("connect_timeout=3", {"connect_timeout": "3"}),
        ("options=-c%20statement_timeout%3D5s", {"options": "-c statement_timeout=5s"}),
        ("application_name=a+b", {"application_name": "a+b"}),  # libpq: '+' is a plus
        (
            "sslmode=require&schema=app&application_name=x",
            {"sslmode": "require", "application_name": "x"},
        ),
    ],
)
def test_libpq_parameters_are_kept_unchanged(query: str, expected: dict[str, str]) -> None:
    url = f"postgresql://u@h/db?{query}"
    ep = parse(url)
    params = conninfo_to_dict(ep.conninfo)
    assert {k: params[k] for k in expected} == expected
    # parse() must hand libpq the same values libpq reads from the URL itself
    direct = conninfo_to_dict(url.replace("&schema=app", ""))
    assert params == direct


@pytest.mark.parametrize(
    "conninfo",
    [
        "postgresql://app:Sup3r-secret-9@db.example.com/appdb?bogus=1",
        "host=db.example.com password=Sup3r-secret-9 nonsense=1",
        "host=db.example.com password='Sup3r-secret-9 dbname=x",  # unterminated quote
        "host=db.example.com password='Sup3r secret-9",  # unterminated, with a space
        "postgresql://app:Sup3r-secret-9@[::1/appdb",  # broken IPv6 literal
    ],
)
def test_unreadable_conninfo_is_a_config_error_without_the_password(conninfo: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(conninfo, role="qa")
    exc = info.value
    assert exc.exit_code == ExitCode.USAGE
    shown = f"{exc}\n{exc.hint}"
    assert "qa" in str(exc)
    assert "\n" not in str(exc)
    for piece in ("Sup3r-secret-9", "Sup3r", "secret-9"):
        assert piece not in shown


# -- resolve() ----------------------------------------------------------------

ENV = {
    "PROD_DATABASE_URL": "postgresql://u@prod-host/db",
    "QA_DATABASE_URL": "postgresql://u@qa-host/db",
    "DATABASE_URL": "postgresql://u@plain-host/db",
}


def _host(ep: endpoints.Endpoint) -> str | None:
    host = conninfo_to_dict(ep.conninfo).get("host")
    return None if host is None else str(host)


@pytest.mark.parametrize("role", ["prod", "qa", "db"])
def test_flag_beats_environment(role: str) -> None:
    ep = resolve("postgresql://u@flag-host/db", role=role, environ=ENV)
    assert _host(ep) == "flag-host"
    assert ep.role == role


@pytest.mark.parametrize(
    ("role", "env_names", "expected"),
    [
        ("prod", ["PROD_DATABASE_URL", "QA_DATABASE_URL", "DATABASE_URL"], "prod-host"),
        ("prod", ["QA_DATABASE_URL", "DATABASE_URL"], None),  # never falls back to QA's
        ("qa", ["PROD_DATABASE_URL", "QA_DATABASE_URL", "DATABASE_URL"], "qa-host"),
        ("qa", ["PROD_DATABASE_URL", "DATABASE_URL"], "plain-host"),
        ("qa", ["PROD_DATABASE_URL"], None),  # never falls back to production's
        ("db", ["PROD_DATABASE_URL", "QA_DATABASE_URL", "DATABASE_URL"], "plain-host"),
        ("db", ["PROD_DATABASE_URL", "QA_DATABASE_URL"], "qa-host"),
        ("db", ["PROD_DATABASE_URL"], None),
        ("db", [], None),
    ],
)
def test_environment_order_per_role(role: str, env_names: list[str], expected: str | None) -> None:
    env = {name: ENV[name] for name in env_names}
    ep = resolve(None, role=role, environ=env)
    assert _host(ep) == expected
    if expected is None:
        assert ep.conninfo == ""  # libpq's PG* defaults and ~/.pgpass apply


def test_empty_flag_and_empty_variable_fall_through() -> None:
    env = {"QA_DATABASE_URL": "", "DATABASE_URL": ENV["DATABASE_URL"]}
    assert _host(resolve("", role="qa", environ=env)) == "plain-host"


def test_resolve_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", ENV["DATABASE_URL"])
    monkeypatch.setenv("QA_DATABASE_URL", "postgresql://u@qa-host/db?schema=qa_schema")
    assert _host(resolve(None, role="db")) == "plain-host"
    qa = resolve(None, role="qa")
    assert _host(qa) == "qa-host"
    assert qa.schema == "qa_schema"
    monkeypatch.delenv("DATABASE_URL")
    assert _host(resolve(None, role="db")) == "qa-host"
    monkeypatch.delenv("QA_DATABASE_URL")
    assert resolve(None, role="db").conninfo == ""
    assert _host(resolve("postgresql://u@flag-host/db", role="db")) == "flag-host"


# -- real connections ---------------------------------------------------------


def _show(conn: psycopg.Connection[Any], name: str) -> str:
    row = conn.execute(f"SHOW {name}").fetchone()  # constant names from PINNED_SETTINGS
    assert row is not None
    return str(row[0])


def _assert_pinned(conn: psycopg.Connection[Any]) -> None:
    for name, value in PINNED_SETTINGS.items():
        shown = _show(conn, name)
        if name == "DateStyle":
            # the output format is what travels; 'ISO' leaves the input order alone
            assert shown.split(",")[0].strip() == value, name
        elif name == "search_path":
            assert shown in ("", '""'), name
        else:
            assert shown == value, name
    row = conn.execute(
        "SELECT '2024-03-04'::date::text, '-1 day +02:03:04'::interval::text,"
        " (1::float8 / 3)::text, '2024-03-04 05:06:07+00'::timestamptz::text"
    ).fetchone()
    assert row == (
        "2024-03-04",
        "-1 days +02:03:04",
        "0.3333333333333333",
        "2024-03-04 05:06:07+00",
    )


@pytest.fixture(params=["prod", "qa"])
def either(request: pytest.FixtureRequest) -> Database:
    """A fresh database on each cluster in turn (two major versions)."""
    db: Database = request.getfixturevalue(request.param)
    return db


def test_connect_pins_settings_over_database_and_role_defaults(either: Database) -> None:
    prod = either
    db_settings = {
        "DateStyle": "SQL, DMY",
        "TimeZone": "Asia/Tokyo",
        "IntervalStyle": "sql_standard",
        "extra_float_digits": "0",
        "client_encoding": "LATIN1",
        "row_security": "on",
        "standard_conforming_strings": "off",
        "search_path": "public",
    }
    for name, value in db_settings.items():
        prod.execute(f"ALTER DATABASE \"{prod.name}\" SET {name} = '{value}'")
    # the defaults really are in force for a session that does not pin them
    with prod.connect() as raw:
        assert _show(raw, "DateStyle") == "SQL, DMY"
        assert _show(raw, "TimeZone") == "Asia/Tokyo"
        assert _show(raw, "IntervalStyle") == "sql_standard"

    with connect(parse(prod.url)) as conn:
        _assert_pinned(conn)

    with prod.server.role("pgferry_pinned_role", password="role-pw-pinned") as role:
        prod.execute(
            f"ALTER ROLE {role} IN DATABASE \"{prod.name}\" SET TimeZone = 'America/New_York'"
        )
        prod.execute(f"ALTER ROLE {role} IN DATABASE \"{prod.name}\" SET DateStyle = 'German'")
        with connect(parse(prod.url_as(role, "role-pw-pinned"))) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (role,)
            _assert_pinned(conn)


def test_connect_pins_settings_over_startup_options(qa: Database) -> None:
    url = qa.url + "?options=-c%20TimeZone%3DEurope/Paris%20-c%20IntervalStyle%3Diso_8601"
    with connect(parse(url), autocommit=True) as conn:
        _assert_pinned(conn)


def test_pinned_settings_hold_in_transactions(prod: Database) -> None:
    with connect(parse(prod.url)) as conn:
        assert not conn.autocommit
        with conn.transaction():
            _assert_pinned(conn)
        conn.rollback()
        _assert_pinned(conn)


def test_read_only_session_refuses_writes(prod: Database) -> None:
    prod.execute("CREATE TABLE t (id int)")
    for autocommit in (True, False):
        with connect(parse(prod.url), read_only=True, autocommit=autocommit) as conn:
            assert conn.execute("SELECT count(*) FROM public.t").fetchone() == (0,)
            if not autocommit:
                conn.rollback()
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("INSERT INTO public.t VALUES (1)")
            conn.rollback()
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("CREATE TABLE public.u (id int)")
    # and a normal session can write, so the refusal above came from read_only
    with connect(parse(prod.url), autocommit=True) as conn:
        conn.execute("INSERT INTO public.t VALUES (1)")
    assert prod.scalar("SELECT count(*) FROM t") == 1


def test_application_name_defaults_to_pgferry_and_the_url_wins(prod: Database) -> None:
    with connect(parse(prod.url)) as conn:
        assert _show(conn, "application_name") == "pgferry"
    with connect(parse(prod.url + "?application_name=nightly%20refresh")) as conn:
        assert _show(conn, "application_name") == "nightly refresh"
    url = prod.url + "?options=-c%20work_mem%3D4321"
    with connect(parse(url)) as conn:
        assert _show(conn, "work_mem") == "4321kB"


def test_pg_environment_variables_are_used_without_a_url(
    prod: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = prod.server.cluster
    monkeypatch.setenv("PGHOST", cluster.host)
    monkeypatch.setenv("PGPORT", str(cluster.port))
    monkeypatch.setenv("PGUSER", "postgres")
    monkeypatch.setenv("PGDATABASE", prod.name)
    monkeypatch.setenv("PGPASSWORD", SUPERUSER_PASSWORD)
    ep = resolve(None, role="db")
    assert ep.conninfo == ""
    assert ep.describe() == f"{cluster.host}:{cluster.port}/{prod.name} as postgres"
    assert ep.dbname == prod.name
    with connect(ep) as conn:
        row = conn.execute("SELECT current_database(), current_user, inet_server_port()")
        assert row.fetchone() == (prod.name, "postgres", cluster.port)
        _assert_pinned(conn)


def test_pgpass_supplies_the_password(
    prod: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = prod.server.cluster
    url = f"postgresql://postgres@{cluster.host}:{cluster.port}/{prod.name}"

    # without it, libpq has no password to send
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "absent"))
    with pytest.raises(ConnectionFailed) as info:
        connect(parse(url))
    assert "password" in str(info.value)

    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{cluster.host}:{cluster.port}:*:postgres:{SUPERUSER_PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    with connect(parse(url)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (prod.name,)


def test_prisma_url_connects(qa: Database) -> None:
    qa.execute("CREATE SCHEMA app; CREATE TABLE app.t (id int)")
    ep = parse(qa.url + "?schema=app&connection_limit=5&pgbouncer=true")
    assert ep.schema == "app"
    assert ep.pgbouncer
    with connect(ep, autocommit=True) as conn:
        assert conn.prepare_threshold is None
        for i in range(10):  # psycopg would prepare after 5 runs; pgbouncer forbids it
            conn.execute("SELECT count(*) + %s FROM app.t", [i])
        prepared = conn.execute("SELECT count(*) FROM pg_catalog.pg_prepared_statements")
        assert prepared.fetchone() == (0,)
        _assert_pinned(conn)


# -- failures -----------------------------------------------------------------


def _assert_one_line_failure(
    exc: ConnectionFailed, *, host: str, port: int | str, dbname: str, reason: str, secret: str
) -> None:
    msg = str(exc)
    assert isinstance(exc, ConnectionFailed)
    assert exc.exit_code == ExitCode.CONNECTION == 4
    assert "\n" not in msg
    assert f"{host}:{port}/{dbname}" in msg, msg
    assert reason.lower() in msg.lower(), msg
    assert exc.hint, msg
    assert "\n" not in exc.hint
    for text in (msg, exc.hint, repr(exc)):
        assert secret not in text
        assert quote(secret, safe="") not in text


def test_closed_port_is_connection_refused(prod: Database) -> None:
    port = free_port()
    secret = "Refused-Pa55-xyz"
    url = f"postgresql://postgres:{secret}@127.0.0.1:{port}/{prod.name}"
    with pytest.raises(ConnectionFailed) as info:
        connect(parse(url, role="qa"))
    _assert_one_line_failure(
        info.value,
        host="127.0.0.1",
        port=port,
        dbname=prod.name,
        reason="connection refused",
        secret=secret,
    )
    assert "QA database" in str(info.value)


def test_wrong_password(prod: Database) -> None:
    secret = "Wrong-Pa55/w@rd:%x"
    url = prod.url_as("postgres", secret)
    with pytest.raises(ConnectionFailed) as info:
        connect(parse(url, role="prod"))
    cluster = prod.server.cluster
    _assert_one_line_failure(
        info.value,
        host=cluster.host,
        port=cluster.port,
        dbname=prod.name,
        reason="password authentication failed",
        secret=secret,
    )
    assert "production database" in str(info.value)
    assert SUPERUSER_PASSWORD not in str(info.value)


def test_database_that_does_not_exist(qa: Database) -> None:
    cluster = qa.server.cluster
    url = cluster.url("no_such_database_here")
    with pytest.raises(ConnectionFailed) as info:
        connect(parse(url))
    _assert_one_line_failure(
        info.value,
        host=cluster.host,
        port=cluster.port,
        dbname="no_such_database_here",
        reason='database "no_such_database_here" does not exist',
        secret=SUPERUSER_PASSWORD,
    )


def test_unknown_host_name() -> None:
    secret = "Unknown-Host-Pa55"
    url = f"postgresql://app:{secret}@no-such-host.invalid:5999/appdb?connect_timeout=5"
    with pytest.raises(ConnectionFailed) as info:
        connect(parse(url))
    _assert_one_line_failure(
        info.value,
        host="no-such-host.invalid",
        port=5999,
        dbname="appdb",
        reason="no-such-host.invalid",
        secret=secret,
    )
    assert "host name" in (info.value.hint or "")


def test_ssl_required_by_a_server_without_ssl(qa: Database) -> None:
    with pytest.raises(ConnectionFailed) as info:
        connect(parse(qa.url + "?sslmode=require"))
    exc = info.value
    assert "ssl" in str(exc).lower()
    assert "sslmode" in (exc.hint or "")
    assert SUPERUSER_PASSWORD not in f"{exc} {exc.hint}"


# -- mask() -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        (
            "postgresql://app:hunter22@db.example.com:5432/appdb",
            "hunter22",
            ["app", "db.example.com", "5432", "appdb"],
        ),
        ("postgres://app:hunter22@db.example.com/appdb", "hunter22", ["app", "appdb"]),
        ("postgresql://app:p%40ss%3Aw%2Fd%25x@h.example/appdb", "p%40ss%3Aw%2Fd%25x", ["app"]),
        ("postgresql://app:p@ss:w/d%x@h.example:5432/appdb", "p@ss:w/d%x", ["h.example:5432"]),
        ("postgresql://app:p@ss@h.example/appdb", "p@ss", ["h.example/appdb"]),
        ("postgresql://:only-pw-1@h.example/appdb", "only-pw-1", ["h.example/appdb"]),
        (
            "postgresql://app:hunter22@h1.example:5432,h2.example:5433/appdb",
            "hunter22",
            ["h1.example:5432,h2.example:5433/appdb"],
        ),
        (
            "could not connect to POSTGRESQL://app:hunter22@h.example/appdb, retrying",
            "hunter22",
            ["h.example/appdb, retrying", "could not connect to"],
        ),
        ("host=h.example password=hunter22 dbname=appdb", "hunter22", ["host=h.example"]),
        ("host=h.example password = hunter22 dbname=appdb", "hunter22", ["dbname=appdb"]),
        ("host=h.example password='a b c' dbname=appdb", "a b c", ["dbname=appdb"]),
        ("host=h password='it\\'s a b' dbname=appdb", "s a b", ["dbname=appdb"]),
        ("host=h password=ab&cd&ef dbname=appdb", "cd&ef", ["dbname=appdb"]),
        ("host=h PASSWORD=hunter22", "hunter22", ["host=h"]),
        (
            "postgresql://app@h.example/appdb?password=hunter22&sslmode=require",
            "hunter22",
            ["app@h.example/appdb", "sslmode=require"],
        ),
        (
            "postgresql://app@h.example/appdb?sslmode=require&password=hunter22",
            "hunter22",
            ["sslmode=require"],
        ),
    ],
)
def test_mask_hides_passwords(text: str, secret: str, kept: list[str]) -> None:
    with mock.patch.object(endpoints, "_SECRETS", set()):  # the patterns alone
        masked = mask(text)
    assert secret not in masked
    assert "***" in masked
    for piece in kept:
        assert piece in masked, masked


def test_mask_keeps_what_is_not_a_password() -> None:
    for text in (
        "postgresql://app@db.example.com:5432/appdb?sslmode=require",
        "host=db.example.com port=5432 dbname=appdb user=app",
        "cannot connect to db.example.com:5432/appdb as app: Connection refused",
    ):
        with mock.patch.object(endpoints, "_SECRETS", set()):
            assert mask(text) == text


def test_mask_hides_a_password_parse_has_seen_wherever_it_appears() -> None:
    parse("host=h.example password=Rem3mbered-Pw")
    assert mask("libpq said: Rem3mbered-Pw is wrong") == "libpq said: *** is wrong"


URL_SKELETON = "postgresql://app_user:{}@db.example.com:6543/appdb?sslmode=disable"


@settings(max_examples=200, deadline=None, database=None)
@given(
    password=st.text(alphabet=string.printable, min_size=3, max_size=40),
    safe=st.sampled_from(["/", ""]),
)
def test_mask_never_shows_a_generated_password(password: str, safe: str) -> None:
    quoted = quote(password, safe=safe)
    url = URL_SKELETON.format(quoted)
    expected = URL_SKELETON.format("***")
    with mock.patch.object(endpoints, "_SECRETS", set()):
        masked = mask(url)
        in_text = mask(f"error: cannot use {url} today")
    assert masked == expected
    assert in_text == f"error: cannot use {expected} today"
    if password not in expected:
        assert password not in masked
    if quoted not in expected:
        assert quoted not in masked


@settings(max_examples=200, deadline=None, database=None)
@given(password=st.text(alphabet=string.printable, min_size=3, max_size=40))
def test_mask_never_shows_a_generated_keyword_password(password: str) -> None:
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    conninfo = f"host=db.example.com password='{escaped}' dbname=appdb"
    assert conninfo_to_dict(conninfo)["password"] == password  # libpq reads it back
    with mock.patch.object(endpoints, "_SECRETS", set()):
        masked = mask(conninfo)
    assert masked == "host=db.example.com password=*** dbname=appdb"
