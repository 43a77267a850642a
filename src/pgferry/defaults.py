"""Every default a setting of pgferry's has, in one place.

:mod:`pgferry.config` resolves each setting as flag, then environment, then
``pgferry.toml``, then the value here; :mod:`pgferry.safety.backup` and
:mod:`pgferry.waits` take theirs from here too, so a default cannot differ
between a command, the config file and the library
(:class:`pgferry.migrate.MigrateOptions` too).
"""

from __future__ import annotations

import os
from pathlib import Path

#: how a backup is taken: ``auto`` (template when allowed, else dump), ``template``, ``dump``
BACKUP_METHOD = "auto"
BACKUP_METHODS = ("auto", "template", "dump")
#: backups kept per QA database
BACKUP_KEEP = 5
#: where dump backups go
BACKUP_FOLDER = Path("pgferry-backups")
#: take a backup of QA before migrate writes
BACKUP = True
#: how long one statement of pgferry's waits for a lock on QA
LOCK_TIMEOUT = "60s"
#: copy production's large objects
LARGE_OBJECTS = True
#: run an additive schema push before the copy
PUSH_SCHEMA = False
#: the source is a copy pgferry refreshed or made (staging into dev)
SOURCE_COPY = False


def jobs() -> int:
    """Tables copied in parallel: the CPU count, at least 2."""
    return max(2, os.cpu_count() or 2)


#: the environment variable holding the masking key ([mask] key_env)
MASK_KEY_ENV = "PGFERRY_MASK_KEY"
#: [mask] strict: fail closed on columns that look personal or are new, without a rule
MASK_STRICT = False
