"""Stream tables from the source snapshot into QA with COPY, in parallel.

Each worker thread holds one source connection (importing the snapshot) and
one target connection, and takes the largest remaining table next.  Rows go
from ``COPY ... TO STDOUT`` straight into ``COPY ... FROM STDIN``: no
temporary files, and memory that does not grow with table size.  Each table
loads in its own target transaction, so a failed table is left empty, never
half-loaded.
"""

from __future__ import annotations

import queue
import select
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn, Protocol, runtime_checkable

import psycopg
from psycopg import sql
from psycopg.abc import Buffer

from .. import journal, waits
from ..catalog import Name
from ..endpoints import Endpoint, connect
from ..errors import (
    ConnectionFailed,
    CopyFailed,
    PgferryError,
    PrivilegeError,
    connection_lost,
    first_line,
    from_server,
)
from ..plan import TablePlan
from .snapshot import Snapshot

#: Progress is reported every this many bytes of a table.
PROGRESS_EVERY = 1 << 20


@dataclass(frozen=True)
class TableResult:
    table: TablePlan
    rows: int  # rows QA's COPY reported receiving
    bytes: int
    seconds: float
    source_rows: int = -1  # rows production's COPY reported sending from the snapshot

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table.target),
            "source": str(self.table.source),
            "rows": self.rows,
            "source_rows": self.source_rows,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "format": "binary" if self.table.binary else "text",
        }


class Progress(Protocol):
    def started(self, table: TablePlan) -> None: ...
    def advanced(self, table: TablePlan, nbytes: int) -> None: ...
    def finished(self, result: TableResult) -> None: ...


@runtime_checkable
class StepProgress(Protocol):
    """A progress display that also follows the run's named steps (see
    :class:`pgferry.refresh.pipeline.Refresh`): *number* of *total*, 0 for a step
    outside the run's list."""

    def step(self, name: str, number: int, total: int) -> None: ...
    def step_done(self, name: str, seconds: float) -> None: ...


class NoProgress:
    def started(self, table: TablePlan) -> None:
        pass

    def advanced(self, table: TablePlan, nbytes: int) -> None:
        pass

    def finished(self, result: TableResult) -> None:
        pass


class RunLog:
    """Passes progress on to *inner* and keeps a timestamped line per event: the run log."""

    def __init__(self, inner: Progress | None = None) -> None:
        self.inner = inner or NoProgress()
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def note(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._lock:
            self.lines.append(f"{stamp} {message}")

    def started(self, table: TablePlan) -> None:
        self.note(f"copy {table.source} -> {table.target} ({'binary' if table.binary else 'text'})")
        self.inner.started(table)

    def advanced(self, table: TablePlan, nbytes: int) -> None:
        self.inner.advanced(table, nbytes)

    def finished(self, result: TableResult) -> None:
        self.note(
            f"done {result.table.target}: {result.rows} rows, {result.bytes} bytes, "
            f"{result.seconds:.2f} s"
        )
        self.inner.finished(result)


def can_use_replica_role(conn: psycopg.Connection[Any]) -> bool:
    """Whether this role may set ``session_replication_role`` (superuser or granted)."""
    try:
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


def target_session(endpoint: Endpoint, *, replica: bool) -> psycopg.Connection[Any]:
    """A QA connection; with *replica*, user and foreign-key triggers do not fire."""
    conn = connect(endpoint, application_name="pgferry load")
    try:
        if replica:
            conn.execute("SET session_replication_role = replica")
            conn.commit()
    except BaseException:
        conn.close()
        raise
    return conn


def truncate(
    conn: psycopg.Connection[Any],
    tables: Sequence[Name],
    lock_timeout: str | None = None,
    *,
    partitioned: Collection[Name] = (),
) -> None:
    """Empty exactly *tables* in one statement: no CASCADE, so nothing else is touched.

    Tables are truncated with ONLY (an inheritance child outside the list keeps
    its rows), except the *partitioned* ones, which PostgreSQL truncates only
    with their partitions.  The wait for their locks is bounded by *lock_timeout*
    (else the session's, see :mod:`pgferry.waits`); its expiry names who holds them.
    """
    if not tables:
        return
    targets = sql.SQL(", ").join(
        t.ident if t in partitioned else sql.SQL("ONLY {}").format(t.ident) for t in tables
    )
    try:
        with conn.transaction():
            if lock_timeout is not None:
                conn.execute(
                    sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout))
                )
            conn.execute(sql.SQL("TRUNCATE TABLE {} RESTRICT").format(targets))
    except psycopg.errors.LockNotAvailable:
        row = conn.execute("SHOW lock_timeout").fetchone()
        waited = lock_timeout or (str(row[0]) if row else "lock_timeout")
        raise waits.timed_out(conn, tables, waited, "empty its tables") from None
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PrivilegeError(
            first_line(exc) + " (TRUNCATE is needed to empty QA's tables)",
            hint="GRANT TRUNCATE ON the tables TO this role, or run as their owner",
        ) from None


