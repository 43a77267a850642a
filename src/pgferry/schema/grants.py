"""Grants from production's archive, kept for the roles QA has.

pg_dump writes an object's privileges as ``GRANT``/``REVOKE`` lines (its ``ACL``
and ``DEFAULT ACL`` entries) and names roles in ``CREATE POLICY ... TO``.  QA's
server has its own roles: a line naming a role QA lacks would fail, so it is
left out and the role is listed, for the user to create it (or not).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace

from .archive import Entry

#: the grantees of a GRANT (``TO``) or REVOKE (``FROM``) line
_GRANTEES = re.compile(
    r"\s(?:TO|FROM)\s+(?P<who>.+?)"
    r"(?:\s+WITH (?:GRANT|ADMIN|INHERIT|SET) OPTION|\s+GRANTED BY .+?)?;\s*$"
)
_FOR_ROLE = re.compile(r"\bFOR ROLE\s+(?P<who>\"(?:[^\"]|\"\")+\"|[^\s,]+)")
_POLICY_TO = re.compile(r"\sTO\s+(?P<who>.+?)(?:\s+USING|\s+WITH CHECK|;\s*$)", re.DOTALL)
_IDENT = re.compile(r'"((?:[^"]|"")+)"|([^\s,"]+)')
_KEYWORDS = frozenset({"public", "current_user", "session_user", "current_role"})

KINDS = frozenset({"ACL", "DEFAULT ACL"})


def roles_in(text: str) -> list[str]:
    """The role names in a list like ``api, "Web Anon", PUBLIC`` (keywords left out)."""
    out: list[str] = []
    for m in _IDENT.finditer(text):
        if m.group(1) is not None:
            out.append(m.group(1).replace('""', '"'))
        elif m.group(2).lower() not in _KEYWORDS:
            out.append(m.group(2).lower())
    return out


def _named(line: str) -> list[str]:
    names: list[str] = []
    m = _GRANTEES.search(line)
    if m and line.lstrip().startswith(("GRANT", "REVOKE")):
        names += roles_in(m.group("who"))
    f = _FOR_ROLE.search(line)
    if f:
        names += roles_in(f.group("who"))
    return names


def for_roles(entry: Entry, roles: Collection[str]) -> tuple[Entry | None, set[str]]:
    """*entry* with its grant lines for roles QA lacks left out (None when nothing is
    left), and those roles.  Entries other than grants and policies come back as they are."""
    if entry.kind == "POLICY":
        m = _POLICY_TO.search(entry.sql)
        named = {r for r in roles_in(m.group("who")) if r not in roles} if m else set()
        return (None, named) if named else (entry, set())
    if entry.kind not in KINDS:
        return entry, set()
    kept: list[str] = []
    missing: set[str] = set()
    for line in entry.sql.splitlines():
        if line.startswith(("SET SESSION AUTHORIZATION", "RESET SESSION AUTHORIZATION")):
            continue  # grantors are QA's role: owners are not carried over
        absent = {r for r in _named(line) if r not in roles}
        if absent:
            missing |= absent
            continue
        kept.append(line)
    if not any(line.strip() for line in kept):
        return None, missing
    return replace(entry, sql="\n".join(kept).strip()), missing


def revoke(line: str) -> str | None:
    """The REVOKE that takes back one GRANT line of pg_dump's, or None for other lines."""
    m = re.match(r"^GRANT (?P<what>.+?) TO (?P<who>.+?)(?: WITH GRANT OPTION)?;\s*$", line)
    if not m:
        return None
    return f"REVOKE {m.group('what')} FROM {m.group('who')};"
