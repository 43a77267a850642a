"""The harness itself: two clusters, fresh databases, prod and QA on different majors."""

from __future__ import annotations

from tests.pgtest import Database, Server


def test_prod_and_qa_are_separate_clusters(prod: Database, qa: Database) -> None:
    assert prod.server.cluster.port != qa.server.cluster.port
    assert prod.scalar("SELECT 1") == 1
    assert qa.scalar("SELECT current_database()") == qa.name


def test_versions_differ_where_the_machine_has_two(prod_server: Server, qa_server: Server) -> None:
    from tests.pgtest import choose_installs

    chosen = choose_installs()
    assert chosen is not None
    majors = {i.major for i in chosen}
    assert {prod_server.major, qa_server.major} == majors


def test_tcp_needs_the_password(prod: Database) -> None:
    import psycopg
    import pytest

    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(prod.url_as("postgres", "wrong-password"))
