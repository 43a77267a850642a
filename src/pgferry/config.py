"""``pgferry.toml``: endpoints by environment-variable name, scope, protected targets.

:func:`load` reads the file into a :class:`Config`; :func:`resolve` merges a
command's flags over the environment over the file over :mod:`pgferry.defaults`
into :class:`Settings`, each value with its :class:`Origin`.  Every command that
connects resolves its settings here, and only here.

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
    schema = ["public"]               # only these schemas (like --schema); default: all

    [backup]
    method = "auto"                   # auto, template or dump
    keep = 5                          # backups kept per QA database
    folder = "pgferry-backups"        # where dump backups go
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from . import defaults
from .endpoints import ENV_VARS, Endpoint, mask, parse, pick, unset_variable
from .errors import ConfigError
from .masking.rules import Rule
from .masking.rules import parse as parse_rule
from .protect import refuse_protected
from .waits import valid_timeout

DEFAULT_PATH = Path("pgferry.toml")

_KEYS: dict[str, set[str]] = {
    "source": {"url_env", "copy"},
    "target": {"url_env", "protected"},
    "migrate": {
        "tables",
        "exclude",
        "schema",
        "jobs",
        "push_schema",
        "backup",
        "large_objects",
        "lock_timeout",
    },
    "backup": {"method", "keep", "folder"},
    # and, in [mask], one table per masked table: [mask.users] email = "email"
    "mask": {"key_env", "strict"},
}

#: masking rules: (table, ((column, rule), ...)), as [mask] lists them
MaskRules = tuple[tuple[str, tuple[tuple[str, Rule], ...]], ...]


@dataclass(frozen=True)
class Config:
    """What ``pgferry.toml`` says (defaults where it says nothing); see :func:`resolve`."""

    source_env: str | None = None
    #: the source is itself a copy pgferry refreshed or made ([source] copy, --from-copy)
    source_copy: bool = defaults.SOURCE_COPY
    target_env: str | None = None
    protected: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: only these schemas ([migrate] schema, --schema); empty: the URL's ?schema=, else all
    schemas: tuple[str, ...] = ()
    jobs: int | None = None
    push_schema: bool = defaults.PUSH_SCHEMA
    #: take a backup of QA before migrate writes ([migrate] backup = false turns it off)
    backup: bool = defaults.BACKUP
    #: copy production's large objects ([migrate] large_objects = false leaves them)
    large_objects: bool = defaults.LARGE_OBJECTS
    #: the longest wait for a lock on QA ([migrate] lock_timeout, see pgferry.waits)
    lock_timeout: str = defaults.LOCK_TIMEOUT
    backup_method: str = defaults.BACKUP_METHOD
    backup_keep: int = defaults.BACKUP_KEEP
    backup_folder: Path = defaults.BACKUP_FOLDER
    #: the environment variable holding the masking key ([mask] key_env)
    mask_key_env: str = defaults.MASK_KEY_ENV
    #: columns masked on the way to QA ([mask.TABLE] COLUMN = "KIND")
    mask: MaskRules = ()
    #: every personal or new column needs a rule ([mask] strict)
    mask_strict: bool = defaults.MASK_STRICT
    path: Path | None = field(default=None)
    #: the keys the file sets, as "section.key" ("migrate.exclude")
    given: frozenset[str] = frozenset()


def _strings(section: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) and key == "schema":  # schema = "public" reads as one
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"pgferry.toml: [{section}] {key} must be a list of strings")
    return tuple(value)


def _mask_rules(path: Path, body: dict[str, Any]) -> MaskRules:
    rules = []
    for table, columns in body.items():
        if table in _KEYS["mask"]:
            continue
        read = []
        for column, value in columns.items():
            try:
                read.append((column, parse_rule(value)))
            except ConfigError as exc:
                nested = isinstance(value, dict) and all(
                    isinstance(v, dict) for v in value.values()
                )
                raise ConfigError(
                    f"{path}: [mask.{table}] {column}: {exc}",
                    hint=f'a schema-qualified table is quoted: [mask."{table}.{column}"]'
                    if nested
                    else "see docs/masking.md for the rule kinds",
                ) from None
        rules.append((table, tuple(read)))
    return tuple(rules)


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
        if section == "mask":  # the rest are tables: checked by _mask_rules
            unknown = {k for k in unknown if not isinstance(body[k], dict)}
        if unknown:
            raise ConfigError(f"{path}: unknown key {sorted(unknown)[0]!r} in [{section}]")
    src, dst, mig = data.get("source", {}), data.get("target", {}), data.get("migrate", {})
    jobs = mig.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ConfigError(f"{path}: [migrate] jobs must be a positive integer")
    push_schema = mig.get("push_schema", defaults.PUSH_SCHEMA)
    if not isinstance(push_schema, bool):
        raise ConfigError(f"{path}: [migrate] push_schema must be true or false")
    lobs = mig.get("large_objects", defaults.LARGE_OBJECTS)
    if not isinstance(lobs, bool):
        raise ConfigError(f"{path}: [migrate] large_objects must be true or false")
    lock_timeout = mig.get("lock_timeout", defaults.LOCK_TIMEOUT)
    if not isinstance(lock_timeout, str):
        raise ConfigError(f'{path}: [migrate] lock_timeout must be a string such as "60s"')
    lock_timeout = valid_timeout(lock_timeout, f"{path}: [migrate] lock_timeout")
    source_copy = src.get("copy", defaults.SOURCE_COPY)
    if not isinstance(source_copy, bool):
        raise ConfigError(f"{path}: [source] copy must be true or false")
    bak = data.get("backup", {})
    take = mig.get("backup", defaults.BACKUP)
    if not isinstance(take, bool):
        raise ConfigError(f"{path}: [migrate] backup must be true or false")
    method = bak.get("method", defaults.BACKUP_METHOD)
    if method not in defaults.BACKUP_METHODS:
        raise ConfigError(f"{path}: [backup] method must be auto, template or dump")
    keep = bak.get("keep", defaults.BACKUP_KEEP)
    if not isinstance(keep, int) or keep < 1:
        raise ConfigError(f"{path}: [backup] keep must be a positive integer")
    folder = bak.get("folder", str(defaults.BACKUP_FOLDER))
    if not isinstance(folder, str):
        raise ConfigError(f"{path}: [backup] folder must be a string")
    for side, body in (("source", src), ("target", dst)):
        env = body.get("url_env")
        if env is not None and (not isinstance(env, str) or not env):
            raise ConfigError(f"{path}: [{side}] url_env must be a variable's name")
    mask_body = data.get("mask", {})
    key_env = mask_body.get("key_env", defaults.MASK_KEY_ENV)
    if not isinstance(key_env, str) or not key_env:
        raise ConfigError(f"{path}: [mask] key_env must be a variable's name")
    strict = mask_body.get("strict", defaults.MASK_STRICT)
    if not isinstance(strict, bool):
        raise ConfigError(f"{path}: [mask] strict must be true or false")
    return Config(
        mask_strict=strict,
        mask_key_env=key_env,
        mask=_mask_rules(path, mask_body),
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
        schemas=_strings("migrate", "schema", mig.get("schema", [])),
        jobs=jobs,
        push_schema=push_schema,
        large_objects=lobs,
        lock_timeout=lock_timeout,
        path=path,
        given=frozenset(f"{section}.{key}" for section, body in data.items() for key in body),
    )


# -- resolving: flags over environment over file over defaults -----------------------

T = TypeVar("T")


class Origin(enum.Enum):
    """Where a resolved setting came from."""

    FLAG = "flag"
    ENV = "env"
    FILE = "file"
    DEFAULT = "default"


@dataclass(frozen=True)
class Setting(Generic[T]):
    value: T
    origin: Origin
    #: which flag, variable or key: "--exclude", "$QA_DATABASE_URL", "[migrate] exclude"
    where: str = ""


@dataclass(frozen=True)
class Flags:
    """A command's flags that a setting can come from; None, () or False: not given."""

    from_url: str | None = None
    to_url: str | None = None
    tables: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    schemas: tuple[str, ...] = ()
    jobs: int | None = None
    push_schema: bool = False
    no_backup: bool = False
    no_large_objects: bool = False
    lock_timeout: str | None = None
    from_copy: bool = False
    backup_method: str | None = None
    backup_keep: int | None = None
    backup_folder: Path | None = None


