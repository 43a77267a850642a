"""Where the databases are, and how pgferry talks to them.

An :class:`Endpoint` is a libpq connection string plus what pgferry read from
it: Prisma's extra URL parameters are accepted (libpq would reject them) and
``schema`` is honoured as the schema to work on.  :func:`connect` opens a
session with the settings pinned that make values travel unchanged (the same
ones pg_dump pins) and turns every connection failure into one readable line.
:func:`mask` is the one function that hides passwords in anything shown to a
person.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote

import psycopg
from psycopg import conninfo as pgconninfo

from . import urls
from .errors import ConfigError, ConnectionFailed, first_line

#: URL parameters Prisma understands and libpq does not.  ``schema`` is
#: honoured (it sets the schema pgferry works on); ``pgbouncer=true`` turns off
#: server-side prepared statements; the rest tune Prisma's own pool and mean
#: nothing to a one-off tool, so they are accepted and ignored.
PRISMA_PARAMS = frozenset(
    {
        "schema",
        "connection_limit",
        "pool_timeout",
        "pgbouncer",
        "sslaccept",
        "socket_timeout",
        "statement_cache_size",
    }
)

#: Settings pinned on every session, as pg_dump pins them: without these, dates
#: swap under a DMY DateStyle, negative intervals change sign between styles,
#: floats lose digits, and row-level security hides rows silently.  bytea_output
#: and lc_monetary make bytea and money read the same as text on both sides.
PINNED_SETTINGS: Mapping[str, str] = {
    "DateStyle": "ISO",
    "IntervalStyle": "postgres",
    "extra_float_digits": "3",
    "TimeZone": "UTC",
    "client_encoding": "UTF8",
    "standard_conforming_strings": "on",
    "row_security": "off",
    "search_path": "",
    "bytea_output": "hex",
    "lc_monetary": "C",
    # a role's limits must not cancel a long COPY or the snapshot held open for it
    "statement_timeout": "0",
    "lock_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
}

#: Pinned only where the server has them (PostgreSQL 17+).
PINNED_SETTINGS_17: Mapping[str, str] = {"transaction_timeout": "0"}


class Role(StrEnum):
    """Which side an endpoint is: it picks the environment variables and the wording.
    A plain string ("prod", "qa", "db") is accepted wherever a role is."""

    PROD = "prod"  # production: only ever read
    QA = "qa"  # the database pgferry refreshes
    DB = "db"  # one database (the commands that take --db)


#: Environment variables read for each role, first set wins.
ENV_VARS: Mapping[str, tuple[str, ...]] = {  # keyed by Role
    Role.PROD: ("PROD_DATABASE_URL",),
    Role.QA: ("QA_DATABASE_URL", "DATABASE_URL"),
    Role.DB: ("DATABASE_URL", "QA_DATABASE_URL"),
}

# Secrets seen in connection strings this process handled; mask() removes them
# from any text even where the text does not look like a URL.
_SECRETS: set[str] = set()

_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.\-]*://[^:/@\s]*:)(\S*)(@)")
# In a URL query a value ends at '&'; in a keyword string only at whitespace
# (a quoted value may hold spaces; an unterminated one runs to the end).
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)([^&\s]*)")  # libpq: no #fragment
_KW_PASSWORD = re.compile(
    r"(?i)(?<![\w?&])(password\s*=\s*)('(?:[^'\\]|\\.)*(?:'|$)|(?:[^\s\\]|\\.|\\$)+)"
)  # unquoted, libpq reads "\ " as a space inside the value


def mask(text: str) -> str:
    """Return *text* with every password replaced by ``***``.

    Handles ``postgresql://user:secret@host`` URLs, ``password=...`` in
    keyword strings and URL queries, and any password pgferry has seen in a
    connection string during this process.  Every URL, message, log line and
    report that reaches a person goes through here.
    """
    # the passwords seen first, whole: a pattern below may stop inside one (at a '#'
    # or '&' libpq reads as part of it) and leave the rest where no secret matches
    for secret in sorted(_SECRETS, key=len, reverse=True):
        # whole words only: a password "postgres" must not eat "postgresql://"
        text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(secret)}(?![A-Za-z0-9_])", "***", text)
    text = _URL_PASSWORD.sub(r"\1***\3", text)
    text = _QUERY_PASSWORD.sub(r"\1***", text)
    text = _KW_PASSWORD.sub(r"\1***", text)
    return text


def _remember_secret(secret: str | None) -> None:
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)


@dataclass(frozen=True)
class Endpoint:
    """A database pgferry connects to.

    ``conninfo`` is what libpq receives (it may hold a password: never print
    it; use :meth:`describe` or :func:`mask`).  An empty ``conninfo`` means
    libpq's own defaults: ``PG*`` environment variables and ``~/.pgpass``.
    """

    conninfo: str
    role: Role = Role.DB
    schema: str | None = None
    pgbouncer: bool = False
    ignored_params: tuple[str, ...] = field(default=())
    #: bounds every lock wait of its writing sessions (``migrate``'s QA); None: no bound
    lock_timeout: str | None = None

    def params(self) -> dict[str, str]:
        """The connection parameters libpq will use, defaults and ``PG*`` included."""
        given = {k: str(v) for k, v in pgconninfo.conninfo_to_dict(self.conninfo).items()}
        merged: dict[str, str] = {}
        for opt in psycopg.pq.Conninfo.get_defaults():
            if opt.val is not None:
                merged[opt.keyword.decode()] = opt.val.decode()
        merged.update(given)
        return merged

    def describe(self) -> str:
        """``host:port/dbname as user``: for messages, never with a password."""
        p = self.params()
        host = p.get("host") or p.get("hostaddr") or "local socket"
        port = p.get("port") or "5432"
        user = p.get("user") or _os_user()
        dbname = p.get("dbname") or user
        return mask(f"{host}:{port}/{dbname} as {user}")

    @property
    def dbname(self) -> str:
        p = self.params()
        return p.get("dbname") or p.get("user") or _os_user()

    def __repr__(self) -> str:
        return f"Endpoint({self.role}: {self.describe()})"


def _os_user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # pragma: no cover - no user database
        return "?"


def _known_keys() -> frozenset[str]:
    keys = {opt.keyword.decode() for opt in psycopg.pq.Conninfo.get_defaults()}
    return frozenset(keys | PRISMA_PARAMS)


def _unreadable(role: str, shown: str, reason: str, hint: str | None = None) -> ConfigError:
    """The error for a connection string pgferry will not use: what could be read
    safely (*shown*: scheme, host, database) and why, never the string itself."""
    what = f"the {role} URL ({shown})" if shown else f"the {role} connection string"
    return ConfigError(mask(f"cannot use {what}: {reason}"), hint=hint or _URL_HINT)


# (not user:password@ here: mask() would take "password" for one)
_URL_HINT = (
    "write postgresql://user@host:port/dbname with the password after 'user:', "
    "percent-encoded (@ as %40, / as %2F, % as %25, a space as %20), "
    "or a keyword string 'host=... dbname=...' (a value with spaces in single quotes)"
)


def _read_url(text: str, role: str) -> tuple[str, str | None, bool, list[str]]:
    """libpq's URL for *text*, with Prisma's parameters taken out and kept aside."""
    try:
        url = urls.read(text, _known_keys())
    except urls.UrlProblem as exc:
        raise _unreadable(role, exc.shown, exc.reason) from None
    for secret in (url.password, unquote(url.password or "")):
        _remember_secret(secret or None)
    schema: str | None = None
    pgbouncer = False
    ignored: list[str] = []
    # libpq's pairs are kept exactly as written: re-encoding would turn %20
    # into '+', which libpq reads as a plus sign.
    kept: list[tuple[str, str]] = []
    for key, value in url.query:
        name, plain = unquote(key), unquote(value)
        if name not in PRISMA_PARAMS:
            kept.append((key, value))
            if name == "password":
                _remember_secret(plain)
        elif name == "schema":
            schema = plain or None
        elif name == "pgbouncer":
            pgbouncer = plain.lower() in ("true", "1", "yes", "on")
        else:
            ignored.append(name)
    return url.libpq(tuple(kept)), schema, pgbouncer, ignored


def parse(conninfo: str, *, role: Role | str = Role.DB) -> Endpoint:
    """Read a URL or libpq keyword string into an :class:`Endpoint`.

    ``postgresql://`` and ``postgres://`` URLs are read, SQLAlchemy's
    ``postgresql+driver://`` too (the driver is dropped).  Prisma's parameters
    are taken out of URLs; ``schema`` and ``pgbouncer`` are kept on the
    endpoint.  Anything pgferry or libpq cannot use (another scheme, an
    unencoded ``@`` ``/`` ``%`` or space, a port that is not a number, an
    ``sslmode`` libpq does not know) is a :class:`ConfigError` that shows only
    the scheme, host and database, never the string or its password.
    """
    role = Role(role)
    conninfo = conninfo.strip()
    schema: str | None = None
    pgbouncer = False
    ignored: list[str] = []
    is_url = urls.is_url(conninfo)
    shown = ""
    if is_url:
        conninfo, schema, pgbouncer, ignored = _read_url(conninfo, role)
        shown = urls.summary(conninfo)
    try:
        params = pgconninfo.conninfo_to_dict(conninfo)
    except (psycopg.ProgrammingError, ValueError) as exc:
        hint = None
        if not is_url and "missing" in str(exc):
            hint = "put a value that holds spaces in single quotes: 'a b', with \\' and \\\\ inside"
        raise _unreadable(role, shown, urls.libpq_reason(str(exc)), hint) from None
    _remember_secret(str(params.get("password") or "") or None)
    problem = urls.check_values(params)
    if problem:
        raise _unreadable(role, shown, problem)
    return Endpoint(
        conninfo=conninfo,
        role=role,
        schema=schema,
        pgbouncer=pgbouncer,
        ignored_params=tuple(ignored),
    )


def without_password(conninfo: str) -> tuple[str, bool]:
    """*conninfo* with its password left out, and whether there was one.

    For commands pgferry prints to be pasted (doctor's fixes): a ``***`` in
    their place would be pasted as the password; without it libpq takes the
    password from ``PGPASSWORD`` or ``~/.pgpass``.  A string that cannot be
    read comes back as nothing but a placeholder.
    """
    text = conninfo.strip()
    try:
        if urls.is_url(text):
            url = urls.read(text, _known_keys())
            had = url.password is not None or any(k == "password" for k, _ in url.query)
            return url.without_password(), had
        params = pgconninfo.conninfo_to_dict(text)
    except (urls.UrlProblem, psycopg.ProgrammingError, ValueError):
        return "URL", False
    had = "password" in params
    params.pop("password", None)
    return pgconninfo.make_conninfo("", **params), had


def resolve(
    value: str | None,
    *,
    role: Role | str = Role.DB,
    environ: Mapping[str, str] | None = None,
    env_names: Sequence[str] | None = None,
) -> Endpoint:
    """The endpoint for *role* from a flag *value* or, when that is empty, the environment.

    ``prod`` reads ``PROD_DATABASE_URL``; ``qa`` reads ``QA_DATABASE_URL`` then
    ``DATABASE_URL``; ``db`` reads ``DATABASE_URL`` then ``QA_DATABASE_URL``.
    With none set, libpq's ``PG*`` variables and ``~/.pgpass`` apply.
    *env_names* replaces the variables read (``url_env`` in pgferry.toml): a
    variable named there must be set, since falling back to libpq's defaults
    would quietly work on another database (the local one).
    """
    value, _ = pick(value, role=role, environ=environ, env_names=env_names)
    return parse(value, role=role)


def pick(
    value: str | None,
    *,
    role: Role | str = Role.DB,
    environ: Mapping[str, str] | None = None,
    env_names: Sequence[str] | None = None,
) -> tuple[str, str | None]:
    """The connection string :func:`resolve` parses, and the environment variable it
    came from (None: the flag *value*, or libpq's defaults when that is empty too)."""
    role = Role(role)
    env = os.environ if environ is None else environ
    _remember_secret(env.get("PGPASSWORD"))
    if value:
        return value, None
    for name in env_names or ENV_VARS.get(role, ()):
        if env.get(name):
            return env[name], name
    if env_names:
        raise unset_variable(env_names, role)
    return "", None


def unset_variable(names: Sequence[str], role: Role | str) -> ConfigError:
    """The error for ``url_env`` naming a variable that is not set."""
    role = Role(role)
    section = "[source]" if role == Role.PROD else "[target]"
    flag = "--from" if role == Role.PROD else "--to (or --db)"
    shown = ", ".join(f"${n}" for n in names)
    return ConfigError(
        f"{shown} is not set or empty: pgferry.toml's {section} url_env names it as "
        f"the {_ROLE_NAMES[role]} URL",
        hint=f"export {names[0]}=postgresql://... first, or pass the URL with {flag}",
    )


_ROLE_NAMES = {Role.PROD: "production", Role.QA: "QA", Role.DB: "database"}


_REASON_HINTS: tuple[tuple[str, str], ...] = (
    ("connection refused", "is the server running, and are host and port right?"),
    ("no such file or directory", "is the server running? no socket at that path"),
    ("password authentication failed", "check the user and password in the URL or ~/.pgpass"),
    ("no password supplied", "put the password in the URL, PGPASSWORD or ~/.pgpass"),
    ("does not exist", "check the name in the URL; create the database or role first"),
    ("could not translate host name", "check the host name in the URL"),
    ("failed to resolve host", "check the host name in the URL"),
    ("timeout expired", "the server did not answer in time: check host, port and firewall"),
    ("too many connections", "close other sessions or raise max_connections"),
    ("ssl", "check sslmode in the URL (e.g. ?sslmode=require)"),
    ("pg_hba.conf", "the server's pg_hba.conf does not let this user in from here"),
)


def _reason(exc: BaseException) -> str:
    first = first_line(exc)
    # libpq: 'connection to server at "h" (1.2.3.4), port 5 failed: Connection refused'
    if " failed: " in first:
        first = first.rsplit(" failed: ", 1)[1]
    return mask(first.removeprefix("FATAL:").strip())


def connection_failed(endpoint: Endpoint, exc: BaseException) -> ConnectionFailed:
    """The one-line error for a connection that could not be made."""
    reason = _reason(exc)
    hint = next((h for key, h in _REASON_HINTS if key in reason.lower()), None)
    which = {Role.PROD: "production database ", Role.QA: "QA database "}.get(endpoint.role, "")
    return ConnectionFailed(
        f"cannot connect to {which}{endpoint.describe()}: {reason}",
        hint=hint,
    )


_STARTUP_OPTIONS = "-c statement_timeout=0 -c idle_in_transaction_session_timeout=0"


def connect(
    endpoint: Endpoint,
    *,
    read_only: bool = False,
    autocommit: bool = False,
    application_name: str = "pgferry",
) -> psycopg.Connection[tuple[object, ...]]:
    """Open a session on *endpoint* with :data:`PINNED_SETTINGS` applied.

    ``read_only`` makes every transaction of the session read-only (used for
    production).  Failures raise :class:`ConnectionFailed` with host, port,
    database and the reason.
    """
    kwargs: dict[str, object] = {}
    params = pgconninfo.conninfo_to_dict(endpoint.conninfo)
    if "application_name" not in params and not os.environ.get("PGAPPNAME"):
        kwargs["application_name"] = application_name  # the URL's own name wins
    if "connect_timeout" not in params and not os.environ.get("PGCONNECT_TIMEOUT"):
        kwargs["connect_timeout"] = 10
    if not endpoint.pgbouncer:  # pgbouncer refuses startup options it does not know
        # in the startup packet, so a role's own 1 ms statement_timeout cannot cancel the
        # very query that pins the settings below (the pin runs as a statement)
        own = params.get("options") or os.environ.get("PGOPTIONS", "")
        kwargs["options"] = f"{own} {_STARTUP_OPTIONS}".strip()
    try:
        conn = psycopg.connect(endpoint.conninfo, autocommit=True, **kwargs)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        raise connection_failed(endpoint, exc) from None
    try:
        if endpoint.pgbouncer:
            conn.prepare_threshold = None
        settings = dict(PINNED_SETTINGS)
        if endpoint.lock_timeout and not read_only:  # see pgferry.waits
            settings["lock_timeout"] = endpoint.lock_timeout
        if conn.info.server_version >= 170000:
            settings.update(PINNED_SETTINGS_17)
        if read_only:
            settings["default_transaction_read_only"] = "on"
        query = "SELECT " + ", ".join("pg_catalog.set_config(%s, %s, false)" for _ in settings)
        args: list[str] = []
        for name, value in settings.items():
            args += [name, value]
        conn.execute(query, args)
        conn.read_only = read_only or None
        conn.autocommit = autocommit
    except psycopg.OperationalError as exc:
        conn.close()
        raise connection_failed(endpoint, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn
