"""The tuning objective: one number per epoch from the validation main metrics (higher is better).

- single-task configurations: the validation main metric, signed by :func:`mmbench.scoring.direction`
  (accuracy, micro-F1; minus MAE for regression);
- multitask configurations: validation Δm% of the main metrics against the tuned single-task baselines'
  best validation scores, 100 · mean over tasks of :func:`mmbench.scoring.relative_change` (LibMTL selects by
  validation Δp the same way); without baselines in the grid, the mean over tasks of the signed validation
  main metric.

The value of a trial is the objective at its selected epoch (the best validation-loss epoch, the one
rule of model selection); the pruner sees the objective after every epoch.
"""

from __future__ import annotations

import math
from typing import Mapping

from mmbench import scoring


def objective(scores: Mapping[str, float], main: Mapping[str, str],
              baselines: Mapping[str, float] | None = None) -> float:
    """``scores``: task → validation main metric; ``main``: task → its metric name; ``baselines``: task →
    the tuned single-task baseline's best validation main metric (multitask only)."""
    signs = {t: scoring.direction(main[t]) for t in scores}
    if len(scores) == 1 or not baselines or any(t not in baselines or baselines[t] == 0 for t in scores):
        values = [signs[t] * float(v) for t, v in scores.items()]
        return float(sum(values) / len(values)) if values else math.nan
    rel = [scoring.relative_change(float(v), baselines[t], signs[t]) for t, v in scores.items()]
    return 100.0 * sum(rel) / len(rel)
