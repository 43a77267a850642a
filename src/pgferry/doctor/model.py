"""What ``doctor`` reports: findings, each with its cause, the objects involved and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..catalog import Name
from ..errors import ExitCode
from .messages import Symptom


class Severity(StrEnum):
    #: a problem confirmed in the database (or on this machine, for the dump tools)
    PROBLEM = "problem"
    #: worth a look, but possibly intended (a trigger disabled on purpose)
    WARNING = "warning"
    #: an explanation: nothing is wrong now
    INFO = "info"


Fact = tuple[str, "str | int | None"]


@dataclass(frozen=True)
class Finding:
    """One thing doctor established, and what to do about it."""

    severity: Severity
    title: str  # "sequence behind", "orphan rows", "table missing in QA"
    cause: str  # what is actually wrong, in a sentence or two
    table: Name | None = None
    column: str | None = None
    constraint: str | None = None
    fix: str | None = None  # the exact command (or statement) that fixes it
    details: tuple[str, ...] = ()  # example keys, values, alternatives
    facts: tuple[Fact, ...] = ()  # machine-readable numbers and names for --json

    @property
    def is_problem(self) -> bool:
        return self.severity is Severity.PROBLEM

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "title": self.title,
            "cause": self.cause,
            "table": str(self.table) if self.table else None,
            "column": self.column,
            "constraint": self.constraint,
            "fix": self.fix,
            "details": list(self.details),
            "facts": dict(self.facts),
        }


@dataclass(frozen=True)
class Diagnosis:
    """The outcome of :func:`~pgferry.doctor.diagnose` or :func:`~pgferry.doctor.health`."""

    mode: str  # "message" or "health"
    database: str | None  # "qa on 127.0.0.1:5433 as app (PostgreSQL 15.18)"; never a password
    source: str | None = None
    recognised: bool = True
    symptom: Symptom | None = None
    findings: tuple[Finding, ...] = field(default=())
    checked: tuple[str, ...] = ()  # what health looked at: "sequences", "foreign keys", ...

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.is_problem]

    @property
    def exit_code(self) -> ExitCode:
        """0 nothing wrong now, 1 a problem confirmed, 3 the message was not recognised."""
        if not self.recognised:
            return ExitCode.ERROR
        return ExitCode.FOUND if self.problems else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "database": self.database,
            "source": self.source,
            "recognised": self.recognised,
            "symptom": self.symptom.to_dict() if self.symptom else None,
            "checked": list(self.checked),
            "problems": len(self.problems),
            "exit_code": int(self.exit_code),
            "findings": [f.to_dict() for f in self.findings],
        }
