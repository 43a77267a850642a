"""Schema diff classification over catalogs read from PostgreSQL 18 (prod) and 15 (QA)."""

from __future__ import annotations

import pytest

from pgferry.casts import CastKind
from pgferry.plan import Severity
from pgferry.schema.diff import Change, diff
from tests.unit.frozen import pair
from tests.unit.test_casts import CHECKED, EXPECTED, SAFE

BLOCKING, WARNING, INFO = Severity.BLOCKING, Severity.WARNING, Severity.INFO
MISSING, EXTRA, CHANGED = Change.MISSING, Change.EXTRA, Change.CHANGED


def _classes(name: str, *, reverse: bool = False) -> set[tuple[Severity, Change, str, str]]:
    prod, qa = pair(name)
    found = diff(qa, prod) if reverse else diff(prod, qa)
    return {(d.severity, d.change, d.kind, d.name) for d in found.differences}


@pytest.mark.parametrize("name", ["pagila", "chinook", "app"])
def test_the_same_schema_on_two_majors_has_no_difference(name: str) -> None:
    prod, qa = pair(name)
    found = diff(prod, qa)
    assert not found and not found.actionable(strict=True)
    assert found.source == f"PostgreSQL 18, database {name}"
    assert found.target == f"PostgreSQL 15, database {name}"


def test_drift_is_classed_and_each_difference_has_a_fix() -> None:
    assert _classes("app_drifted") == {
        (BLOCKING, MISSING, "enum label", 'public."OrderStatus"'),
        (BLOCKING, MISSING, "table", "public.order_items"),
        (BLOCKING, MISSING, "column", "public.products.title"),
        (WARNING, EXTRA, "table", 'public."OrderItem"'),
    }
    prod, qa = pair("app_drifted")
    found = diff(prod, qa)
    assert found.actionable()
    assert [d.severity for d in found.differences] == sorted(
        (d.severity for d in found.differences), key=list(Severity).index
    )
    for d in found.differences:
        assert d.fix, d
        assert d.refused is None
    extra = next(d for d in found.differences if d.change is EXTRA)
    assert extra.drops and not any(d.drops for d in found.blocking)
    assert "SHIPPED" in next(d.detail for d in found.differences if d.kind == "enum label")
    assert list(found.grouped()) == ["enum label", "table", "column"]


def test_drift_seen_the_other_way() -> None:
    # QA as the source: the label production has and QA lacks is only information
    assert _classes("app_drifted", reverse=True) == {
        (BLOCKING, MISSING, "table", 'public."OrderItem"'),
        (BLOCKING, EXTRA, "column", "public.products.title"),
        (WARNING, EXTRA, "table", "public.order_items"),
        (INFO, EXTRA, "enum label", 'public."OrderStatus"'),
    }


def test_shapes() -> None:
    assert _classes("shapes") == {
        (BLOCKING, MISSING, "table", "public.only_in_prod"),
        (BLOCKING, CHANGED, "table", "public.view_in_qa"),
        (BLOCKING, EXTRA, "column", "public.extra_cols.c"),
        (WARNING, EXTRA, "table", "public.qa_only_ref"),
        (WARNING, EXTRA, "column", "public.extra_cols.b"),
        (WARNING, EXTRA, "column", "public.extra_cols.d"),
    }
    prod, qa = pair("shapes")
    found = diff(prod, qa)
    view = next(d for d in found.differences if d.name == "public.view_in_qa")
    assert view.refused is not None and not view.fix  # push will not replace a view
    by_name = {d.name: d for d in found.differences}
    assert "default" in by_name["public.extra_cols.b"].migrate
    assert "NULL" in by_name["public.extra_cols.d"].migrate


def test_scope_limits_the_schemas_compared() -> None:
    prod, qa = pair("shapes")
    assert not diff(prod, qa, schemas=["other"])
    assert diff(prod, qa, schemas=["public"])


def test_column_types_are_classed_like_the_casts() -> None:
    prod, qa = pair("casts")
    found = diff(prod, qa)
    assert {d.change for d in found.differences} == {CHANGED}
    assert {d.kind for d in found.differences} == {"column"}
    blocking = {d.name.rsplit(".", 1)[1] for d in found.blocking}
    warned = {d.name.rsplit(".", 1)[1] for d in found.of(WARNING)}
    assert blocking == {c for c, (kind, _) in EXPECTED.items() if kind is CastKind.UNSAFE}
    assert warned == {c for c, (kind, _) in EXPECTED.items() if kind in (SAFE, CHECKED)}
