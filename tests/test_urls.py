"""No password, ever: malformed and hostile connection strings through the library and
the CLI, a generated corpus of passwords holding every reserved character, and the
URL-related config errors (unknown scheme, bad port, bad sslmode, unset url_env)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from pgferry import endpoints
from pgferry.embedded import free_port
from pgferry.endpoints import connect, parse, resolve
from pgferry.errors import ConfigError, ConnectionFailed, ExitCode
from tests.pgtest import Database

ROOT = Path(__file__).resolve().parents[1]

#: Letters no word pgferry prints is made of (no vowels): a run of them in the output
#: can only have come from the password.
CORE = "BCDFGHJKLMNPQRSTVWXZ"
RESERVED = "@%/:?#[] '\"\\&=+;,$!*()<>{}|^`~"
PW = "BCDF@%/:?#[] '\"\\&=+;,$!*()<>{}|^`~GHJK"  # every reserved character, one password


def pieces(password: str) -> list[str]:
    """What must not be shown: the password, encoded or not, and each of its cores."""
    runs = re.findall(rf"[{CORE}]{{4,}}", password)
    return [password, quote(password, safe=""), *runs]


def assert_hidden(password: str, *texts: str) -> None:
    for text in texts:
        for piece in pieces(password):
            assert piece not in text, f"{piece!r} shown in {text!r}"


@pytest.fixture(autouse=True)
def _fresh_secrets() -> Iterator[None]:
    """Every test as a fresh process: mask() knows no password parse() has not read."""
    with mock.patch.object(endpoints, "_SECRETS", set()):
        yield


def closed() -> str:
    """host and port where nothing listens: connecting fails at once."""
    return f"127.0.0.1:{free_port()}"


# -- the shapes the adversarial run reproduced, and more ---------------------------------

SECRET = "QXZKTRWPLM"


@pytest.mark.parametrize(
    ("conninfo", "says"),
    [
        (f"http://app:{SECRET}@db.example.com/appdb", "http://"),
        (f"https://app:{SECRET}@db.example.com/appdb", "https://"),
        (f"mysql://app:{SECRET}@db.example.com:3306/appdb", "mysql://"),
        (f"mysql+pymysql://app:{SECRET}@db.example.com/appdb", "mysql+pymysql://"),
        (f"jdbc:postgresql://app:{SECRET}@db.example.com/appdb", "jdbc:postgresql://"),
        ("postgresql://app:QXZK TRWPLM@db.example.com/appdb", "space"),
        ("postgresql://app:QXZK@TRWPLM@db.example.com/appdb", "%40"),
        ("postgresql://app:QXZK%TRWPLM@db.example.com/appdb", "%25"),
        ("postgresql://app:QXZK%zzTRWPLM@db.example.com/appdb", "%25"),
        ("postgresql://app:QXZK/TRWPLM@db.example.com/appdb", "%2F"),
        ("postgresql://app:QXZK/TRW?PLM=1@db.example.com/appdb", "%2F"),
        ("postgresql://app:QXZK/TRW@PLM@db.example.com/appdb", "%2F"),
        ("postgresql+psycopg2://app:QXZK TRWPLM@db.example.com/appdb", "space"),
        (f"postgresql://app:{SECRET}@db.example.com:notaport/appdb", "port"),
        (f"postgresql://app:{SECRET}@db.example.com:99999/appdb", "port"),
        (f"postgresql://app:{SECRET}@db.example.com/appdb?sslmode=bogus", "sslmode"),
        (f"postgresql://app:{SECRET}@db.example.com/appdb?sslmode", "no '=value'"),
        (f"postgresql://app:{SECRET}@db.example.com/appdb?bogus=1", "bogus"),
        (f"postgresql://app:{SECRET}@[::1/appdb", "IPv6"),
        (f"postgresql://app:{SECRET}@db.example.com/app db", "space"),
        ("postgresql://app@db.example.com/appdb?password=QXZK TRWPLM", "space"),
        ("host=db.example.com password=QXZK TRWPLM dbname=appdb", "quote"),
        ("host=db.example.com password='QXZK TRWPLM dbname=appdb", "unterminated"),
        (f"host=db.example.com password={SECRET} port=notaport", "port"),
        (f"host=db.example.com password={SECRET} sslmode=bogus", "sslmode"),
        (f"host=db.example.com password={SECRET} bogus=1", "invalid"),
        (f"{SECRET}", "="),
        (f"app:{SECRET}@db.example.com/appdb", "="),
    ],
)
def test_malformed_conninfo_is_a_config_error_without_the_password(
    conninfo: str, says: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse(conninfo, role="qa")
    exc = info.value
    assert exc.exit_code == ExitCode.USAGE == 2
    shown = f"{exc}\n{exc.hint}"
    assert "\n" not in str(exc)
    assert says in shown, shown
    assert_hidden(SECRET, shown)
    for half in ("QXZK", "TRWPLM"):
        assert half not in shown, shown


def test_an_unknown_scheme_is_named_with_host_and_database() -> None:
    with pytest.raises(ConfigError) as info:
        parse(f"mysql://app:{SECRET}@db.example.com:3306/appdb", role="prod")
    assert str(info.value) == (
        "cannot use the prod URL (mysql://, host db.example.com, database appdb): "
        "the scheme is mysql://; pgferry needs a postgresql:// URL"
    )


def test_an_unencoded_at_shows_the_host_after_the_last_at() -> None:
    with pytest.raises(ConfigError) as info:
        parse("postgresql://app:QXZK@TRWPLM@db.example.com:5432/appdb")
    assert "(postgresql://, host db.example.com, database appdb)" in str(info.value)


@pytest.mark.parametrize(
    "scheme",
    [
        "postgresql+psycopg2",
        "postgresql+psycopg",
        "postgresql+asyncpg",
        "postgresql+pg8000",
        "postgres+psycopg2",
        "POSTGRESQL+PSYCOPG2",
    ],
)
def test_sqlalchemy_schemes_read_as_postgresql(scheme: str) -> None:
    tail = f"app:{quote(PW, safe='')}@db.example.com:6543/appdb?sslmode=require&schema=app"
    ep = parse(f"{scheme}://{tail}", role="qa")
    plain = parse(f"postgresql://{tail}", role="qa")
    assert ep.conninfo.startswith("postgresql://")
    assert conninfo_to_dict(ep.conninfo) == conninfo_to_dict(plain.conninfo)
    assert conninfo_to_dict(ep.conninfo)["password"] == PW
    assert ep.schema == "app"
    assert ep.describe() == "db.example.com:6543/appdb as app"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:QXZK?TRWPLM@db.example.com/appdb",  # libpq: '?' before '@' is fine
        "postgresql://app:QXZK#TRWPLM@db.example.com/appdb",
        "postgresql://app:QXZK[TRW]PLM@db.example.com/appdb",
        "postgresql://app:QXZK:TRW&PLM=,@db.example.com/appdb",
    ],
)
def test_what_libpq_reads_unencoded_is_read_the_same(url: str) -> None:
    ep = parse(url)
    assert conninfo_to_dict(ep.conninfo) == conninfo_to_dict(url)
    assert_hidden("QXZK", ep.describe(), repr(ep), endpoints.mask(ep.conninfo))


def test_an_at_in_a_parameter_value_is_not_a_stray_password() -> None:
    ep = parse("postgresql://db.example.com/appdb?user=me@corp&sslmode=require")
    assert conninfo_to_dict(ep.conninfo)["user"] == "me@corp"


# -- a generated corpus: every reserved character, URL and keyword form ------------------

core = st.text(alphabet=CORE, min_size=4, max_size=8)
reserved = st.text(alphabet=RESERVED, min_size=1, max_size=3)
passwords = st.builds(
    lambda first, rest: first + "".join(a + b for a, b in rest),
    core,
    st.lists(st.tuples(reserved, st.one_of(core, st.just(""))), min_size=1, max_size=4),
)


def shapes(password: str, where: str) -> list[str]:
    """The password in every form a user might write it, right and wrong."""
    encoded = quote(password, safe="")
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    host, port = where.split(":")
    return [
        f"postgresql://app:{password}@{where}/appdb",
        f"postgresql://app:{encoded}@{where}/appdb",
        f"postgresql+psycopg2://app:{password}@{where}/appdb",
        f"postgresql+psycopg://app:{encoded}@{where}/appdb?sslmode=disable",
        f"postgres+asyncpg://app:{encoded}@{where}/appdb",
        f"mysql://app:{password}@{where}/appdb",
        f"http://app:{encoded}@{where}/appdb",
        f"postgresql://app:{password}@{host}:notaport/appdb",
        f"postgresql://app:{encoded}@{where}/appdb?sslmode=bogus",
        f"postgresql://app@{where}/appdb?password={encoded}",
        f"postgresql://app@{where}/appdb?password={password}",
        f"host={host} port={port} dbname=appdb user=app password='{escaped}'",
        f"host={host} port={port} dbname=appdb user=app password={password}",
        f"host={host} port={port} password='{escaped}' sslmode=bogus",
    ]


@settings(max_examples=50, deadline=None, database=None)
@given(password=passwords)
def test_generated_passwords_never_shown_by_the_library(password: str) -> None:
    where = closed()
    for i, text in enumerate(shapes(password, where)):
        with mock.patch.object(endpoints, "_SECRETS", set()):
            try:
                ep = resolve(None, role="qa", environ={"QA_DATABASE_URL": text})
            except ConfigError as exc:
                assert exc.exit_code == ExitCode.USAGE
                assert "\n" not in exc.message
                assert_hidden(password, exc.message, exc.hint or "", repr(exc))
                assert i not in (1, 3, 4, 11), f"a well-formed shape refused: {exc}"
                continue
            if i in (1, 3, 4, 11):  # written correctly: libpq gets the password exactly
                assert conninfo_to_dict(ep.conninfo)["password"] == password
            assert_hidden(password, ep.describe(), repr(ep), endpoints.mask(ep.conninfo))
            with pytest.raises(ConnectionFailed) as info:
                connect(ep).close()
            assert_hidden(password, str(info.value), info.value.hint or "")


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(password=passwords)
def test_generated_passwords_never_shown_by_the_cli(
    password: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pgferry.cli import main

    monkeypatch.chdir(tmp_path)
    where = closed()
    other = f"postgresql://app@{closed()}/qa"
    for text in shapes(password, where):
        for args in (
            ["preflight", "--from", text, "--to", other],
            ["migrate", "--dry-run", "--from", other, "--to", text],
            ["doctor", "--db", text],
            ["sequences", "check", "--db", text],
        ):
            with mock.patch.object(endpoints, "_SECRETS", set()), pytest.raises(SystemExit) as info:
                main(args)
            out, err = capsys.readouterr()
            assert info.value.code in (ExitCode.USAGE, ExitCode.CONNECTION, ExitCode.FOUND)
            assert "Traceback" not in err
            assert_hidden(password, out, err)
    for path in tmp_path.rglob("*"):  # reports, logs: nothing written holds it
        if path.is_file():
            assert_hidden(password, path.read_text(errors="replace"))


# -- the same through a real process ----------------------------------------------------


def run(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgferry", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
        check=False,
    )


def one_error_line(err: str) -> str:
    lines = err.rstrip("\n").splitlines()
    assert 1 <= len(lines) <= 2 and lines[0].startswith("error: "), err
    assert len(lines) == 1 or lines[1].startswith("hint: "), err
    return lines[0]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://app:QXZK TRWPLM@{}/appdb",
        f"http://app:{SECRET}@{{}}/appdb",
        f"mysql://app:{SECRET}@{{}}/appdb",
        "postgresql://app:QXZK TRWPLM@{}/appdb",
        "postgresql://app:QXZK@TRWPLM@{}/appdb",
        "postgresql://app:QXZK%TRWPLM@{}/appdb",
        "postgresql://app:QXZK/TRWPLM@{}/appdb",
        f"postgresql://app:{SECRET}@localhost:notaport/appdb",
        f"postgresql://app:{SECRET}@{{}}/appdb?sslmode=bogus",
    ],
)
def test_the_reproduced_shapes_exit_2_in_one_line(url: str) -> None:
    url = url.format(closed())
    other = f"postgresql://app@{closed()}/qa"
    for args in (
        ("preflight", "--from", url, "--to", other),
        ("migrate", "--dry-run", "--from", other, "--to", url),
        ("doctor", "--db", url),
    ):
        proc = run(*args)
        assert proc.returncode == ExitCode.USAGE, proc.stderr
        line = one_error_line(proc.stderr)
        assert "cannot use the" in line
        assert "***" not in proc.stderr  # the hint is shown whole, not masked into nonsense
        for piece in (SECRET, "QXZK", "TRWPLM"):
            assert piece not in proc.stdout + proc.stderr


def test_unknown_scheme_through_the_cli_names_it(tmp_path: Path) -> None:
    proc = run("sequences", "check", "--db", f"mysql://app:{SECRET}@localhost/appdb")
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert "mysql://" in line and "pgferry needs a postgresql:// URL" in line
    assert SECRET not in proc.stdout + proc.stderr


# -- url_env ------------------------------------------------------------------------------


def test_an_unset_url_env_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pgferry.cli import main

    (tmp_path / "pgferry.toml").write_text(
        '[source]\nurl_env = "MY_PROD_URL"\n\n[target]\nurl_env = "MY_QA_URL"\n'
    )
    monkeypatch.chdir(tmp_path)
    for command in (["preflight"], ["migrate", "--dry-run"]):
        monkeypatch.delenv("MY_PROD_URL", raising=False)
        with pytest.raises(SystemExit) as info:
            main(command)
        _, err = capsys.readouterr()
        assert info.value.code == ExitCode.USAGE, err
        assert "$MY_PROD_URL is not set" in one_error_line(err)
        assert "[source] url_env" in err
        monkeypatch.setenv("MY_PROD_URL", f"postgresql://app:{SECRET}@{closed()}/prod")
        with pytest.raises(SystemExit) as info:
            main(command)
        _, err = capsys.readouterr()
        assert info.value.code == ExitCode.USAGE, err
        assert "$MY_QA_URL is not set" in one_error_line(err)
        assert SECRET not in err


def test_an_unset_url_env_through_resolve() -> None:
    with pytest.raises(ConfigError) as info:
        resolve(None, role="qa", environ={"QA_DATABASE_URL": "x"}, env_names=["MY_QA_URL"])
    assert "$MY_QA_URL" in str(info.value)
    # a flag's URL needs no variable
    ep = resolve("postgresql://u@h/db", role="qa", environ={}, env_names=["MY_QA_URL"])
    assert ep.describe() == "h:5432/db as u"


# -- a real server, where connecting is the point ------------------------------------------


def test_a_password_with_every_reserved_character_logs_in(qa: Database) -> None:
    with qa.server.role("reserved_chars", password=PW) as role:
        where = f"{qa.server.cluster.host}:{qa.server.cluster.port}"
        escaped = PW.replace("\\", "\\\\").replace("'", "\\'")
        host, port = where.split(":")
        good = [
            f"postgresql://{role}:{quote(PW, safe='')}@{where}/{qa.name}",
            f"postgresql+psycopg2://{role}:{quote(PW, safe='')}@{where}/{qa.name}",
            f"postgres+asyncpg://{role}:{quote(PW, safe='')}@{where}/{qa.name}?schema=public",
            f"host={host} port={port} dbname={qa.name} user={role} password='{escaped}'",
        ]
        for text in good:
            with connect(parse(text)) as conn:
                assert conn.execute("SELECT current_user").fetchone() == (role,)
        wrong = f"postgresql://{role}:{quote(PW[::-1], safe='')}@{where}/{qa.name}"
        with pytest.raises(ConnectionFailed) as info:
            connect(parse(wrong)).close()
        assert_hidden(PW, str(info.value))
        assert_hidden(PW[::-1], str(info.value))
        proc = run("doctor", "--db", good[1])
        assert proc.returncode in (ExitCode.OK, ExitCode.FOUND), proc.stderr
        assert "checked " in proc.stdout
        assert_hidden(PW, proc.stdout, proc.stderr)
        raw = f"postgresql://{role}:{PW}@{where}/{qa.name}"
        proc = run("sequences", "check", "--db", raw)
        assert proc.returncode == ExitCode.USAGE, proc.stderr
        assert_hidden(PW, proc.stdout, proc.stderr)


def test_an_unencoded_password_with_at_and_slash_is_refused_not_shown() -> None:
    """'BBBB:@/BBBB' written as is: libpq would read the password as 'BBBB:', no host, and
    the database 'BBBB@host/appdb', which messages then showed (found by hypothesis)."""
    for password in ("BBBB:@/BBBB", "BBBB:@BBBB/"):
        url = f"postgresql://app:{password}@h:1/db"
        with pytest.raises(ConfigError) as info:
            resolve(None, role="qa", environ={"QA_DATABASE_URL": url})
        assert info.value.exit_code == ExitCode.USAGE
        assert_hidden(password, info.value.message, info.value.hint or "")
