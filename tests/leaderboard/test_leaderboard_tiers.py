"""Statistically tied tiers: a row whose paired difference from its column's best is not established is marked ≈."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmbench.leaderboard.board import build
from mmbench.leaderboard.stats.tiers import tied_with_best
from mmbench.store import ResultStore

from leaderboard_helpers import config, put, result  # type: ignore[import-not-found]


def test_tied_with_best_by_hand():
    seeds = range(6)
    best = pd.Series([0.90, 0.91, 0.92, 0.90, 0.91, 0.92], index=seeds)
    noisy = best + pd.Series([0.01, -0.02, 0.01, -0.01, 0.02, -0.01], index=seeds)  # mean difference 0
    worse = best - 0.10 + pd.Series([0.001, -0.001, 0.0, 0.001, -0.001, 0.0], index=seeds)
    lone = pd.Series([0.5], index=[0])  # one common seed: cannot be tested, not marked
    assert tied_with_best([best, noisy, worse, lone, None], 0) == [False, True, False, False, False]


def test_the_table_marks_tied_rows(tmp_path: Path):
    rng = np.random.default_rng(3)
    with ResultStore(tmp_path) as store:
        for s in range(6):
            for task in ("c", "d"):
                put(store, config("st-sm", ["a"], [task], seed=s), result({task: {"accuracy": 0.7}}))
            base = 0.80 + 0.01 * s
            for w, shift in (("ew", 0.0), ("uw", rng.normal(0, 0.01)), ("dwa", -0.2)):
                put(store, config("mt-sm", ["a"], ["c", "d"], weighting=w, seed=s),
                    result({"c": {"accuracy": base + shift + rng.normal(0, 0.005)}, "d": {"accuracy": 0.7}}))
    md = build(tmp_path).to_markdown()
    rows = {line.split("|")[4].strip(): line for line in md.splitlines() if line.startswith("| a ") and "c+d" in line}
    c_cells = {w: line.split("|")[6].strip() for w, line in rows.items()}
    assert sum(cell.startswith("**") for cell in c_cells.values()) == 1
    assert not c_cells["dwa"].endswith("≈")  # 0.2 below: the difference is established
    assert any(cell.endswith("≈") for w, cell in c_cells.items() if w != "dwa")  # ew and uw: within noise
    assert "≈: tied with the bold row" in md