def copy_sql(tp: TablePlan, *, limit: int | None = None) -> tuple[sql.Composed, sql.Composed]:
    """The COPY statements that read *tp* from production and write it into QA;
    *limit*: read only that many rows (masking's sample check)."""
    fmt = sql.SQL("binary" if tp.binary else "text")
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in tp.columns)
    masked = {c for c, _ in tp.masked}  # read as production holds them: the mask decides
    casts = {c.column: c for c in tp.casts if c.column not in masked}
    transforms = {t.column: t for t in tp.transforms}
    read = sql.SQL(", ").join(
        transforms[c].expression
        if c in transforms
        else casts[c].select()
        if c in casts
        else sql.Identifier(c)
        for c in tp.columns
    )
    only = sql.SQL("ONLY ") if tp.only else sql.SQL("")
    where = sql.SQL("") if tp.row_filter is None else sql.SQL(" WHERE ") + tp.row_filter
    if limit is not None:
        where += sql.SQL(" LIMIT {}").format(sql.Literal(limit))
    out = sql.SQL("COPY (SELECT {read} FROM {only}{t}{where}) TO STDOUT (FORMAT {fmt})").format(
        read=read, only=only, t=tp.source.ident, where=where, fmt=fmt
    )
    if tp.columns:
        into = sql.SQL("COPY {t} ({cols}) FROM STDIN (FORMAT {fmt})").format(
            t=tp.target.ident, cols=cols, fmt=fmt
        )
    else:  # a zero-column table: rows are empty lines
        into = sql.SQL("COPY {t} FROM STDIN (FORMAT {fmt})").format(t=tp.target.ident, fmt=fmt)
    return out, into


#: Bytes gathered from the source before each write to the target.
WRITE_BLOCK = 256 * 1024


def _stream_out(
    src: psycopg.Connection[Any],
    query: sql.Composed,
    write: Callable[[Buffer], None],
    advanced: Callable[[int], None],
    rewrite: Callable[[bytes], bytes] | None = None,
) -> tuple[int, int]:
    """Run ``COPY ... TO STDOUT`` on *src* and hand its data to *write* in large blocks.

    Small rows are gathered into blocks of :data:`WRITE_BLOCK`; a row at least
    that big is handed on as the memoryview libpq gave, uncopied, so a huge
    value costs libpq's two copies (its input buffer and the row it hands out)
    and nothing more.

    libpq returns COPY data a row at a time; going through psycopg's generator
    machinery for each row costs more CPU than the servers spend on it.  This
    loop takes the rows libpq already holds with non-blocking calls and waits on
    the socket (without the GIL) only when it holds none: measured on a million
    rows, a quarter of the CPU and half the time.  *rewrite*, when given, is
    applied to each row on the way (masking).  Returns (rows the server
    reported sending, bytes).
    """
    pgconn = src.pgconn
    pgconn.send_query(query.as_bytes(src))
    result = pgconn.get_result()
    if result is None or result.status != psycopg.pq.ExecStatus.COPY_OUT:
        _drain(pgconn)
        _raise(src, result)
    get, sock = pgconn.get_copy_data, pgconn.socket
    block = bytearray()
    total = unreported = 0

    def send(data: Buffer) -> None:
        nonlocal total, unreported
        write(data)
        total += len(data)
        unreported += len(data)
        if unreported >= PROGRESS_EVERY:
            advanced(unreported)
            unreported = 0

    while True:
        n, got = get(1)
        data: Buffer = got
        if rewrite is not None and n > 0:
            data = rewrite(bytes(got))
            n = len(data)
        del got
        if n >= WRITE_BLOCK:
            # A big row goes on as libpq handed it, never through the block: copying
            # it there and then into bytes held a 200 MB value four times over.
            if block:
                send(bytes(block))
                block.clear()
            send(data)
            del data  # frees libpq's copy of the row before the next one arrives
        elif n > 0:
            block += data
            if len(block) >= WRITE_BLOCK:
                send(bytes(block))
                block.clear()
        elif n == 0:
            select.select([sock], [], [])
            pgconn.consume_input()
        else:
            break
    if block:
        send(bytes(block))
    if unreported:
        advanced(unreported)
    final = _drain(pgconn)
    if final is None or final.status != psycopg.pq.ExecStatus.COMMAND_OK:
        _raise(src, final)
    return final.command_tuples or 0, total


