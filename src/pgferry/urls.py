"""Reading a connection URL the way libpq will, without ever showing its password.

libpq's own errors quote the text they stumble on, and a password with an
unencoded ``@``, ``/``, ``%`` or space is exactly where they stumble, so
pgferry splits URLs itself first, following libpq's rules, and refuses the
ambiguous ones with a reason of its own.  An error shows only what could be
read safely (scheme, host, database), never the user-info part.

SQLAlchemy-style schemes (``postgresql+psycopg2://``, ``postgres+asyncpg://``)
are accepted: the ``+driver`` means nothing to libpq and is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from .errors import UrlProblem as UrlProblem  # defined in pgferry.errors, kept here too
from .errors import first_line

#: ``scheme://`` at the start; ``jdbc:postgresql://`` too, so it can be named.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-:]{0,39})://")
POSTGRES_SCHEMES = ("postgresql", "postgres")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

#: Settings whose values libpq only checks when it connects (exit 4 then);
#: checked here so a typo is a config error (exit 2) before anything runs.
CHOICES: Mapping[str, tuple[str, ...]] = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "gssencmode": ("disable", "prefer", "require"),
    "channel_binding": ("disable", "prefer", "require"),
    "target_session_attrs": (
        "any",
        "read-write",
        "read-only",
        "primary",
        "standby",
        "prefer-standby",
    ),
    "load_balance_hosts": ("disable", "random"),
}
_INTEGERS = ("connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval")


@dataclass(frozen=True)
class Url:
    """A URL split as libpq splits it; every part as written (still percent-encoded)."""

    scheme: str  # as written: postgresql+psycopg2
    user: str | None
    password: str | None
    hosts: str  # "h1:5432,h2", "[::1]:5433", "" for the local socket
    dbname: str | None
    query: tuple[tuple[str, str], ...]  # (key, value) pairs as written

    def libpq(self, query: tuple[tuple[str, str], ...] | None = None) -> str:
        """The URL libpq receives: scheme ``postgresql``, *query* (default: all of it)."""
        return self._build(self.password, self.query if query is None else query)

    def without_password(self) -> str:
        """The URL with no password in it (user-info nor ``?password=``), as written."""
        pairs = tuple((k, v) for k, v in self.query if k != "password")
        return self._build(None, pairs, scheme=self.scheme)

    def _build(
        self,
        password: str | None,
        query: tuple[tuple[str, str], ...],
        *,
        scheme: str = "postgresql",
    ) -> str:
        auth = ""
        if self.user is not None or password is not None:
            auth = (self.user or "") + (f":{password}" if password is not None else "") + "@"
        text = f"{scheme}://{auth}{self.hosts}"
        if self.dbname is not None:
            text += f"/{self.dbname}"
        if query:
            text += "?" + "&".join(f"{k}={v}" for k, v in query)
        return text


def is_url(text: str) -> bool:
    """Whether *text* is meant as a URL (any ``scheme://``), not a keyword string."""
    return _SCHEME.match(text) is not None


def _shown(scheme: str, body: str) -> str:
    """``postgresql://, host h, database d``: what can be told without risk.

    Host and database are read after the last ``@``, so whatever the user-info
    holds (a password with stray ``@`` or ``/``) is never part of them; and only
    when no ``?`` comes before that ``@``, since then it may sit in a query
    value (``?password=a@b``).  Otherwise the scheme alone is shown.
    """
    at = body.rfind("@")
    if "?" in body[: max(at, 0)]:
        return f"{scheme}://"
    tail = body[at + 1 :]
    bracketed = tail.startswith("[")
    host = re.split(r"[:/?,]", tail[1:] if bracketed else tail, maxsplit=1)[0]
    host = host.split("]", 1)[0] if bracketed else host
    db = tail.split("/", 1)[1].split("?", 1)[0] if "/" in tail else ""
    parts = [f"{scheme}://"]
    if host and _plain(host):
        parts.append(f"host {unquote(host)}")
    if db and _plain(db) and "/" not in db:
        parts.append(f"database {unquote(db)}")
    return ", ".join(parts)


def _plain(part: str) -> bool:
    return not any(c.isspace() or c in "@&=#'\"\\" for c in part)


def summary(text: str) -> str:
    """What an error may tell of URL *text*: scheme, host, database."""
    match = _SCHEME.match(text)
    return _shown(match.group(1).lower(), text[match.end() :]) if match else ""


def read(text: str, known: frozenset[str]) -> Url:
    """Split *text* as libpq would, or raise :class:`UrlProblem` (never with the password).

    *known* are the query keys accepted (libpq's and Prisma's).
    """
    match = _SCHEME.match(text)
    if match is None:
        raise UrlProblem("it is not a URL", "")
    scheme, body = match.group(1), text[match.end() :]
    base, _, _driver = scheme.lower().partition("+")
    shown = _shown(scheme.lower(), body)
    if base not in POSTGRES_SCHEMES:
        raise UrlProblem(
            f"the scheme is {scheme.lower()}://; pgferry needs a postgresql:// URL", shown
        )
    # libpq looks for the user-info's '@' up to the first '/', and takes the first
    head_end = body.find("/")
    head = body if head_end < 0 else body[:head_end]
    if head.count("@") > 1:
        raise UrlProblem(
            "the user name or password holds an '@' that is not percent-encoded: write it as %40",
            shown,
        )
    user = password = None
    rest = body
    if "@" in head:
        userinfo, rest = body.split("@", 1)
        user, colon, pw = userinfo.partition(":")
        password = pw if colon else None
        _check_encoding(userinfo, "the user name or password", shown)
    elif "@" in body:
        # an '@' past the first '/': a '/' in the password, or an '@' in the database name
        # (an '@' in a known parameter's value, ?user=me@corp, is fine)
        query_at = body.find("?", head_end)
        in_query = query_at >= 0 and "@" not in body[:query_at]
        if not in_query or not _ats_in_values(body[query_at + 1 :], known):
            raise UrlProblem(
                "there is an '@' after the host: a '/' in the password must be written "
                "%2F, an '@' in the database name %40",
                shown,
            )
    host_end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    hosts, path_query = rest[:host_end], rest[host_end:]
    _check_hosts(hosts, shown)
    dbname: str | None = None
    query_text = ""
    if path_query.startswith("/"):
        dbname, _, query_text = path_query[1:].partition("?")
    elif path_query.startswith("?"):
        query_text = path_query[1:]
    if dbname is not None:
        if "@" in dbname:  # a password with '@' and '/' unencoded (a:b@/c@host/db), or a name
            raise UrlProblem(
                "there is an '@' after the host: a '/' in the password must be written "
                "%2F, an '@' in the database name %40",
                shown,
            )
        _check_encoding(dbname, "the database name", shown)
    pairs: list[tuple[str, str]] = []
    for pair in query_text.split("&") if query_text else ():
        key, eq, value = pair.partition("=")
        if not eq:
            raise UrlProblem("a parameter after '?' has no '=value'", shown)
        name = unquote(key)
        if name not in known:
            # after ?password=, an unknown "key" may be the rest of a password with an '&'
            safe = re.fullmatch(r"[a-z_]{1,40}", name) and all(k != "password" for k, _ in pairs)
            said = repr(name) if safe else "(not shown)"
            raise UrlProblem(f"unknown parameter {said} after '?'", shown)
        _check_encoding(value, f"the value of {name}", shown)
        pairs.append((key, value))
    return Url(scheme, user, password, hosts, dbname, tuple(pairs))


def _ats_in_values(query: str, known: frozenset[str]) -> bool:
    """Whether every '@' of *query* sits in the value of a known parameter."""
    for pair in query.split("&"):
        key, eq, _value = pair.partition("=")
        if "@" in key or (not eq and "@" in pair) or (eq and unquote(key) not in known):
            return False
    return True


def _check_encoding(part: str, what: str, shown: str) -> None:
    if any(c.isspace() for c in part):
        raise UrlProblem(f"{what} holds a space: write it as %20", shown)
    if _BAD_PERCENT.search(part):
        raise UrlProblem(
            f"{what} holds a '%' that is not followed by two hex digits: write '%' as %25",
            shown,
        )


def _check_hosts(hosts: str, shown: str) -> None:
    if any(c.isspace() for c in hosts):
        raise UrlProblem("the host holds a space", shown)
    for item in hosts.split(","):
        if item.startswith("["):
            end = item.find("]")
            if end < 0:
                raise UrlProblem("an IPv6 address in '[' is not closed with ']'", shown)
            port = item[end + 1 :].removeprefix(":")
        else:
            _, _, port = item.partition(":")
        if port and not valid_port(port):
            raise UrlProblem("the port after the host is not a number from 1 to 65535", shown)


def valid_port(port: str) -> bool:
    return port.isdigit() and port.isascii() and 0 < int(port) < 65536


def check_values(params: Mapping[str, object]) -> str | None:
    """What is wrong with libpq settings libpq only checks when connecting, or None."""
    ports = str(params.get("port") or "")
    if ports and not all(not p or valid_port(p) for p in ports.split(",")):
        return "the port is not a number from 1 to 65535"
    for key, allowed in CHOICES.items():
        value = params.get(key)
        if value is not None and str(value) not in allowed:
            said = repr(str(value)) if re.fullmatch(r"[\w-]{1,30}", str(value)) else "value"
            return f"{key} {said} is not one of {', '.join(allowed)}"
    for key in _INTEGERS:
        value = params.get(key)
        if value is not None and not str(value).lstrip("-").isdigit():
            return f"{key} must be a whole number"
    return None


def libpq_reason(message: str) -> str:
    """libpq's parse error without what it echoed: the text between its first and last
    double quote goes (a quoted fragment is where a password would show, and it may
    hold quotes itself)."""
    first = first_line(message, "invalid")
    if first.startswith('missing "=" after'):
        return "a word has no '=value' (a value that holds spaces must be in single quotes)"
    start, end = first.find('"'), first.rfind('"')
    if start < 0:
        return first
    return first[:start] + "…" + (first[end + 1 :] if end > start else "")