#: how the URL flags are spelt, per side and role (the target is --db where role is "db")
_URL_FLAGS = {"prod": "--from", "qa": "--to", "db": "--db"}
_LIBPQ = "libpq's defaults (PG* variables, ~/.pgpass)"


@dataclass(frozen=True)
class Settings:
    """A command's resolved settings, each with its origin: see :func:`resolve`."""

    path: Path | None
    target_role: str
    #: the connection strings (may hold a password: shown only through :meth:`rows`);
    #: None when the variable ``url_env`` names is not set
    source: Setting[str | None]
    target: Setting[str | None]
    source_env: tuple[str, ...]
    target_env: tuple[str, ...]
    protected: Setting[tuple[str, ...]]
    tables: Setting[tuple[str, ...]]
    exclude: Setting[tuple[str, ...]]
    schemas: Setting[tuple[str, ...]]
    jobs: Setting[int]
    push_schema: Setting[bool]
    backup: Setting[bool]
    large_objects: Setting[bool]
    lock_timeout: Setting[str]
    source_copy: Setting[bool]
    backup_method: Setting[str]
    backup_keep: Setting[int]
    backup_folder: Setting[Path]
    #: the environment variable holding the masking key, and the masking rules
    mask_key_env: str = defaults.MASK_KEY_ENV
    mask: MaskRules = ()
    mask_strict: bool = defaults.MASK_STRICT

    def source_endpoint(self) -> Endpoint:
        """Production, as resolved (a ConfigError when ``url_env`` names an unset variable)."""
        if self.source.value is None:
            raise unset_variable(self.source_env, "prod")
        return parse(self.source.value, role="prod")

    def target_endpoint(self) -> Endpoint:
        """QA (or ``--db``), as resolved; see :meth:`writable_target` for commands that write."""
        if self.target.value is None:
            raise unset_variable(self.target_env, self.target_role)
        return parse(self.target.value, role=self.target_role)

    def writable_target(self) -> Endpoint:
        """The target, refused (:class:`~pgferry.errors.RefusedError`, exit 6) when it
        matches ``[target] protected``: every command that writes to QA starts here."""
        target = self.target_endpoint()
        refuse_protected(target, target.dbname, self.protected.value)
        return target

    def migrate_options(self) -> dict[str, Any]:
        """``MigrateOptions`` keyword arguments the settings decide."""
        return {
            "tables": self.tables.value,
            "exclude": self.exclude.value,
            "schemas": self.schemas.value,
            "jobs": self.jobs.value,
            "protected": self.protected.value,
            "push_schema": self.push_schema.value,
            "backup": self.backup.value,
            "backup_method": self.backup_method.value,
            "backup_folder": self.backup_folder.value,
            "backup_keep": self.backup_keep.value,
            "large_objects": self.large_objects.value,
            "lock_timeout": self.lock_timeout.value,
            "from_copy": self.source_copy.value,
        }

    def scope(self) -> dict[str, Any]:
        """The tables a refresh covers: ``migrate``, ``preflight`` and ``verify`` alike."""
        return {
            "tables": self.tables.value,
            "exclude": self.exclude.value,
            "schemas": self.schemas.value,
        }

    def rows(self) -> list[tuple[str, str, Origin, str]]:
        """``(key, value, origin, where)`` for each setting, values as shown to a person:
        URLs masked (never a password), lists comma-separated."""

        def url(s: Setting[str | None]) -> str:
            if s.value is None:
                return "(not set)"
            return mask(s.value) if s.value else "(libpq defaults)"

        def shown(value: object) -> str:
            if isinstance(value, tuple):
                return ", ".join(value) if value else "(none)"
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value)

        out = [
            ("source.url", url(self.source), self.source.origin, self.source.where),
            ("target.url", url(self.target), self.target.origin, self.target.where),
        ]
        named: list[tuple[str, Setting[Any]]] = [
            ("target.protected", self.protected),
            ("source.copy", self.source_copy),
            ("migrate.tables", self.tables),
            ("migrate.exclude", self.exclude),
            ("migrate.schema", self.schemas),
            ("migrate.jobs", self.jobs),
            ("migrate.push_schema", self.push_schema),
            ("migrate.backup", self.backup),
            ("migrate.large_objects", self.large_objects),
            ("migrate.lock_timeout", self.lock_timeout),
            ("backup.method", self.backup_method),
            ("backup.keep", self.backup_keep),
            ("backup.folder", self.backup_folder),
        ]
        out += [(k, mask(shown(s.value)), s.origin, s.where) for k, s in named]
        where = f"{self.path} [mask]" if self.path else ""

        def came(value: object, default: object) -> tuple[Origin, str]:
            return (Origin.FILE, where) if value != default else (Origin.DEFAULT, "")

        key_env = self.mask_key_env
        out.append(("mask.key_env", key_env, *came(key_env, defaults.MASK_KEY_ENV)))
        strict = self.mask_strict
        out.append(("mask.strict", shown(strict), *came(strict, defaults.MASK_STRICT)))
        for table, columns in self.mask:  # a rule's text never holds a value: see Rule
            out += [(f"mask.{table}.{c}", str(rule), Origin.FILE, where) for c, rule in columns]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "config_file": str(self.path) if self.path else None,
            "settings": {
                key: {"value": value, "origin": origin.value, "where": where}
                for key, value, origin, where in self.rows()
            },
        }


