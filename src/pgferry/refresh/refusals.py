"""Refusals before ``migrate`` writes anything: the target is production or protected,
row-level security would hide rows, QA's schema does not fit, a schema push would not
bring it level, or the run is not confirmed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import psycopg

from ..catalog import Catalog, Name
from ..endpoints import Endpoint
from ..errors import PrivilegeError, RefusedError, SchemaMismatch
from ..identity import refuse_same_database, server_identity
from ..plan import Plan, Problem, Severity
from ..protect import refuse_protected as refuse_protected  # re-exported: migrate, swap
from ..schema.push import PushResult
from .snapshot import Snapshot


def guard(
    snapshot: Snapshot,
    target_conn: psycopg.Connection[Any],
    target: Endpoint,
    protected: Sequence[str],
) -> None:
    dst_id = server_identity(target_conn)
    refuse_same_database(snapshot.identity(), dst_id, target)
    refuse_protected(target, dst_id[1], protected)


def with_rls_problems(plan: Plan, snap: Snapshot, src_cat: Catalog) -> tuple[Plan, list[Name]]:
    """Add a blocking problem for each table row-level security would filter."""
    filtered = snap.rls_filtered(
        [tp.source for tp in plan.tables if (t := src_cat.table(tp.source)) and t.rls_enabled]
    )
    problems = tuple(
        Problem(
            Severity.BLOCKING,
            name,
            f"row-level security would hide rows of {name} from production role {src_cat.role}",
        )
        for name in filtered
    )
    return (replace(plan, problems=(*plan.problems, *problems)) if problems else plan), filtered


def refuse_before_writing(
    plan: Plan,
    filtered: list[Name],
    src_cat: Catalog,
    dst_cat: Catalog,
    confirm: Callable[[Plan, str], bool] | None,
    *,
    drift_ok: bool = False,
) -> None:
    """Stop before any write; *drift_ok*: a schema push will run first (plan again after it)."""
    if filtered:
        raise PrivilegeError(
            "row-level security would hide rows of "
            f"{', '.join(str(n) for n in filtered)} from production role {src_cat.role}: "
            "the copy would be partial, nothing was written",
            hint="read production as the tables' owner or a role with BYPASSRLS, "
            "or leave those tables out with --exclude",
        )
    if not drift_ok:
        plan.raise_if_blocked(
            hint="bring QA's schema level with `pgferry schema push` (same --from and --to; "
            "--dry-run shows the SQL), or rerun migrate with --push-schema; or leave those tables "
            "out with --exclude"
        )
    if confirm is not None and not confirm(plan, dst_cat.database):
        raise RefusedError(
            f"not confirmed: QA database {dst_cat.database} was left as it was",
            hint="type the database's name at the prompt, or pass --yes in scripts",
        )


def refuse_unpushable(plan: Plan, preview: PushResult) -> None:
    """Stop before the backup and the push when the push would leave this copy blocked:
    a blocking difference in the tables it copies that the push refuses or holds back."""
    tables = {p.table for p in plan.blocking}
    left = [
        d
        for d in (*preview.plan.refused, *preview.plan.held_back)
        if d.severity is Severity.BLOCKING and (d.table is None or d.table in tables)
    ]
    if left:
        shown = "; ".join(f"{d.kind} {d.name}: {d.refused or 'needs --allow-drop'}" for d in left)
        raise SchemaMismatch(
            f"--push-schema cannot bring QA level, nothing was written: {shown}",
            hint="see pgferry schema push --dry-run; fix those by hand (or with --allow-drop "
            "where it says so), then rerun",
        )
