"""Masked columns of QA checked against production on a sample of QA's rows
(issue 14 point 8): a masked column must hold none of production's values.

Both sides are only read.  QA's sampled keys and masked values go to production
as parameters and production answers which are equal: none of production's
values is sent to QA, whose logs must never see one, nor kept here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ..catalog import Catalog, Name
from ..plan import Plan
from .tables import (
    Columns,
    Side,
    key_of,
    key_text,
    plain,
    relation,
    row_text,
    source_columns,
    unmasked,
)

#: QA rows sampled per masked table to check its masked columns.
MASK_SAMPLE = 1000
#: Mask kinds whose output can equal the input by chance: a small domain (a
#: country, a first name, a single digit, which ``digits`` permutes among ten),
#: a rule that may keep a value (a shift or noise of zero, a fixed value or SQL
#: expression production may hold, a json document without the masked paths).
#: Such a column fails only when more than half of its sampled values are
#: production's: it then looks unmasked.  Any other kind (``email``, ``hash``,
#: ``uuid``, ``ip``, ``phone``, ``iban``, ``card``, ``url``, a kind added later)
#: fails on a single sampled value equal to production's.
CHANCE_KINDS = frozenset(
    {
        "city",
        "company",
        "country",
        "date_shift",
        "digits",
        "first_name",
        "fixed",
        "json",
        "last_name",
        "lorem",
        "name",
        "noise",
        "null",
        "postcode",
        "sql",
        "street",
    }
)
#: Kinds that copy the value as it is: nothing to check.
KEPT_KINDS = frozenset({"keep"})


@dataclass(frozen=True)
class MaskCheck:
    """A masked column of QA against production, on a sample of QA's rows.

    By key (the table has one of unmasked columns): each sampled row's value
    against production's row with that key.  Without one: against production's
    rows with the same unmasked columns (all of the column's rows when every
    column is masked).  Only QA's values and keys are sent to production; no
    production value is sent anywhere, and none is kept here.
    """

    table: Name
    column: str
    kind: str
    by_key: bool
    #: QA's sampled non-NULL values that had a production row to compare with
    compared: int
    #: of those, how many equal production's value
    equal: int
    #: QA's key of one such row, "(id)=(5)" (keyless: its ctid), never a value
    example: str = ""

    @property
    def by_chance(self) -> bool:
        """Whether the kind can match production by chance (:data:`CHANCE_KINDS`)."""
        return self.kind in CHANCE_KINDS

    @property
    def ok(self) -> bool:
        return 2 * self.equal <= self.compared if self.by_chance else self.equal == 0

    def explain(self) -> str:
        """What failed and what to do; the key of one row, never a value."""
        where = "the same key" if self.by_key else "a row alike in its unmasked columns"
        lead = (
            f"{self.table}.{self.column} (masked as {self.kind}): {self.equal} of "
            f"{self.compared} sampled rows hold production's value for {where}"
        )
        if self.by_chance:
            lead += " (more than half: the column looks unmasked)"
        return (
            f"{lead}, e.g. the row {self.example}; rerun pgferry migrate with the [mask] "
            f"rules, and check that the rule for {self.table} covers {self.column}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "column": self.column,
            "kind": self.kind,
            "compared_by": "key" if self.by_key else "row",
            "sampled": self.compared,
            "equal_to_production": self.equal,
            "tolerates_chance": self.by_chance,
            "example_key": self.example or None,
            "ok": self.ok,
        }


_ROW = sql.Identifier("pgferry row")
#: Sampled QA rows: each its label (key or ctid), what production finds it by, masked values.
Picked = Sequence[Sequence[str | None]]
#: Per masked column: (QA values compared, positions in the sample equal to production's)
Found = list[tuple[int, list[int]]]


def _sample(rows: int, sample: int) -> sql.Composable:
    """A TABLESAMPLE clause for about *sample* of *rows* rows (none when all fit):
    every row has the same chance, and LIMIT keeps at most *sample*."""
    if rows <= sample:
        return sql.SQL("")
    percent = min(100.0, 125.0 * sample / rows)
    return sql.SQL(" TABLESAMPLE BERNOULLI ({})").format(sql.Literal(percent))


def _texts(columns: Columns) -> list[sql.Composable]:
    return [sql.SQL("({})::text").format(c) for c in columns]


def _unnest(names: Sequence[sql.Composable]) -> sql.Composable:
    """``unnest`` of one text[] parameter per name, the row's position as ``"pgferry row"``."""
    return sql.SQL("unnest({}) WITH ORDINALITY AS u({})").format(
        sql.SQL(", ").join([sql.SQL("%s::text[]")] * len(names)),
        sql.SQL(", ").join([*names, _ROW]),
    )


