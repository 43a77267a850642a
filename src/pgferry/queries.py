"""SQL shipped as package data, one query per ``.sql`` file in ``pgferry/sql/``.

A file you can paste into psql is a file you can debug; identifiers are never
formatted into these files, they take parameters only.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from psycopg import sql


@cache
def load(name: str) -> sql.SQL:
    """The query in ``sql/<name>.sql``."""
    text = resources.files("pgferry").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    return sql.SQL(text.strip())
