"""How many locks a step takes at once, against what QA's server can hold.

A server's lock table has room for ``max_locks_per_transaction * (max_connections
+ max_prepared_transactions)`` locked objects, for every session together; a
transaction holds each lock it takes until it ends.  At the default (64 x 100)
one ``TRUNCATE`` of a few thousand tables overflows it and fails with "out of
shared memory".  So the copy set is emptied in one statement when that fits in
half the table (the other half is left to QA's own sessions and pgferry's
workers), and otherwise in batches that do; only tables tied together by
foreign keys that stay in place must share a statement.  When such a group
alone does not fit, :func:`truncate_batches` refuses before anything is
written, naming the setting and the value to raise it to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from . import queries
from .catalog import Name
from .errors import ServerLimit

#: pgferry takes at most 1/SHARE of the server's lock table in one transaction.
SHARE = 2


@dataclass(frozen=True)
class LockBudget:
    max_locks_per_transaction: int
    max_connections: int
    max_prepared_transactions: int

    @property
    def slots(self) -> int:
        """Locked objects the whole server can hold at once."""
        return self.max_locks_per_transaction * (
            self.max_connections + self.max_prepared_transactions
        )

    @property
    def per_transaction(self) -> int:
        """What one pgferry transaction may take."""
        return self.slots // SHARE

    def setting_for(self, locks: int) -> int:
        """The ``max_locks_per_transaction`` (a multiple of 64) that lets one
        transaction take *locks*."""
        sessions = self.max_connections + self.max_prepared_transactions
        needed = -(-locks * SHARE // max(1, sessions))
        return -(-max(needed, self.max_locks_per_transaction + 1) // 64) * 64

    def describe(self) -> str:
        return (
            f"max_locks_per_transaction {self.max_locks_per_transaction} x (max_connections "
            f"{self.max_connections} + max_prepared_transactions "
            f"{self.max_prepared_transactions}) = {self.slots}"
        )


def read_budget(conn: psycopg.Connection[Any]) -> LockBudget:
    row = conn.execute(queries.load("lock_settings")).fetchone()
    assert row is not None
    return LockBudget(int(row[0]), int(row[1]), int(row[2]))


def truncate_locks(
    conn: psycopg.Connection[Any], tables: Sequence[Name], partitioned: Collection[Name] = ()
) -> dict[Name, int]:
    """Objects a TRUNCATE of each of *tables* locks (with its partitions when *partitioned*)."""
    if not tables:
        return {}
    rows = conn.execute(
        queries.load("truncate_locks"),
        ([t.schema for t in tables], [t.name for t in tables], [t in partitioned for t in tables]),
    ).fetchall()
    found = {Name(str(r[0]), str(r[1])): int(r[2]) for r in rows}
    return {t: found.get(t, 1) for t in tables}


def _groups(tables: Sequence[Name], links: Iterable[tuple[Name, Name]]) -> list[list[Name]]:
    """*tables* split into groups that *links* (foreign keys left in place) tie together,
    in the order of their first table."""
    parent = {t: t for t in tables}

    def root(t: Name) -> Name:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for a, b in links:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    groups: dict[Name, list[Name]] = {}
    for t in tables:
        groups.setdefault(root(t), []).append(t)
    return list(groups.values())


def truncate_batches(
    conn: psycopg.Connection[Any],
    tables: Sequence[Name],
    *,
    partitioned: Collection[Name] = (),
    links: Iterable[tuple[Name, Name]] = (),
) -> list[list[Name]]:
    """The TRUNCATE statements that empty *tables* within QA's lock table: one when
    it fits, else batches of whole groups (*links*: pairs of tables a foreign key
    left in place ties, which PostgreSQL only empties together).

    Raises :class:`ServerLimit`, before anything is written, when one group alone
    needs more locks than one transaction may take.
    """
    if not tables:
        return []
    budget = read_budget(conn)
    locks = truncate_locks(conn, tables, partitioned)
    limit = budget.per_transaction - 1  # the transaction's own id takes a lock too
    if sum(locks.values()) <= limit:
        return [list(tables)]
    batches: list[list[Name]] = []
    size = 0
    for group in _groups(tables, links):
        need = sum(locks[t] for t in group)
        if need > limit:
            raise _too_big(group, need, budget)
        if not batches or size + need > limit:
            batches.append([])
            size = 0
        batches[-1] += group
        size += need
    return batches


def _too_big(group: list[Name], need: int, budget: LockBudget) -> ServerLimit:
    named = ", ".join(str(t) for t in group[:3]) + (", ..." if len(group) > 3 else "")
    what = (
        f"{len(group)} tables tied by foreign keys ({named})"
        if len(group) > 1
        else f"table {named} and its partitions"
    )
    return ServerLimit(
        f"emptying {what} takes {need} locks in one TRUNCATE, more than QA's server lets "
        f"one transaction hold ({budget.per_transaction}: half its lock table, "
        f"{budget.describe()}); nothing was written",
        hint=f"raise max_locks_per_transaction to {budget.setting_for(need + 1)} on QA's server "
        "(postgresql.conf or ALTER SYSTEM) and restart it, then rerun",
    )
