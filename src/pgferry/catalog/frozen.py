"""A catalog as plain JSON-ready data, and back.

``catalog_to_dict(read_catalog(conn))`` can be written with :func:`json.dump`
and read back with :func:`catalog_from_dict` into an equal :class:`Catalog`:
the unit tests run the pure functions (plan, casts, schema diff) over catalogs
read once from real servers and frozen this way, without a server.

The conversion follows the model's own type hints, so a field added to a
dataclass is carried without a change here.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import cache
from typing import Any

from .model import Catalog, Name

#: Bumped when the shape of the written data changes in a way old files cannot follow.
FORMAT = 1


def catalog_to_dict(catalog: Catalog) -> dict[str, Any]:
    """*catalog* as dicts, lists, strings, numbers, booleans and None."""
    out = _dump(catalog)
    assert isinstance(out, dict)
    return {"format": FORMAT, **out}


def catalog_from_dict(data: dict[str, Any]) -> Catalog:
    """The :class:`Catalog` that :func:`catalog_to_dict` wrote as *data*."""
    if data.get("format") != FORMAT:
        raise ValueError(f"frozen catalog format {data.get('format')!r}, expected {FORMAT}")
    body = {k: v for k, v in data.items() if k != "format"}
    out = _load(Catalog, body)
    assert isinstance(out, Catalog)
    return out


def _dump(value: Any) -> Any:
    if isinstance(value, Name):
        return [value.schema, value.name]
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _dump(getattr(value, f.name)) for f in _fields(type(value))}
    if isinstance(value, frozenset):
        return sorted(_dump(v) for v in value)
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot freeze {type(value).__name__}: {value!r}")


def _load(hint: Any, value: Any) -> Any:
    if hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        if value is None:
            return None
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"cannot thaw a value of {hint}")
        return _load(inner[0], value)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(args[0], v) for v in value)
        return tuple(_load(a, v) for a, v in zip(args, value, strict=True))
    if origin is frozenset:
        (arg,) = typing.get_args(hint)
        return frozenset(_load(arg, v) for v in value)
    if hint is Name:
        return Name(*value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _hints(hint)
        known = {f.name for f in _fields(hint)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"{hint.__name__} has no field {sorted(unknown)[0]!r}")
        return hint(**{k: _load(hints[k], v) for k, v in value.items()})
    if hint in (str, int, bool, float):
        return value
    raise TypeError(f"cannot thaw a value of {hint}")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@cache
def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    return tuple(f for f in dataclasses.fields(cls) if f.init)