def _raise(conn: psycopg.Connection[Any], result: psycopg.pq.abc.PGresult | None) -> NoReturn:
    if result is None:
        message = str(conn.pgconn.get_error_message()).strip()
        raise psycopg.OperationalError(message or "the server sent no result for COPY")
    raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)


def _drain(pgconn: psycopg.pq.abc.PGconn) -> psycopg.pq.abc.PGresult | None:
    """The first result left on *pgconn*, reading all of them (libpq needs that)."""
    first = None
    while (res := pgconn.get_result()) is not None:
        first = first or res
    return first


def copy_table(
    src: psycopg.Connection[Any],
    dst: psycopg.Connection[Any],
    tp: TablePlan,
    progress: Progress,
    indexes: Sequence[journal.Entry] = (),
) -> TableResult:
    """Stream one table; the target side commits only when the whole table is in.

    Then the same worker builds the table's set-aside *indexes* again and
    analyses it, so statistics are ready for validating foreign keys and for
    the application.
    """
    out_sql, in_sql = copy_sql(tp)
    started = time.monotonic()
    progress.started(tp)
    masked = {c for c, _ in tp.masked}
    if any(c.checked_first and c.column not in masked for c in tp.casts):  # trailing blanks
        misfit = find_misfit(src, tp, before_copy=True)
        if misfit is not None:
            raise _misfit_error(tp, misfit, None)
    with dst.transaction(), dst.cursor() as dcur:
        with dcur.copy(in_sql) as into:
            sent, nbytes = _stream_out(
                src, out_sql, into.write, lambda n: progress.advanced(tp, n), tp.rewrite
            )
        rows = max(dcur.rowcount, 0)
    for entry in indexes:
        journal.rebuild_index(dst, entry)
    with dst.transaction():
        dst.execute(sql.SQL("ANALYZE {}").format(tp.target.ident))
    result = TableResult(tp, rows, nbytes, time.monotonic() - started, source_rows=sent)
    progress.finished(result)
    return result


class Misfit(NamedTuple):
    column: str
    key: str  # 'id=42'
    message: str


def find_misfit(
    conn: psycopg.Connection[Any], tp: TablePlan, *, before_copy: bool = False
) -> Misfit | None:
    """The first production row whose value does not fit QA's type, and where it is.

    *before_copy*: only the casts whose misfits the server would not report itself.
    """
    only = sql.SQL("ONLY ") if tp.only else sql.SQL("")
    for cast in tp.casts:
        if before_copy and not cast.checked_first:
            continue
        if any(cast.column == c for c, _ in tp.masked):  # its raw value is never copied
            continue
        misfit = cast.misfit()
        if misfit is None:
            continue
        key = tp.key or (cast.column,)
        query = sql.SQL("SELECT {key}, {col}::text FROM {only}{t} WHERE {misfit} LIMIT 1").format(
            key=sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(k)) for k in key),
            col=sql.Identifier(cast.column),
            only=only,
            t=tp.source.ident,
            misfit=misfit,
        )
        row = conn.execute(query).fetchone()
        if row is None:
            continue
        hidden = {c for c, _ in tp.masked}
        where = ", ".join(
            f"{k}={'<masked>' if k in hidden else v}" for k, v in zip(key, row[:-1], strict=True)
        )
        value = row[-1] if len(row[-1]) <= 80 else row[-1][:77] + "..."
        shown = "a value (masked: not shown)" if cast.column in hidden else repr(value)
        message = (
            f"column {cast.column!r} of the row with {where} holds {shown}, which does not fit "
            f"QA's {cast.target_type} (production's column is {cast.source_type})"
        )
        return Misfit(cast.column, where, message)
    return None


def _misfit_in(snapshot: Snapshot, tp: TablePlan) -> Misfit | None:
    if not any(c.misfit() is not None for c in tp.casts):
        return None
    try:
        with snapshot.worker() as conn:
            return find_misfit(conn, tp)
    except psycopg.Error:
        return None


def _misfit_error(tp: TablePlan, misfit: Misfit, sqlstate: str | None) -> CopyFailed:
    return CopyFailed(
        f"copying {tp.source} into {tp.target} failed: {misfit.message}",
        hint="QA keeps this table empty; widen QA's column (pgferry schema push) or fix "
        "the value in production, then rerun pgferry migrate",
        sqlstate=sqlstate,
        table=str(tp.target),
        column=misfit.column,
        key=misfit.key,
    )


def _failed_side(src: psycopg.Connection[Any], dst: psycopg.Connection[Any]) -> str:
    """Which server a failed COPY's error came from: the one whose session is gone, else
    the one whose transaction the error aborted (QA's is already rolled back: its
    ``with`` block has ended)."""
    if src.broken:
        return "production"
    if dst.broken:
        return "QA"
    aborted = src.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
    return "production" if aborted else "QA"


