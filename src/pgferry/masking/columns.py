"""A column's mask built from its :class:`~pgferry.masking.rules.Rule`.

Most rules are a function of the value alone (:data:`Fake`).  A ``date_shift``
with ``by`` also reads the subject's value in the same row, so every date of
one subject moves by the same amount and the intervals between them survive.
``sql`` rules are not built here: production's server evaluates them in the
COPY query (see :func:`pgferry.refresh.masking.masking`).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from .fakes import KINDS
from .keyed import Keyed
from .kind import Fake
from .rewrite import Shift
from .rules import Rule, Step, steps

_DATE = re.compile(r"^\d{4,}-\d\d-\d\d$")

#: kinds that take no setting and no word list besides :data:`~pgferry.masking.fakes.KINDS`
PLAIN = ("keep", "null")


def known(kind: str) -> bool:
    """Whether *kind* names a kind of rule."""
    return kind in KINDS or kind in PLAIN or kind in ("fixed", "sql", "date_shift", "noise", "json")


def unique_safe(rule: Rule) -> bool:
    """Whether distinct values stay distinct under *rule* (so it may mask a key)."""
    if rule.kind == "keep":
        return True
    kind = KINDS.get(rule.kind)
    return kind is not None and kind.unique


def shifter(rule: Rule, key: Keyed) -> Shift:
    """A ``date_shift``: every date and timestamp moved by a keyed, non-zero amount
    within the rule's span, picked by the subject's value (or, without ``by``, by
    the value itself).  ``infinity``, BC dates and values that would leave the
    calendar are kept."""
    span = rule.span_seconds

    def amount(subject: str) -> int:
        pick = key.integer("date_shift", f"{span}\0{subject}", 2 * span)
        return pick - span if pick < span else pick - span + 1  # never 0

    def shift(value: str, subject: str | None) -> str:
        seconds = amount(value if rule.by is None else subject or "")
        text = value.strip()
        try:
            if _DATE.match(text):
                days = round(seconds / 86400) or (1 if seconds > 0 else -1)
                return (date.fromisoformat(text) + timedelta(days=days)).isoformat()
            moved = datetime.fromisoformat(text) + timedelta(seconds=seconds)
        except (ValueError, OverflowError):
            return value
        return moved.isoformat(sep=" ")

    return shift


def noise(rule: Rule, key: Keyed) -> Fake:
    """A number moved by a keyed share of itself, up to the rule's share either way,
    with as many decimal places as it had (an integer stays an integer)."""
    share = Decimal(repr(rule.share))

    def fake(value: str) -> str:
        text = value.strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            return value
        if not number.is_finite():
            return value
        digits = number.as_tuple()
        with localcontext() as context:  # room for every digit it has, and the share's
            context.prec = max(28, len(digits.digits) + abs(int(digits.exponent)) + 12)
            pick = Decimal(key.integer("noise", text, 2**32)) / Decimal(2**32)  # [0, 1)
            moved = number * (1 + (2 * pick - 1) * share)
            places = Decimal(1).scaleb(min(int(digits.exponent), 0))
            return format(moved.quantize(places), "f")

    return fake


def _number(text: str) -> Decimal:
    return Decimal(text)


def _leaf(value: Any, fake: Fake, replaces: bool) -> Any:
    if isinstance(value, bool) or value is None:
        return fake(json.dumps(value)) if replaces else value
    if isinstance(value, str):
        return fake(value)
    if isinstance(value, Decimal):
        out = fake(str(value))
        if out is None or replaces:
            return out
        try:
            return _number(out)
        except ArithmeticError:
            return out
    if replaces:  # an object or array replaced whole (fixed, null)
        return fake(_dump(value))
    if isinstance(value, list):  # every value inside is masked: none is kept raw
        return [_leaf(item, fake, replaces) for item in value]
    return {k: _leaf(v, fake, replaces) for k, v in value.items()}


def _at(doc: Any, path: tuple[Step, ...], fake: Fake, replaces: bool) -> Any:
    if not path:
        return _leaf(doc, fake, replaces)
    step, rest = path[0], path[1:]
    if step is None and isinstance(doc, list):
        return [_at(item, rest, fake, replaces) for item in doc]
    if isinstance(step, int) and isinstance(doc, list) and -len(doc) <= step < len(doc):
        doc = list(doc)
        doc[step] = _at(doc[step], rest, fake, replaces)
    elif isinstance(step, str) and isinstance(doc, dict) and step in doc:
        doc = dict(doc)
        doc[step] = _at(doc[step], rest, fake, replaces)
    return doc


def _dump(doc: Any) -> str:
    """*doc* as JSON text, numbers written as they were read (json's own encoder
    would round 12345678901234567890.123 through a float)."""
    if isinstance(doc, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_dump(v)}" for k, v in doc.items())
            + "}"
        )
    if isinstance(doc, list):
        return "[" + ", ".join(_dump(v) for v in doc) + "]"
    if isinstance(doc, Decimal):
        return str(doc)
    return json.dumps(doc, ensure_ascii=False)


def json_paths(rule: Rule, key: Keyed) -> Fake:
    """A ``json`` rule: each path's values masked with its rule (an object or array at
    a path: every value inside it); strings stay strings, numbers stay numbers where
    the mask is one, and are written as they were read; the rest is kept."""
    compiled = [
        (steps(path), build(inner, key), inner.kind in ("fixed", "null"))
        for path, inner in rule.paths
    ]

    def fake(value: str) -> str:
        doc = json.loads(value, parse_float=_number, parse_int=_number)  # fails: not shown
        for path, mask, replaces in compiled:
            doc = _at(doc, path, mask, replaces)
        return _dump(doc)

    return fake


def build(rule: Rule, key: Keyed) -> Fake:
    """The mask of a rule that reads only the value; ``KeyError`` for an unknown kind."""
    if rule.kind == "keep":
        return lambda value: value
    if rule.kind == "null":
        return lambda value: None
    if rule.kind == "fixed":
        fixed = rule.value or ""
        return lambda value: fixed
    if rule.kind == "noise":
        return noise(rule, key)
    if rule.kind == "json":
        return json_paths(rule, key)
    if rule.kind == "date_shift":
        shift = shifter(rule, key)
        return lambda value: shift(value, None)
    return KINDS[rule.kind].build(key)


__all__ = ["PLAIN", "Shift", "build", "known", "noise", "shifter", "unique_safe"]
