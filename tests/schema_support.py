"""Schemas compared object by object, as pg_dump splits them; and an independent restore.

``objects(db)`` is pg_dump's archive of *db* cut into its entries (one per object: a table,
a policy, a grant, a comment), keyed by kind, schema and name, each with its text.  Two
databases on one server dumped by the same pg_dump give equal texts for equal objects.
``restored_by_pg_restore`` is the oracle: production's archive restored by pg_restore
itself (no pgferry code) into a fresh database on QA's server.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pgferry
from pgferry.clienttools import libpq_env, pick_tool
from pgferry.schema import archive
from tests.pgtest import Database, Server

Objects = dict[tuple[str, str, str], str]


def objects(db: Database) -> Objects:
    endpoint = pgferry.parse(db.url)
    with tempfile.TemporaryDirectory(prefix="pgferry-test-") as tmp:
        found = archive.dump(endpoint, 18, Path(tmp) / "db.dump", label=db.name)
        return {e.key: " ".join(e.sql.split()) for e in found.entries}


def restored_by_pg_restore(prod: Database, qa_server: Server) -> Database:
    """Production's schema, restored by pg_dump and pg_restore alone into QA's server."""
    oracle = qa_server.create("oracle")
    dump = pick_tool("pg_dump", 18)
    restore = pick_tool("pg_restore", 18)
    assert dump is not None and restore is not None
    with tempfile.TemporaryDirectory(prefix="pgferry-test-") as tmp:
        path = Path(tmp) / "prod.dump"
        subprocess.run(
            [str(dump.path), "--schema-only", "--format=custom", f"--file={path}"],
            env=libpq_env(pgferry.parse(prod.url).params()),
            check=True,
            capture_output=True,
        )
        subprocess.run(  # errors (a role QA lacks) are left for the comparison to show
            [
                str(restore.path),
                "--no-owner",
                "--no-tablespaces",
                "--dbname",
                oracle.name,
                str(path),
            ],
            env=libpq_env(pgferry.parse(oracle.url).params()),
            check=False,
            capture_output=True,
        )
    return oracle
