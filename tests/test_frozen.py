"""The committed frozen catalogs (tests/unit/frozen/) are what the freezer reads today.

When this fails after a change to the catalog model, its queries or a scenario,
run ``make freeze`` and commit the files it rewrites.
"""

from __future__ import annotations

import json

import pytest

from tests.freezer import FROZEN, dumps, freeze
from tests.pgtest import Server

pytestmark = pytest.mark.slow


def test_frozen_files_are_current(prod_server: Server, qa_server: Server) -> None:
    if (prod_server.major, qa_server.major) != (18, 15):
        pytest.skip("the files were frozen from PostgreSQL 18 (prod) and 15 (QA)")
    fresh = freeze(prod_server, qa_server)
    committed = {p.name for p in FROZEN.glob("*.json")}
    assert committed == set(fresh), "make freeze: files added or gone"
    for name, data in fresh.items():
        on_disk = json.loads((FROZEN / name).read_text(encoding="utf-8"))
        assert on_disk == json.loads(dumps(data)), f"{name} is stale: run make freeze"
