"""``pgferry.toml``: endpoints by environment-variable name, scope, protected targets.

::

    [source]
    url_env = "PROD_DATABASE_URL"     # the variable's name, never the URL itself
    copy = false                      # the source is a copy pgferry refreshed (staging into dev)

    [target]
    url_env = "QA_DATABASE_URL"
    protected = ["*prod*", "*live*"]  # refuse targets whose database or host:port/db matches

    [migrate]
    tables = []                       # patterns: "public.*", "Order"; empty = everything
    exclude = ["audit_log"]
    jobs = 4
    push_schema = false               # run `pgferry schema push` (additive) before the copy
    backup = true                     # back QA up before writing (false: like --no-backup)
    large_objects = true              # copy large objects (false: like --no-large-objects)
    lock_timeout = "60s"              # longest wait for a lock on QA (like --lock-timeout)

    [backup]
    method = "auto"                   # auto, template or dump
    keep = 5                          # backups kept per QA database
    folder = "pgferry-backups"        # where dump backups go
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .waits import valid_timeout

DEFAULT_PATH = Path("pgferry.toml")

_KEYS: dict[str, set[str]] = {
    "source": {"url_env", "copy"},
    "target": {"url_env", "protected"},
    "migrate": {
        "tables",
        "exclude",
        "jobs",
        "push_schema",
        "backup",
        "large_objects",
        "lock_timeout",
    },
    "backup": {"method", "keep", "folder"},
}


@dataclass(frozen=True)
class Config:
    source_env: str | None = None
    #: the source is itself a copy pgferry refreshed or made ([source] copy, --from-copy)
    source_copy: bool = False
    target_env: str | None = None
    protected: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    jobs: int | None = None
    push_schema: bool = False
    #: take a backup of QA before migrate writes ([migrate] backup = false turns it off)
    backup: bool = True
    #: copy production's large objects ([migrate] large_objects = false leaves them)
    large_objects: bool = True
    #: the longest wait for a lock on QA ([migrate] lock_timeout, see pgferry.waits)
    lock_timeout: str = "60s"
    backup_method: str = "auto"
    backup_keep: int = 5
    backup_folder: Path = Path("pgferry-backups")
    path: Path | None = field(default=None)


def _strings(section: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"pgferry.toml: [{section}] {key} must be a list of strings")
    return tuple(value)


def load(path: Path | None = None) -> Config:
    """Read *path*, or ``./pgferry.toml`` when it exists; defaults otherwise."""
    if path is None:
        if not DEFAULT_PATH.exists():
            return Config()
        path = DEFAULT_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for section, body in data.items():
        if section not in _KEYS or not isinstance(body, dict):
            raise ConfigError(
                f"{path}: unknown section [{section}]",
                hint=f"known: {', '.join(f'[{s}]' for s in _KEYS)}",
            )
        unknown = set(body) - _KEYS[section]
        if unknown:
            raise ConfigError(f"{path}: unknown key {sorted(unknown)[0]!r} in [{section}]")
    src, dst, mig = data.get("source", {}), data.get("target", {}), data.get("migrate", {})
    jobs = mig.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ConfigError(f"{path}: [migrate] jobs must be a positive integer")
    push_schema = mig.get("push_schema", False)
    if not isinstance(push_schema, bool):
        raise ConfigError(f"{path}: [migrate] push_schema must be true or false")
    lobs = mig.get("large_objects", True)
    if not isinstance(lobs, bool):
        raise ConfigError(f"{path}: [migrate] large_objects must be true or false")
    lock_timeout = mig.get("lock_timeout", "60s")
    if not isinstance(lock_timeout, str):
        raise ConfigError(f'{path}: [migrate] lock_timeout must be a string such as "60s"')
    lock_timeout = valid_timeout(lock_timeout, f"{path}: [migrate] lock_timeout")
    source_copy = src.get("copy", False)
    if not isinstance(source_copy, bool):
        raise ConfigError(f"{path}: [source] copy must be true or false")
    bak = data.get("backup", {})
    take = mig.get("backup", True)
    if not isinstance(take, bool):
        raise ConfigError(f"{path}: [migrate] backup must be true or false")
    method = bak.get("method", "auto")
    if method not in ("auto", "template", "dump"):
        raise ConfigError(f"{path}: [backup] method must be auto, template or dump")
    keep = bak.get("keep", 5)
    if not isinstance(keep, int) or keep < 1:
        raise ConfigError(f"{path}: [backup] keep must be a positive integer")
    folder = bak.get("folder", "pgferry-backups")
    if not isinstance(folder, str):
        raise ConfigError(f"{path}: [backup] folder must be a string")
    return Config(
        backup=take,
        backup_method=method,
        backup_keep=keep,
        backup_folder=Path(folder),
        source_env=src.get("url_env"),
        source_copy=source_copy,
        target_env=dst.get("url_env"),
        protected=_strings("target", "protected", dst.get("protected", [])),
        tables=_strings("migrate", "tables", mig.get("tables", [])),
        exclude=_strings("migrate", "exclude", mig.get("exclude", [])),
        jobs=jobs,
        push_schema=push_schema,
        large_objects=lobs,
        lock_timeout=lock_timeout,
        path=path,
    )
