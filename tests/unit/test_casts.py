"""Cast rules over the columns of one table read from PostgreSQL 18 (prod) and 15 (QA)."""

from __future__ import annotations

import pytest

from pgferry.casts import CastKind, base_type, classify, explicit, make_cast, modifiers, note
from pgferry.catalog import Column, Name
from tests.unit.frozen import pair

SAFE, CHECKED, UNSAFE, SAME = CastKind.SAFE, CastKind.CHECKED, CastKind.UNSAFE, CastKind.SAME

#: column -> (kind, cast written by the source server as col::type)
EXPECTED: dict[str, tuple[CastKind, bool]] = {
    "id": (SAME, False),
    "same_int": (SAME, False),
    "small_to_int": (SAFE, True),
    "int_to_big": (SAFE, True),
    "big_to_int": (CHECKED, False),
    "int_to_numeric": (SAFE, True),
    "int_to_small_numeric": (UNSAFE, False),  # numeric(5,0) holds fewer digits than integer
    "varchar_to_text": (SAFE, True),
    "text_to_varchar": (CHECKED, False),
    "varchar_wider": (SAFE, True),
    "varchar_narrower": (CHECKED, False),
    "char_to_text": (SAFE, False),  # through the text form: ::text would drop the blanks
    "ts_to_tstz": (SAFE, True),
    "ts3_to_ts6": (SAFE, False),
    "ts6_to_ts3": (UNSAFE, False),  # would round
    "date_to_ts": (SAFE, True),
    "numeric_wider": (SAFE, False),
    "numeric_fewer_digits": (CHECKED, False),
    "numeric_less_scale": (UNSAFE, False),  # would round
    "json_to_jsonb": (SAFE, False),
    "jsonb_to_json": (UNSAFE, False),
    "real_to_double": (SAFE, False),  # through the text form: no float4 noise
    "double_to_real": (UNSAFE, False),
    "text_to_int": (UNSAFE, False),
    "int_to_text": (UNSAFE, False),
    "int_array": (UNSAFE, False),  # arrays are not cast
    "mood_to_text": (UNSAFE, False),  # an enum is not built in
    "numeric_rounding": (UNSAFE, False),  # numeric(10,-2) rounds to hundreds
}


def _columns() -> list[tuple[Column, Column]]:
    prod, qa = pair("casts")
    src, dst = prod.table(Name("public", "widths")), qa.table(Name("public", "widths"))
    assert src is not None and dst is not None
    assert [c.name for c in src.columns] == [c.name for c in dst.columns]
    return list(zip(src.columns, dst.columns, strict=True))


def test_every_frozen_column_is_covered() -> None:
    assert {s.name for s, _ in _columns()} == set(EXPECTED)


@pytest.mark.parametrize(("src", "dst"), _columns(), ids=lambda c: c.name)
def test_classify(src: Column, dst: Column) -> None:
    kind, is_explicit = EXPECTED[src.name]
    assert classify(src, dst) is kind, (src.type, dst.type)
    assert explicit(src, dst) is is_explicit
    cast = make_cast(src, dst)
    assert (cast.kind, cast.explicit, cast.column) == (kind, is_explicit, dst.name)
    if kind is CHECKED:
        assert cast.misfit() is not None
        assert "checked cast" in note(src, dst)
    else:
        assert cast.misfit() is None
    if kind is UNSAFE:
        assert note(src, dst) == "no cast keeps every value"


def test_checked_first_only_where_the_server_would_cut_blanks() -> None:
    first = {s.name for s, d in _columns() if make_cast(s, d).checked_first}
    assert first == {"text_to_varchar", "varchar_narrower"}


def test_type_text_helpers() -> None:
    assert base_type("character varying(50)") == "character varying"
    assert base_type("timestamp(3) without time zone") == "timestamp without time zone"
    assert modifiers("numeric(10,-2)") == [10, -2]
    assert modifiers("text") == []


def test_the_zone_is_named_for_timestamp_to_timestamptz() -> None:
    cols = dict((s.name, (s, d)) for s, d in _columns())
    assert "read as UTC" in note(*cols["ts_to_tstz"])
    assert "jsonb" in note(*cols["json_to_jsonb"])
    assert note(*cols["int_to_big"]) == "copied with a cast"
