"""Leaderboards of a run directory: configurations aggregated over seeds, Δm%, cross-modal gain, intervals that
include the reference's variance, paired t-tests and TOST equivalence tests adjusted inside the families the grid declares (``claims:``), with a
verdict and a minimum detectable effect each, rliable aggregates per component kind,
chance levels, convergence and tuning — rendered as markdown, CSV or JSON, plus plots. See ``docs/leaderboards.md``.

>>> from mmbench.leaderboard.board import build   # doctest: +SKIP
>>> print(build("mmbench-runs/default").to_markdown())   # doctest: +SKIP

Modules, one concept each:

- :mod:`~mmbench.leaderboard.load` — run directory → configurations (cells identical but the seed) and failed cells;
- :mod:`~mmbench.leaderboard.stats` — the statistics: intervals over seeds, Δm%, ranks, the paired tests,
  equivalence and power, their adjustment inside declared families and the verdicts, relative scores with the
  reference's variance, comparisons, pooled verdicts, tied tiers, robustness, rliable aggregates;
- :mod:`~mmbench.leaderboard.references` — what a row is compared against (single-task baseline, single-modal
  reference, EW counterpart), :mod:`~mmbench.leaderboard.chance` — chance levels;
- :mod:`~mmbench.leaderboard.analysis` — :class:`~mmbench.leaderboard.analysis.Analysis`, every statistic of one
  configuration;
- :mod:`~mmbench.leaderboard.report` — markdown, CSV/JSON frames, plots, the fixed texts, published prose, the
  static HTML site;
- :mod:`~mmbench.leaderboard.board` — :class:`~mmbench.leaderboard.board.Leaderboard` and
  :func:`~mmbench.leaderboard.board.build`;
- :mod:`~mmbench.leaderboard.overall` — the table across datasets.

The arithmetic of scores (metric directions, the relative-change kernel) is :mod:`mmbench.scoring`.
"""
