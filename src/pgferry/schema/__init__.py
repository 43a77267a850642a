"""Schema drift between production and QA: find it (``schema diff``), close it (``schema push``)."""

from .diff import Change, Difference, SchemaDiff, column_differences, diff

__all__ = ["Change", "Difference", "SchemaDiff", "column_differences", "diff"]