def _by_key(
    prod: psycopg.Connection[Any], src: Side, picked: Picked, types: Sequence[str]
) -> Found:
    """Each sampled row against production's row with the same key (one query).
    *picked*: (label, key texts..., masked texts...); *types*: QA's key types."""
    nkeys, nvals = len(src.key), len(src.columns)
    keys = [sql.Identifier(f"pgferry key {i}") for i in range(nkeys)]
    vals = [sql.Identifier(f"pgferry value {j}") for j in range(nvals)]
    query = sql.SQL("SELECT u.{row}, {equal} FROM {t} JOIN {u} ON {on}").format(
        row=_ROW,
        equal=sql.SQL(", ").join(
            sql.SQL("{} = u.{}").format(m, v)
            for m, v in zip(_texts(src.columns), vals, strict=True)
        ),
        t=relation(src.name, src.only),
        u=_unnest(keys + vals),
        on=sql.SQL(" AND ").join(
            sql.SQL("{} = u.{}::{}").format(c, k, sql.SQL(t))  # QA's type: an index serves
            for c, k, t in zip(src.key, keys, types, strict=True)
        ),
    )
    params = [[row[1 + i] for row in picked] for i in range(nkeys + nvals)]
    out: Found = [(0, []) for _ in range(nvals)]
    for position, *equal in prod.execute(query, params).fetchall():
        at = int(position) - 1
        for j, same in enumerate(equal):
            if picked[at][1 + nkeys + j] is not None:
                out[j] = (out[j][0] + 1, out[j][1] + ([at] if same else []))
    return out


def _by_row(prod: psycopg.Connection[Any], src: Side, picked: Picked) -> Found:
    """Each sampled row against production's rows with the same unmasked columns
    (every row, when all are masked): one query per masked column.
    *picked*: (ctid, unmasked row text, masked texts...)."""
    key, value = sql.Identifier("pgferry key"), sql.Identifier("pgferry value")
    out: Found = []
    for j, masked in enumerate(_texts(src.columns)):
        sent = [i for i, row in enumerate(picked) if row[2 + j] is not None]
        if not sent:
            out.append((0, []))
            continue
        query = sql.SQL(
            "SELECT DISTINCT u.{row} FROM {t} JOIN {u} ON {r} = u.{k} AND {m} = u.{v}"
        ).format(
            row=_ROW,
            t=relation(src.name, src.only),
            u=_unnest([key, value]),
            r=row_text(src.key),
            k=key,
            m=masked,
            v=value,
        )
        params = [[picked[i][1] for i in sent], [picked[i][2 + j] for i in sent]]
        found = prod.execute(query, params).fetchall()
        out.append((len(sent), sorted(sent[int(p) - 1] for (p,) in found)))
    return out


def check_masks(
    prod: psycopg.Connection[Any],
    qa: psycopg.Connection[Any],
    plan: Plan,
    catalogs: tuple[Catalog, Catalog],
    rows: Mapping[Name, int],
    sample: int = MASK_SAMPLE,
) -> list[MaskCheck]:
    """Check each masked column of *plan* (``TablePlan.masked``) on up to *sample* of
    QA's rows (*rows*: QA's row count per table) against production's values;
    *catalogs*: (production's, QA's).

    Both sides are only read.  QA's sampled keys and masked values go to
    production as parameters and production answers which are equal: none of
    production's values is sent to QA, whose logs must never see one."""
    prod_cat, qa_cat = catalogs
    out: list[MaskCheck] = []
    for tp in plan.tables:
        masked = [(c, k) for c, k in tp.masked if k not in KEPT_KINDS]
        if not masked:
            continue
        names = [c for c, _ in masked]
        key = key_of(qa_cat, tp.target, unmasked(tp))
        by_name = dict(zip(tp.columns, source_columns(tp, prod_cat, qa_cat), strict=True))
        ident = key or list(unmasked(tp))  # keyless: the row's unmasked columns
        src = Side(
            tp.source, tp.only, tuple(by_name[c] for c in names), tuple(by_name[c] for c in ident)
        )
        finds = _texts(plain(key)) if key else [row_text(plain(ident))]
        label = key_text(plain(key)) if key else sql.SQL("ctid::text")
        picked = qa.execute(
            sql.SQL("SELECT {} FROM {}{} LIMIT {}").format(
                sql.SQL(", ").join([label, *finds, *_texts(plain(names))]),
                relation(tp.target, tp.only),
                _sample(rows.get(tp.target, 0), sample),
                sql.Literal(sample),
            )
        ).fetchall()
        if not picked:
            found: Found = [(0, []) for _ in names]
        elif key:
            table = qa_cat.table(tp.target)
            assert table is not None
            types = [c.type for k in key if (c := table.column(k)) is not None]
            found = _by_key(prod, src, picked, types)
        else:
            found = _by_row(prod, src, picked)
        for (column, kind), (compared, equal) in zip(masked, found, strict=True):
            example = ""
            if equal:
                first = str(picked[equal[0]][0])
                example = f"({', '.join(key)})={first}" if key else f"at ctid {first}"
            out.append(MaskCheck(tp.target, column, kind, bool(key), compared, len(equal), example))
    return out
