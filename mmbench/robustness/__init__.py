"""Robustness evaluation: every trained model re-scored on the test split with a modality missing and
under per-modality perturbations at increasing levels (after MultiBench, Liang et al. 2021, NeurIPS
Datasets and Benchmarks). See ``docs/robustness.md``.

Import-light: nothing here imports torch. The pieces:

- :mod:`mmbench.robustness.perturbations` — the :class:`Perturbation` contract and its check;
- :mod:`mmbench.robustness.image`, :mod:`~mmbench.robustness.text`, :mod:`~mmbench.robustness.tabular` — the
  built-in perturbations, registered by :mod:`mmbench.robustness.builtin`;
- :mod:`mmbench.robustness.settings` — the grid's ``robustness:`` settings;
- :mod:`mmbench.robustness.evaluate` — ``evaluate_robustness`` (what a cell runs);
- :mod:`mmbench.robustness.scores` — relative robustness, missing-modality drop, effective robustness.
"""

from __future__ import annotations
