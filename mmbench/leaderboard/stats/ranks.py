"""Mean ranks of configurations by their main metric (1 = best, ties averaged), the signed scores they rank."""

from __future__ import annotations

import math

import pandas as pd

from mmbench import scoring
from mmbench.leaderboard.load import Configuration


def signed_main_scores(configs: list[Configuration], split: str = "test") -> pd.DataFrame:
    """Configurations × tasks: the mean main metric, negated where lower is better (higher = better)."""
    rows: dict[str, dict[str, float]] = {}
    for cfg in configs:
        mean = cfg.mean(split)
        rows[cfg.key] = {t: float(mean.get((t, m), math.nan)) * scoring.direction(m)
                         for t, m in cfg.main_metrics().items()}
    return pd.DataFrame.from_dict(rows, orient="index", dtype=float)


def mean_ranks(configs: list[Configuration], split: str = "test") -> pd.Series:
    """Per task, rank the configurations by main metric (1 = best, ties averaged); mean over their tasks."""
    table = signed_main_scores(configs, split)
    if table.empty:
        return pd.Series(math.nan, index=[c.key for c in configs], dtype=float)
    return table.rank(axis=0, ascending=False, method="average").mean(axis=1).reindex([c.key for c in configs])
