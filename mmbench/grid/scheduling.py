"""The order in which parallel executors start cells (shared by the local pool and Ray)."""

from __future__ import annotations

from typing import Sequence

from mmbench.train.cell import Cell


def cost_estimate(cell: Cell) -> int:
    """A rough relative cost: tasks × modalities, more for multitask strategies (one pass per task)."""
    return len(cell.tasks) * len(cell.modalities) + (cell.weighting is not None) * len(cell.tasks)


def longest_first(cells: Sequence[Cell]) -> list[Cell]:
    """Cells in a rough longest-first order, so that parallel workers do not end with one long cell
    running alone."""
    return sorted(cells, key=lambda c: -cost_estimate(c))