def _url(
    flag: str | None,
    role: str,
    side: str,
    url_env: str | None,
    flag_name: str,
    environ: Mapping[str, str] | None,
    file: Path | None,
) -> tuple[Setting[str | None], tuple[str, ...]]:
    names = (url_env,) if url_env else tuple(ENV_VARS.get(role, ()))
    if flag:
        value, _ = pick(flag, role=role, environ=environ)
        return Setting(value, Origin.FLAG, flag_name), names
    try:
        value, name = pick(
            None, role=role, environ=environ, env_names=[url_env] if url_env else None
        )
    except ConfigError:  # url_env names a variable that is not set: say so when it is used
        return Setting(None, Origin.ENV, f"${url_env} ({file} [{side}] url_env)"), names
    if name is None:
        return Setting(value, Origin.DEFAULT, _LIBPQ), names
    named = f" ({file} [{side}] url_env)" if url_env else ""
    return Setting(value, Origin.ENV, f"${name}{named}"), names


def resolve(
    flags: Flags | None = None,
    path: Path | None = None,
    *,
    target_role: str = "qa",
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge *flags* over the environment over the config file over the defaults.

    The file is *path*, else ``./pgferry.toml`` when it exists.  *target_role* is
    ``qa`` (``--to``: ``QA_DATABASE_URL`` then ``DATABASE_URL``) or ``db``
    (``--db``: ``DATABASE_URL`` first); ``[target] url_env`` replaces either.
    ``--exclude`` adds to ``[migrate] exclude`` (as it always has); every other
    flag replaces the file's value.
    """
    f = flags or Flags()
    cfg = load(path)

    def choose(
        key: str, file_value: T, default: T, flag: str = "", given: T | None = None
    ) -> Setting[T]:
        """*given*: the flag's value, None when the flag was not passed."""
        if given is not None:
            return Setting(given, Origin.FLAG, flag)
        if key in cfg.given:
            section, name = key.split(".")
            return Setting(file_value, Origin.FILE, f"{cfg.path} [{section}] {name}")
        return Setting(default, Origin.DEFAULT)

    source, source_env = _url(
        f.from_url, "prod", "source", cfg.source_env, "--from", environ, cfg.path
    )
    target, target_env = _url(
        f.to_url, target_role, "target", cfg.target_env, _URL_FLAGS[target_role], environ, cfg.path
    )
    exclude = choose("migrate.exclude", cfg.exclude, (), "--exclude", f.exclude or None)
    if f.exclude and cfg.exclude:  # the flag adds to the file's list, as it always has
        exclude = Setting(
            (*cfg.exclude, *f.exclude), Origin.FLAG, f"{cfg.path} [migrate] exclude + --exclude"
        )
    schemas = choose("migrate.schema", cfg.schemas, (), "--schema", f.schemas or None)
    if schemas.origin is Origin.DEFAULT and target.value:  # Prisma's ?schema=
        found = parse(target.value, role=target_role).schema
        if found:
            schemas = Setting((found,), target.origin, f"?schema= in {target.where}")
    lock_timeout = valid_timeout(f.lock_timeout) if f.lock_timeout else None
    return Settings(
        path=cfg.path,
        target_role=target_role,
        source=source,
        target=target,
        source_env=source_env,
        target_env=target_env,
        protected=choose("target.protected", cfg.protected, ()),
        tables=choose("migrate.tables", cfg.tables, (), "--tables", f.tables or None),
        exclude=exclude,
        schemas=schemas,
        jobs=choose("migrate.jobs", cfg.jobs or defaults.jobs(), defaults.jobs(), "--jobs", f.jobs),
        push_schema=choose(
            "migrate.push_schema",
            cfg.push_schema,
            defaults.PUSH_SCHEMA,
            "--push-schema",
            True if f.push_schema else None,
        ),
        backup=choose(
            "migrate.backup",
            cfg.backup,
            defaults.BACKUP,
            "--no-backup",
            False if f.no_backup else None,
        ),
        large_objects=choose(
            "migrate.large_objects",
            cfg.large_objects,
            defaults.LARGE_OBJECTS,
            "--no-large-objects",
            False if f.no_large_objects else None,
        ),
        lock_timeout=choose(
            "migrate.lock_timeout",
            cfg.lock_timeout,
            defaults.LOCK_TIMEOUT,
            "--lock-timeout",
            lock_timeout,
        ),
        source_copy=choose(
            "source.copy",
            cfg.source_copy,
            defaults.SOURCE_COPY,
            "--from-copy",
            True if f.from_copy else None,
        ),
        backup_method=choose(
            "backup.method", cfg.backup_method, defaults.BACKUP_METHOD, "--method", f.backup_method
        ),
        backup_keep=choose(
            "backup.keep", cfg.backup_keep, defaults.BACKUP_KEEP, "--keep", f.backup_keep
        ),
        backup_folder=choose(
            "backup.folder", cfg.backup_folder, defaults.BACKUP_FOLDER, "--folder", f.backup_folder
        ),
        mask_key_env=cfg.mask_key_env,
        mask=cfg.mask,
        mask_strict=cfg.mask_strict,
    )
