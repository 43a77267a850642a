"""Catalogs survive the trip to JSON and back unchanged."""

from __future__ import annotations

import copy
import json

import pytest

from pgferry.catalog import Name, RelKind
from pgferry.catalog.frozen import FORMAT, catalog_from_dict, catalog_to_dict
from tests.unit.frozen import SCENARIOS, pair, raw


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("side", ["prod", "qa"])
def test_round_trip(name: str, side: str) -> None:
    data = raw(name)[side]
    catalog = catalog_from_dict(data)
    assert catalog_to_dict(catalog) == data
    assert catalog_from_dict(json.loads(json.dumps(catalog_to_dict(catalog)))) == catalog


def test_thawed_objects_are_the_models_own_types() -> None:
    prod, qa = pair("pagila")
    assert (prod.major_version, qa.major_version) == (18, 15)
    payment = prod.table(Name("public", "payment"))
    assert payment is not None and payment.kind is RelKind.PARTITIONED
    assert isinstance(payment.name, Name) and isinstance(payment.columns, tuple)
    assert prod.table(Name("public", "payment_p2022_01")) is not None
    assert any(f.kinds for s in prod.sequences for f in s.feeds)
    hash(prod.tables)  # frozen all the way down


def test_a_newer_or_unknown_shape_is_refused() -> None:
    data = copy.deepcopy(raw("app")["prod"])
    with pytest.raises(ValueError, match="format"):
        catalog_from_dict({**data, "format": FORMAT + 1})
    data["tables"][0]["surprise"] = 1
    with pytest.raises(ValueError, match="surprise"):
        catalog_from_dict(data)
