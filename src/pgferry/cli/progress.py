"""Live progress of a load: a bar per table on a terminal, a line per table otherwise."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ..load import NoProgress, TableResult
from ..load import Progress as ProgressProtocol
from ..plan import TablePlan


class BarProgress:
    """rich bars: bytes against the planner's estimate, rate and ETA."""

    def __init__(self, bars: Progress) -> None:
        self.bars = bars
        self.tasks: dict[TablePlan, TaskID] = {}
        self.lock = threading.Lock()
        self.live = False

    def started(self, table: TablePlan) -> None:
        with self.lock:
            if not self.live:  # only once loading starts: the confirmation prompt comes first
                self.bars.start()
                self.live = True
            self.tasks[table] = self.bars.add_task(
                escape(str(table.target)), total=max(table.estimated_bytes, 1)
            )

    def advanced(self, table: TablePlan, nbytes: int) -> None:
        self.bars.advance(self.tasks[table], nbytes)

    def finished(self, result: TableResult) -> None:
        task = self.tasks[result.table]
        self.bars.update(
            task,
            total=max(result.bytes, 1),
            completed=max(result.bytes, 1),
            description=f"{escape(str(result.table.target))} ({result.rows} rows)",
        )


class LineProgress:
    """One line per finished table, for logs and CI."""

    def started(self, table: TablePlan) -> None:
        pass

    def advanced(self, table: TablePlan, nbytes: int) -> None:
        pass

    def finished(self, result: TableResult) -> None:
        click.echo(
            f"copied {result.table.target}: {result.rows} rows, "
            f"{result.bytes / 1e6:.1f} MB in {result.seconds:.1f} s",
            err=True,
        )


@contextmanager
def progress_for(*, as_json: bool) -> Iterator[ProgressProtocol]:
    if as_json:
        yield NoProgress()
    elif sys.stderr.isatty():
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        bars = BarProgress(Progress(*columns, transient=False))
        try:
            yield bars
        finally:
            if bars.live:
                bars.bars.stop()
    else:
        yield LineProgress()
