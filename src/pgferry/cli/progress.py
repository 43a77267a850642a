"""Live progress of a run: on a terminal, an overall bar naming the step that runs
(with the time left) and a bar per table; otherwise a line per finished table.

Nothing shows before the run is confirmed: the prompt comes first."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich import filesize
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from ..plan import TablePlan
from ..refresh.streams import NoProgress, TableResult
from ..refresh.streams import Progress as ProgressProtocol

#: the steps before the question: nothing is shown while they run
_BEFORE_CONFIRMED = frozenset({"snapshot", "guard", "recover", "plan", "confirm"})


class _Amount(DownloadColumn):
    """Bytes for a table, "steps 3/15" for the overall bar."""

    def render(self, task: Task) -> Text:
        if task.fields.get("overall"):
            done, total = int(task.completed), int(task.total or 0)
            return Text(f"step {min(done + 1, total)}/{total}")
        return super().render(task)


class _Rate(TransferSpeedColumn):
    """The transfer rate while a table loads, its average once it is in (rich shows
    ``?`` for a finished task); nothing for the overall bar."""

    def render(self, task: Task) -> Text:
        if task.fields.get("overall"):
            return Text("")
        if task.finished and task.finished_speed is None and task.finished_time:
            speed = task.completed / task.finished_time
            return Text(f"{filesize.decimal(int(speed))}/s", style="progress.data.speed")
        return super().render(task)


def _columns() -> tuple[ProgressColumn, ...]:
    return (
        TextColumn("{task.description}"),
        BarColumn(),
        _Amount(),
        _Rate(),
        TimeRemainingColumn(),
    )


class BarProgress:
    """rich bars: one for the whole run, naming its step, and one per table (bytes
    against the planner's estimate, rate and ETA)."""

    def __init__(self, bars: Progress) -> None:
        self.bars = bars
        self.tasks: dict[TablePlan, TaskID] = {}
        self.lock = threading.Lock()
        self.live = False
        self.overall: TaskID | None = None

    def _start(self) -> None:
        if not self.live:  # only once confirmed: the confirmation prompt comes first
            self.bars.start()
            self.live = True

    def step(self, name: str, number: int, total: int) -> None:
        if name in _BEFORE_CONFIRMED or not number:
            return
        with self.lock:
            self._start()
            described = f"[bold]{escape(name)}[/]"
            if self.overall is None:
                self.overall = self.bars.add_task(
                    described, total=total, completed=number - 1, overall=True
                )
            else:
                self.bars.update(self.overall, description=described, completed=number - 1)

    def step_done(self, name: str, seconds: float) -> None:
        if self.overall is not None and name not in _BEFORE_CONFIRMED:
            with self.lock:
                self.bars.advance(self.overall, 1)

    def started(self, table: TablePlan) -> None:
        with self.lock:
            self._start()
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
    """One line per finished table, for logs and CI (the steps are in the report's run
    log: stderr stays the tables and, when a run stops, its one error line)."""

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
        bars = BarProgress(Progress(*_columns(), transient=False))
        try:
            yield bars
        finally:
            if bars.live:
                bars.bars.stop()
    else:
        yield LineProgress()
