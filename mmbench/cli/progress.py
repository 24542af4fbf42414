"""Progress for ``mmbench run``: a rich bar over cells with ETA and the cell just finished, or plain log
lines with ``--quiet``."""

from __future__ import annotations

import sys
from typing import Any

from mmbench.grid.execution.jobs import Outcome


class Reporter:
    def __init__(self, quiet: bool = False):
        self.quiet = quiet or not sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None
        self._done = 0
        self._total = 0

    def __enter__(self) -> "Reporter":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, todo: int, skipped: int) -> None:
        self._total = todo
        if skipped:
            self._log(f"skipping {skipped} finished cell(s); {todo} to run")
        if self._progress is not None:
            self._progress.update(self._task, total=todo)
        if self.quiet or not todo:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("[bold]cells"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                  TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"))
        self._progress.start()
        self._task = self._progress.add_task("", total=todo)

    def finished(self, outcome: Outcome) -> None:
        """A cell finished, or a tuning trial (``state`` complete / pruned / failed)."""
        self._done += 1
        self._total = max(self._total, self._done)
        state = getattr(outcome, "state", None)
        if state is not None:
            job = outcome.job  # type: ignore[attr-defined]
            value = f" value {outcome.value:.4g}" if outcome.value is not None else ""  # type: ignore[attr-defined]
            status = f"trial {job.number} {state}{value}" + (f": {outcome.error}" if outcome.error else "")
        else:
            status = "ok" if outcome.status == "ok" else f"FAILED: {outcome.error}"
        if self._progress is not None:
            self._progress.update(self._task, advance=1, total=self._total, description=f"{outcome.cell.label[:70]} {status[:60]}")
        else:
            self._log(f"[{self._done}/{self._total}] {outcome.cell.label}: {status}")

    @staticmethod
    def _log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)
