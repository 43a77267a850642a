"""What a refresh is told: :class:`MigrateOptions`, its defaults from :mod:`pgferry.defaults`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from .. import defaults
from ..safety.backup import BackupMethod


class Strategy(StrEnum):
    """How QA takes the new data (``--strategy``)."""

    #: QA's tables are emptied and loaded in place, after a backup
    REFRESH = "refresh"
    #: a sibling database is loaded and verified, then swapped in by one rename
    SWAP = "swap"


@dataclass(frozen=True)
class MigrateOptions:
    """How a refresh runs: what it copies (``tables``/``exclude``/``schemas``
    patterns), how (``jobs``, ``strategy``), what it guards and checks; the CLI's flags
    and ``pgferry.toml`` resolved (:func:`pgferry.config.resolve`)."""

    tables: Sequence[str] = ()
    exclude: Sequence[str] = ()
    schemas: Sequence[str] = ()
    jobs: int = field(default_factory=defaults.jobs)
    dry_run: bool = False
    protected: Sequence[str] = ()
    #: after the load, try one insert per table that takes every default (rolled back)
    verify: bool = True
    #: run ``schema push`` (additive) before planning, so that a drifted QA is brought level
    push_schema: bool = defaults.PUSH_SCHEMA
    #: back QA up before the first write (see :mod:`pgferry.safety.backup`)
    backup: bool = defaults.BACKUP
    backup_method: BackupMethod = BackupMethod.AUTO  # defaults.BACKUP_METHOD
    backup_folder: Path | None = None
    backup_keep: int | None = defaults.BACKUP_KEEP
    #: end other sessions on QA where a step needs it alone (a template backup)
    force: bool = False
    #: replace QA's large objects with production's (False: leave both alone, say how many)
    large_objects: bool = defaults.LARGE_OBJECTS
    #: how long each statement waits for a lock on QA (see :mod:`pgferry.waits`)
    lock_timeout: str = defaults.LOCK_TIMEOUT
    #: the target has never been refreshed and may look like production: go on anyway
    first_refresh: bool = False
    #: the source is a copy pgferry made or refreshed (staging into dev): read it anyway
    from_copy: bool = defaults.SOURCE_COPY
    #: in place, or a sibling swapped in (see :mod:`pgferry.swap`)
    strategy: Strategy = Strategy.REFRESH


__all__ = ["MigrateOptions", "Strategy"]
