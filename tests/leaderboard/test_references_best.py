"""Picks on validation: a tie in mean rank goes to the higher mean validation score, not to the label."""

from __future__ import annotations

from pathlib import Path

from leaderboard_helpers import cls, config, put, result  # type: ignore[import-not-found]

from mmbench.leaderboard.load import load
from mmbench.leaderboard.references import best
from mmbench.store import ResultStore


def test_a_tie_in_mean_rank_goes_to_the_higher_mean_score_whatever_the_labels(tmp_path: Path) -> None:
    # "aa" wins task c by a hair, "zz" wins task d by a lot: both have mean rank 1.5; zz's mean score is higher
    scores = {"aa": (0.901, 0.80), "zz": (0.900, 0.95)}
    with ResultStore(tmp_path) as store:
        for weighting, (c, d) in scores.items():
            put(store, config("mt-sm", ["a"], ["c", "d"], weighting=weighting),
                result({"c": cls(0.5, 0.5), "d": cls(0.5, 0.5)}, validation={"c": cls(c, c), "d": cls(d, d)}))
    with ResultStore(tmp_path, create=False) as store:
        configs, _, _ = load(store)
    assert sorted(c.label for c in configs)[0].endswith("aa")  # the label alone would pick aa
    assert best(configs).label.endswith("zz")
