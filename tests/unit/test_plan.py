"""build_plan over catalogs read from real servers (prod PostgreSQL 18, QA 15), frozen."""

from __future__ import annotations

import pytest

from pgferry.catalog import Catalog, Name
from pgferry.plan import Plan, Severity, build_plan, empty_selection
from tests.unit.frozen import pair


def _order_respects_keys(plan: Plan, target: Catalog) -> None:
    """Every planned child comes after the parent it references (where no cycle)."""
    pos = {t.target: i for i, t in enumerate(plan.tables)}
    for fk in target.foreign_keys():
        if fk.ref_table is None or fk.ref_table == fk.table:
            continue
        if fk.table in pos and fk.ref_table in pos:
            assert pos[fk.ref_table] < pos[fk.table], (fk.table, fk.ref_table)


@pytest.mark.parametrize("name", ["pagila", "chinook", "app"])
def test_the_same_schema_plans_cleanly_across_versions(name: str) -> None:
    prod, qa = pair(name)
    plan = build_plan(prod, qa)
    assert plan.problems == ()
    assert plan.tables
    for t in plan.tables:
        assert t.source == t.target and t.casts == ()
        assert t.columns
    if name != "app":  # app's clients and users reference each other: catalog order
        _order_respects_keys(plan, qa)
    assert set(plan.truncate) >= {t.target for t in plan.tables}


def test_pagila_views_skipped_matview_refreshed_partitions_copied() -> None:
    prod, qa = pair("pagila")
    plan = build_plan(prod, qa)
    skipped = dict(plan.skipped)
    assert skipped[Name("public", "film_list")] == "view: nothing to copy"
    assert plan.refresh == (Name("public", "rental_by_category"),)
    targets = {t.target for t in plan.tables}
    assert Name("public", "rental_by_category") not in targets
    # payment is emptied as a whole, its rows stream per partition or through its root
    assert Name("public", "payment") in plan.truncate
    assert any(t.target.name.startswith("payment") for t in plan.tables)
    # generated columns are left to QA: film.fulltext is a plain column in pagila
    film = next(t for t in plan.tables if t.target == Name("public", "film"))
    assert "fulltext" in film.columns


def test_chinook_quoted_names_and_self_reference() -> None:
    prod, qa = pair("chinook")
    plan = build_plan(prod, qa)
    names = [t.target for t in plan.tables]
    assert Name("public", "Employee") in names  # references itself: still planned once
    assert names.index(Name("public", "Artist")) < names.index(Name("public", "Album"))
    assert names.index(Name("public", "Album")) < names.index(Name("public", "Track"))


def test_app_skips_migration_history_unless_named() -> None:
    prod, qa = pair("app")
    plan = build_plan(prod, qa)
    history = Name("public", "_prisma_migrations")
    assert history in dict(plan.skipped)
    named = build_plan(prod, qa, tables=["_prisma_migrations"])
    assert [t.target for t in named.tables] == [history]
    items = next(t for t in plan.tables if t.target.name == "order_items")
    assert "lineTotal" not in items.columns  # generated in QA


def test_drifted_qa_blocks_with_every_reason() -> None:
    prod, qa = pair("app_drifted")
    plan = build_plan(prod, qa)
    blocking = [str(p) for p in plan.blocking]
    for words in (
        "column public.products.title is missing in QA",
        "lacks label 'SHIPPED'",
        "table public.order_items does not exist in QA",
        'public."OrderItem" is not copied but its foreign key',
    ):
        assert any(words in b for b in blocking), (words, blocking)
    with pytest.raises(Exception, match="title is missing"):
        plan.raise_if_blocked()


def test_excluding_the_drifted_tables_names_what_still_references_the_rest() -> None:
    prod, qa = pair("app_drifted")
    plan = build_plan(prod, qa, exclude=["order_items", "products", "orders"])
    assert dict(plan.skipped)[Name("public", "products")] == "excluded"
    # orders stays as it is in QA while clients and users are emptied: refused
    assert {p.table for p in plan.blocking} == {Name("public", "orders")}
    assert all("include public.orders or exclude" in p.message for p in plan.blocking)
    # events is copied though the orders it references are not: a warning only
    assert any(p.table == Name("public", "events") for p in plan.warnings)


def test_a_foreign_key_cycle_keeps_catalog_order() -> None:
    prod, qa = pair("app")
    names = [t.target.name for t in build_plan(prod, qa).tables]
    assert names == sorted(names)  # the catalog reads relations by name


def test_casts_are_planned_or_refused_per_column() -> None:
    prod, qa = pair("casts")
    plan = build_plan(prod, qa)
    (widths,) = plan.tables
    cast_of = {c.column: c for c in widths.casts}
    blocked = {p.message.split(" is ")[0].rsplit(".", 1)[1] for p in plan.blocking}
    assert blocked == {
        "int_to_small_numeric",
        "ts6_to_ts3",
        "numeric_less_scale",
        "jsonb_to_json",
        "double_to_real",
        "text_to_int",
        "int_to_text",
        "int_array",
        "mood_to_text",
        "numeric_rounding",
    }
    assert set(cast_of) & blocked == set()
    assert "same_int" not in cast_of and "same_int" in widths.columns
    assert not widths.binary  # some casts go through the text form
    warned = {p.message for p in plan.warnings}
    assert any("production's values read as UTC" in w for w in warned)


def test_shapes_missing_view_and_qa_only_columns() -> None:
    prod, qa = pair("shapes")
    plan = build_plan(prod, qa)
    by = {(p.severity, p.table): p.message for p in plan.problems}
    assert "does not exist in QA" in by[(Severity.BLOCKING, Name("public", "only_in_prod"))]
    assert by[(Severity.BLOCKING, Name("public", "view_in_qa"))].endswith("is a view in QA")
    extra = [p for p in plan.problems if p.table == Name("public", "extra_cols")]
    assert sorted(p.severity for p in extra) == ["blocking", "warning", "warning"]
    assert any("NOT NULL without a default" in p.message for p in extra)
    assert any("gets its default" in p.message for p in extra)
    assert any("gets NULL" in p.message for p in extra)
    # a QA-only table referencing an emptied table must be included or its parent excluded
    assert any(p.table == Name("public", "qa_only_ref") for p in plan.blocking)
    assert plan.refresh == (Name("public", "child_counts"),)


def test_selection_by_schema_and_pattern() -> None:
    prod, qa = pair("shapes")
    other = build_plan(prod, qa, schemas=["other"])
    assert [t.target for t in other.tables] == [Name("other", "things")]
    assert other.problems == ()
    some = build_plan(prod, qa, tables=["public.*child"])
    assert {t.target.name for t in some.tables} == {"child", "grandchild"}
    audit = build_plan(prod, qa, exclude=["audit_*"])
    assert (Name("public", "audit_log"), "excluded") in audit.skipped


def test_a_selection_that_matches_nothing_is_an_error() -> None:
    prod, qa = pair("shapes")
    plan = build_plan(prod, qa, tables=["nope*"])
    err = empty_selection(plan, prod, tables=["nope*"])
    assert err is not None and "matches no table" in str(err)
    assert empty_selection(build_plan(prod, qa), prod) is None