def _copy_error(
    tp: TablePlan, exc: BaseException, snapshot: Snapshot | None = None, side: str = "QA"
) -> PgferryError:
    """The one-line error for a table's failed COPY; *side* is the server it came from."""
    if isinstance(exc, PgferryError):
        return exc
    if isinstance(exc, psycopg.Error) and connection_lost(exc):  # a restart, a kill, the network
        reason = first_line(exc)
        return ConnectionFailed(
            f"{side}'s server closed the connection during the COPY of {tp.target}: {reason}",
            hint="QA keeps this table empty; once the server is back, rerun pgferry migrate: "
            "it puts back what was set aside and loads the rest",
        )
    if isinstance(exc, psycopg.Error) and (exc.sqlstate or "").startswith("53"):
        limit = from_server(
            exc, doing=f"copying {tp.source} into {tp.target}", server=f"{side}'s server"
        )
        if limit is not None:  # disk full, out of memory, too many connections
            return limit
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return PrivilegeError(
            f"copying {tp.source} into {tp.target}: {first_line(exc)}",
            hint="the production role needs SELECT, the QA role INSERT, on this table",
        )
    if isinstance(exc, psycopg.errors.UniqueViolation) and tp.masked:
        rules = ", ".join(f"{column} ({kind})" for column, kind in tp.masked)
        return CopyFailed(  # the server's detail holds the (masked) value: not repeated
            f"copying {tp.source} into {tp.target} failed: masking gave two rows the same "
            f"value under {exc.diag.constraint_name or 'a unique index'}; masked: {rules}",
            hint="QA keeps this table empty; mask the unique column with hash, digits or uuid "
            "(email lower-cases first, so two values differing only in case meet), then rerun",
            sqlstate=exc.sqlstate,
            table=str(tp.target),
        )
    if isinstance(exc, psycopg.Error):
        diag = exc.diag
        where = f" ({first_line(diag.context)})" if diag.context else ""
        column = diag.column_name
        misfit = None
        if snapshot is not None and (diag.sqlstate or "").startswith("22"):
            misfit = _misfit_in(snapshot, tp)
        if misfit is not None:
            return _misfit_error(tp, misfit, diag.sqlstate)
        return CopyFailed(
            f"copying {tp.source} into {tp.target} failed: "
            f"{(diag.message_primary or str(exc)).strip()}{where}",
            hint="QA keeps this table empty; fix the cause and rerun pgferry migrate",
            sqlstate=diag.sqlstate,
            table=str(tp.target),
            column=column,
        )
    return CopyFailed(f"copying {tp.source} into {tp.target} failed: {exc!r}")


def run_copies(
    snapshot: Snapshot,
    target: Endpoint,
    tables: Sequence[TablePlan],
    *,
    jobs: int,
    replica: bool,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    indexes: Mapping[Name, Sequence[journal.Entry]] | None = None,
) -> list[TableResult]:
    """Copy *tables* with up to *jobs* workers; the first failure stops the rest.

    *indexes* set aside for the load are built again by the worker that loaded
    their table, right after it, so index builds run in parallel too.
    """
    indexes = indexes or {}
    progress = progress or NoProgress()
    todo: queue.Queue[TablePlan] = queue.Queue()
    for tp in sorted(tables, key=lambda t: t.estimated_bytes, reverse=True):
        todo.put(tp)
    results: list[TableResult] = []
    errors: list[PgferryError] = []
    failed = threading.Event()
    active: list[psycopg.Connection[Any]] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            with snapshot.worker() as src, target_session(target, replica=replica) as dst:
                with lock:
                    active.extend((src, dst))
                while not failed.is_set():
                    try:
                        tp = todo.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        result = copy_table(src, dst, tp, progress, indexes.get(tp.target, ()))
                    except BaseException as exc:
                        with lock:
                            if not failed.is_set():
                                side = _failed_side(src, dst)
                                errors.append(_copy_error(tp, exc, snapshot, side))
                        failed.set()
                        return
                    with lock:
                        results.append(result)
        except BaseException as exc:  # connection set-up failed
            with lock:
                errors.append(exc if isinstance(exc, PgferryError) else CopyFailed(repr(exc)))
            failed.set()

    threads = [
        threading.Thread(target=worker, name=f"pgferry-copy-{i}", daemon=True)
        for i in range(max(1, min(jobs, len(tables))))
    ]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.2)
                if should_stop() and not failed.is_set():
                    failed.set()
    except KeyboardInterrupt:
        failed.set()
        with lock:
            for conn in active:
                conn.cancel_safe()
        for t in threads:
            t.join(timeout=10)
        raise
    if errors:
        raise errors[0]
    return results
