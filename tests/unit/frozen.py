"""Read the frozen catalogs and messages of tests/unit/frozen/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pgferry.catalog import Catalog
from pgferry.catalog.frozen import catalog_from_dict

FOLDER = Path(__file__).resolve().parent / "frozen"
SCENARIOS = ("pagila", "chinook", "app", "app_drifted", "casts", "shapes")


@cache
def raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FOLDER / f"{name}.json").read_text(encoding="utf-8"))
    return data


@cache
def pair(name: str) -> tuple[Catalog, Catalog]:
    """(production, QA): the scenario's catalogs, as read_catalog returned them."""
    data = raw(name)
    return catalog_from_dict(data["prod"]), catalog_from_dict(data["qa"])


def messages(side: str) -> dict[str, str]:
    """The servers' own error messages by situation, as psql printed them."""
    out: dict[str, str] = raw("messages")[side]["messages"]
    return out
