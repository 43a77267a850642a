"""A masking rule as ``[mask.TABLE]`` writes it, read into one typed value.

A rule is a kind's name (``email = "email"``) or a table naming the kind and
its settings::

    passwordHash = { fixed = "$2b$10$000..." }
    "lastLoginAt" = { date_shift = "30 days", by = "clientId" }
    total = { noise = 0.1 }
    nickname = { sql = "'user ' || id" }
    settings = { json = { "$.phone" = "phone", "$.address.street" = "street" } }

Reading a rule checks its shape only; whether the kind exists and fits the
column is checked against production's catalog when the run is planned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

#: kinds that take a setting, written as a table: { KIND = SETTING }
SETTINGS = ("fixed", "sql", "date_shift", "noise", "json")

#: ``date_shift`` without a span: up to this far either way
DEFAULT_SPAN = "30 days"

#: ``noise`` without a share: up to this share of the value either way
DEFAULT_NOISE = 0.1

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_SPAN = re.compile(r"^\s*(\d+)\s*(second|minute|hour|day|week)s?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """One column's masking: its *kind* and, for the kinds that take one, a setting.

    *value*: the ``fixed`` value, the ``sql`` expression, the ``date_shift`` span or
    the ``noise`` share (as text); *by*: the column whose value picks a
    ``date_shift`` (one shift per subject); *paths*: a ``json`` rule's rules by path.
    """

    kind: str
    value: str | None = None
    by: str | None = None
    paths: tuple[tuple[str, Rule], ...] = ()

    def __str__(self) -> str:
        if self.kind == "json":
            return "json {" + ", ".join(f"{p} = {r}" for p, r in self.paths) + "}"
        if self.kind == "fixed":
            return "fixed"  # the value may itself be sensitive-looking: never shown
        if self.kind in ("sql", "date_shift", "noise"):
            by = f" by {self.by}" if self.by else ""
            return f"{self.kind} {self.value}{by}"
        return self.kind

    @property
    def masks(self) -> bool:
        """Whether the column's values change at all (``keep`` leaves them)."""
        return self.kind != "keep"

    @property
    def span_seconds(self) -> int:
        """A ``date_shift``'s span in seconds."""
        match = _SPAN.match(self.value or DEFAULT_SPAN)
        assert match is not None, "checked when the rule was read"
        return int(match.group(1)) * _UNITS[match.group(2).lower()]

    @property
    def share(self) -> float:
        """A ``noise`` rule's relative range."""
        return float(self.value) if self.value is not None else DEFAULT_NOISE


def parse(value: Any) -> Rule:
    """The rule *value* (a TOML string or table) says; a
    :class:`~pgferry.errors.ConfigError` if it is malformed."""
    if isinstance(value, Rule):
        return value
    if isinstance(value, str):
        if value in ("date_shift", "noise"):  # their default settings
            return parse({value: DEFAULT_SPAN if value == "date_shift" else DEFAULT_NOISE})
        if value in ("fixed", "sql", "json"):
            raise ConfigError(f"{value} needs a setting, e.g. {{ {value} = ... }}")
        return Rule(value)
    if not isinstance(value, dict):
        raise ConfigError(
            'must be a kind\'s name, such as "email", or a table such as { fixed = "x" }'
        )
    kinds = [k for k in value if k in SETTINGS]
    extra = sorted(set(value) - set(SETTINGS) - {"by"})
    if len(kinds) != 1 or extra:
        raise ConfigError(
            "a rule table names one kind of "
            + ", ".join(SETTINGS)
            + (f" (not {extra[0]!r})" if extra else "")
        )
    kind = kinds[0]
    setting = value[kind]
    by = value.get("by")
    if by is not None and (kind != "date_shift" or not isinstance(by, str) or not by):
        raise ConfigError("by names a column, and only for date_shift")
    if kind == "json":
        return _json(setting)
    if kind == "fixed":
        if isinstance(setting, bool) or not isinstance(setting, str | int | float):
            raise ConfigError("fixed takes a string or a number")
        return Rule("fixed", str(setting))
    if kind == "sql":
        if not isinstance(setting, str) or not setting.strip():
            raise ConfigError("sql takes an SQL expression over the row, as a string")
        return Rule("sql", setting)
    if kind == "noise":
        share = _share(setting)
        return Rule("noise", repr(share))
    span = _SPAN.match(setting) if isinstance(setting, str) else None
    if span is None:
        raise ConfigError('date_shift takes a span such as "30 days" (seconds to weeks)')
    if int(span.group(1)) == 0:
        raise ConfigError("a date_shift of 0 leaves every date as it is: use keep")
    return Rule("date_shift", setting.strip(), by=by)


def _share(setting: Any) -> float:
    if isinstance(setting, str) and setting.strip().endswith("%"):
        try:
            setting = float(setting.strip()[:-1]) / 100
        except ValueError:
            raise ConfigError('noise takes a share such as 0.1 or "10%"') from None
    if isinstance(setting, bool) or not isinstance(setting, int | float):
        raise ConfigError('noise takes a share such as 0.1 or "10%"')
    if not 0 < setting < 1:
        raise ConfigError("noise takes a share between 0 and 1 (0.1 is up to 10% either way)")
    return float(setting)


def _json(setting: Any) -> Rule:
    if not isinstance(setting, dict) or not setting:
        raise ConfigError('json takes rules by path, e.g. { json = { "$.phone" = "phone" } }')
    paths = []
    for path, rule in setting.items():
        try:
            steps(path)
            inner = parse(rule)
        except ConfigError as exc:
            raise ConfigError(f"json path {path!r}: {exc}") from None
        if inner.kind in ("json", "sql") or inner.by:
            raise ConfigError(f"json path {path!r}: a path takes a value's kind, not {inner.kind}")
        paths.append((path, inner))
    return Rule("json", paths=tuple(paths))


_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[\*\]|\[(\d+)\]|\[\"((?:[^\"\\]|\\.)*)\"\]")

#: one step of a json path: a key, an array index, or None for every element
Step = str | int | None


def steps(path: str) -> tuple[Step, ...]:
    """``$.a.b[*].c`` as ``("a", "b", None, "c")``; ``$["odd key"]`` and ``[0]`` too."""
    if not path.startswith("$"):
        raise ConfigError('a json path starts with $, e.g. "$.address.street"')
    out: list[Step] = []
    at = 1
    while at < len(path):
        match = _STEP.match(path, at)
        if match is None:
            raise ConfigError(f"cannot read the path at {path[at:]!r}")
        key, index, quoted = match.groups()
        if key is not None:
            out.append(key)
        elif index is not None:
            out.append(int(index))
        elif quoted is not None:
            out.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            out.append(None)
        at = match.end()
    if not out:
        raise ConfigError("a json path names a value inside the document, e.g. $.email")
    return tuple(out)


__all__ = ["DEFAULT_SPAN", "Rule", "Step", "parse", "steps"]
