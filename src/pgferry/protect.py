"""``[target] protected``: targets pgferry refuses to write to, by name pattern.

Small on purpose (no catalog, plan or schema imports) so that every module and
command that writes to QA can refuse a protected target before it connects.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from .endpoints import Endpoint
from .errors import RefusedError


def refuse_protected(target: Endpoint, dbname: str, protected: Sequence[str]) -> None:
    """Refuse a target whose database or ``host:port/dbname`` matches a protected pattern."""
    described = target.describe()
    where = described.rsplit(" as ", 1)[0]  # host:port/dbname, as patterns are written
    for pattern in protected:
        if fnmatch.fnmatchcase(dbname, pattern) or fnmatch.fnmatchcase(where, pattern):
            raise RefusedError(
                f"the target {described} matches the protected pattern {pattern!r}",
                hint="protected targets are listed in pgferry.toml ([target] protected)",
            )
