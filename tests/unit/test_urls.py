"""URL splitting without a server: libpq's rules, and never a password in an error."""

from __future__ import annotations

import pytest

from pgferry import urls

KNOWN = frozenset({"sslmode", "password", "connect_timeout", "application_name", "schema"})


def test_a_plain_url_is_split_as_written() -> None:
    u = urls.read("postgresql://app:p%40ss@db.example.com:5433/shop?sslmode=require", KNOWN)
    assert (u.scheme, u.user, u.password, u.hosts, u.dbname) == (
        "postgresql",
        "app",
        "p%40ss",
        "db.example.com:5433",
        "shop",
    )
    assert u.query == (("sslmode", "require"),)
    assert u.without_password() == "postgresql://app@db.example.com:5433/shop?sslmode=require"
    assert u.libpq().startswith("postgresql://app:p%40ss@")


def test_sqlalchemy_schemes_reach_libpq_as_postgresql() -> None:
    u = urls.read("postgresql+psycopg2://u@h/d", KNOWN)
    assert u.scheme == "postgresql+psycopg2"
    assert u.libpq() == "postgresql://u@h/d"


def test_several_hosts_ipv6_and_the_local_socket() -> None:
    assert urls.read("postgres://h1:5432,h2/d", KNOWN).hosts == "h1:5432,h2"
    assert urls.read("postgresql://[::1]:5433/d", KNOWN).hosts == "[::1]:5433"
    local = urls.read("postgresql:///d", KNOWN)
    assert (local.hosts, local.dbname, local.user) == ("", "d", None)


def test_the_password_query_value_is_dropped_from_what_is_shown() -> None:
    u = urls.read("postgresql://u@h/d?password=hunter2&application_name=x", KNOWN)
    assert "hunter2" not in u.without_password()
    assert u.without_password().endswith("?application_name=x")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://u:a b@h/d", "space"),
        ("postgresql://u:100%@h/d", "'%'"),
        ("postgresql://u@h:99999/d", "port"),
        ("postgresql://u@[::1/d", "IPv6"),
    ],
)
def test_ambiguous_urls_are_refused_without_the_password(url: str, reason: str) -> None:
    with pytest.raises(urls.UrlProblem) as caught:
        urls.read(url, KNOWN)
    assert reason in caught.value.reason
    password = url.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    for text in (caught.value.reason, caught.value.shown, str(caught.value)):
        assert not password or password not in text


def test_summary_shows_scheme_host_and_database_only() -> None:
    assert urls.summary("postgresql://u:s3cr3t@db.example.com/shop") == (
        "postgresql://, host db.example.com, database shop"
    )
    assert urls.summary("jdbc:postgresql://h/d").startswith("jdbc:postgresql://")
    # an '@' in a query value could be the password's: only the scheme is told
    assert urls.summary("postgresql://h/d?password=a@b") == "postgresql://"
    assert urls.summary("host=h dbname=d") == ""


def test_is_url_and_ports() -> None:
    assert urls.is_url("postgres://h/d") and not urls.is_url("host=h dbname=d")
    assert urls.valid_port("5432") and not urls.valid_port("0") and not urls.valid_port("６")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"sslmode": "requir"}, "sslmode 'requir' is not one of"),
        ({"port": "5432,x"}, "port"),
        ({"connect_timeout": "ten"}, "connect_timeout must be a whole number"),
        ({"target_session_attrs": "read write!"}, "target_session_attrs value is not one of"),
    ],
)
def test_settings_libpq_checks_late_are_checked_early(params: dict[str, str], words: str) -> None:
    problem = urls.check_values(params)
    assert problem is not None and words in problem
    assert urls.check_values({"sslmode": "require", "port": "5432"}) is None


def test_libpq_reason_drops_what_it_echoed() -> None:
    said = urls.libpq_reason('invalid integer value "s3cr3t" for connection option "port"')
    assert "s3cr3t" not in said
    assert urls.libpq_reason('missing "=" after "abc" in connection info string').startswith(
        "a word has no '=value'"
    )
