"""The harness itself: a test's databases are dropped when it ends, templates stay."""

from __future__ import annotations

from tests.pgtest import CREATED, Database, Server, drop_made_since


def _exists(server: Server, name: str) -> bool:
    return bool(server.admin.scalar("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)))


def test_databases_made_by_a_test_are_dropped_even_with_a_session_open(
    qa: Database, qa_server: Server
) -> None:
    first = len(CREATED)
    made = qa_server.create("harness")
    from_template = qa_server.from_template("harness_tpl", lambda db: None, hint="harness")
    template = qa_server.template("harness_tpl", lambda db: None)
    with made.connect() as conn:  # an open session does not stop the drop
        conn.execute("SELECT 1")
        assert drop_made_since(first) == [made.name, from_template.name]
    assert not _exists(qa_server, made.name) and not _exists(qa_server, from_template.name)
    assert _exists(qa_server, template) and _exists(qa_server, qa.name)
    assert CREATED[-1] == qa  # the fixture's own database is dropped after the test
