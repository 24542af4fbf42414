"""Aggregates per component kind after Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of the
Statistical Precipice", NeurIPS (``rliable``): interquartile mean, probability of improvement and performance
profiles, each with a stratified-bootstrap 95% interval.

**Scores.** For a component kind K (weighting, fuser, aligner, architecture) and one of its values X, every
configuration using X contributes, per task t and seed s, the *normalised score*

    z = 100 · (−1)^l (N_{s,t} − B_t) / B_t          (main metric; 0 = the reference B, positive = better)

(:func:`mmbench.scoring.normalised_score`)
with B_t the mean over seeds of a reference that is the same for every value of K: for weightings and
architectures the row's single-task baseline (as Δm%: same modalities, encoders, aligner and fuser), for fusers
and aligners the best single-task single-modal configuration on t among the row's modalities (same encoder;
best on validation). A *column* is (context, task), the context being everything about the configuration but
K; only columns where every value of K ran enter, so all values are scored on the same columns. Runs are the
seeds (rows of rliable's ``num_runs × num_tasks`` matrix; here a column may hold any number of runs).

- **IQM**: the 25% trimmed mean of all scores of X (``rliable.metrics.aggregate_iqm``).
- **P(X > Y)**: per column, P(z_X > z_Y) = U / (n_X n_Y) (Mann–Whitney U, ties half), averaged over columns
  (``rliable.metrics.probability_of_improvement``); Y = the kind's reference value (EW, concat, none, hps).
- **Performance profile**: τ ↦ the fraction of X's scores above τ, averaged over columns.
- **Intervals**: percentile intervals from ``scipy.stats.bootstrap`` over the columns as separate samples — the
  runs of each column resampled independently, which is rliable's stratified bootstrap (``StratifiedBootstrap``);
  2,000 resamples, seeded. A column with one run is held fixed (its resample is always itself).
``rliable.library`` (whose bootstrap needs ``arch``) is not imported. :func:`iqm` and
:func:`probability_of_improvement` call ``rliable.metrics``; the batched statistics the bootstrap evaluates
(:func:`iqm_statistic`, :func:`poi_statistic`, :func:`profile_statistic`) are the same definitions, checked
against them in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from rliable.metrics import aggregate_iqm
from rliable.metrics import probability_of_improvement as rliable_poi
from scipy import stats

from mmbench import scoring
from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.load import Configuration
from mmbench.leaderboard.references import best

KINDS = ("weighting", "fuser", "aligner", "architecture")
#: the value each kind's probability of improvement is taken against (matched on the component's name)
REFERENCES = {"weighting": "ew", "fuser": "concat", "aligner": "none", "architecture": "hps"}
N_BOOTSTRAP = 2_000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
PROFILE_POINTS = 51
#: the profile's band is for the plot only: a quarter of the resamples

Samples = list[np.ndarray]


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of a score matrix (``rliable.metrics.aggregate_iqm``)."""
    return float(aggregate_iqm(np.asarray(scores, dtype=float)))


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) of two ``runs × tasks`` matrices (``rliable.metrics.probability_of_improvement``)."""
    return float(rliable_poi(np.asarray(x, dtype=float), np.asarray(y, dtype=float)))


def _pairwise(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(x > y) over every pair of the last axes, ties counted half (U / (n_x n_y)); batched."""
    gt = (x[..., :, None] > y[..., None, :]).mean(axis=(-1, -2))
    eq = (x[..., :, None] == y[..., None, :]).mean(axis=(-1, -2))
    return gt + 0.5 * eq


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float = math.nan
    high: float = math.nan


def stratified_bootstrap(samples: Samples, statistic: Callable[..., Any], n_resamples: int = N_BOOTSTRAP,
                         seed: int = BOOTSTRAP_SEED) -> tuple[Any, Any, Any]:
    """``statistic(*samples)`` and its percentile interval, every sample (a task's runs) resampled on its own
    by ``scipy.stats.bootstrap``; samples of one run are passed through unchanged."""
    point = statistic(*samples)
    free = [i for i, s in enumerate(samples) if len(s) >= 2]
    if not free:
        return point, np.full(np.shape(point), np.nan), np.full(np.shape(point), np.nan)

    def resampled(*drawn: np.ndarray, axis: int = -1) -> Any:
        batch = drawn[0].shape[:-1]
        full = [np.broadcast_to(s, batch + s.shape) for s in samples]
        for i, d in zip(free, drawn):
            full[i] = d
        return statistic(*full)

    res = stats.bootstrap([samples[i] for i in free], resampled, n_resamples=n_resamples, vectorized=True,
                          method="percentile", confidence_level=CONFIDENCE, rng=np.random.default_rng(seed))
    return point, res.confidence_interval.low, res.confidence_interval.high


def iqm_statistic(*columns: np.ndarray) -> np.ndarray:
    """Batched :func:`iqm` of the columns pooled (the bootstrap's statistic)."""
    return stats.trim_mean(np.concatenate(columns, axis=-1), 0.25, axis=-1)


def poi_statistic(k: int) -> Callable[..., np.ndarray]:
    """Batched :func:`probability_of_improvement` of ``k`` columns of X followed by ``k`` columns of Y."""
    def stat(*columns: np.ndarray) -> np.ndarray:
        return np.mean([_pairwise(columns[j], columns[k + j]) for j in range(k)], axis=0)
    return stat


def profile_statistic(taus: np.ndarray) -> Callable[..., np.ndarray]:
    """Batched performance profile at ``taus``: the fraction of scores above each τ, averaged over columns."""
    def stat(*columns: np.ndarray) -> np.ndarray:
        out = np.mean([(c[..., None, :] > taus[:, None]).mean(axis=-1) for c in columns], axis=0)
        return np.moveaxis(out, -1, 0)  # scipy wants the statistic's outputs first, resamples last
    return stat


@dataclass
class ValueAggregate:
    """One component value's aggregates over the kind's common columns."""

    value: str
    configurations: int
    scores: int
    iqm: Estimate
    poi: Estimate | None = None
    #: (τ grid, profile, low, high)
    profile: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


@dataclass
class KindAggregate:
    """A kind's values on one dataset (or across datasets, :mod:`~mmbench.leaderboard.overall`)."""

    kind: str
    dataset: str
    reference: str | None
    columns: list[tuple[str, str]]
    values: list[ValueAggregate] = field(default_factory=list)
    dropped_columns: int = 0


def kind_of(cfg: Configuration, kind: str) -> str | None:
    if kind == "architecture":
        return cfg.architecture if not cfg.single_task else None
    return getattr(cfg, kind)


def _context(cfg: Configuration, kind: str) -> str:
    fields = {"family": cfg.family, "modalities": cfg.modalities, "tasks": cfg.tasks, "encoders": cfg.encoders,
              "aligner": cfg.aligner, "fuser": cfg.fuser, "architecture": cfg.architecture, "weighting": cfg.weighting,
              "setting": cfg.setting}
    fields.pop(kind)
    return repr(sorted(fields.items()))


def _main(cfg: Configuration, task: str) -> str | None:
    return cfg.main_metrics().get(task)


def _reference_mean(a: Analysis, kind: str, task: str, metric: str, pool: list[Configuration],
                    cache: dict[Any, float]) -> float:
    if kind in ("weighting", "architecture"):
        return float(a.baseline.values.get((task, metric), math.nan)) if a.baseline else math.nan
    cfg = a.config
    key = (task, metric, cfg.encoders, cfg.setting)
    if key not in cache:
        encoders = dict(cfg.encoders)
        candidates = [c for c in pool if c.family == "st-sm" and c.tasks == (task,) and c.modalities[0] in encoders
                      and dict(c.encoders)[c.modalities[0]] == encoders[c.modalities[0]] and c.setting == cfg.setting
                      and not c.test.empty]
        cache[key] = float(best(candidates).mean("test").get((task, metric), math.nan)) if candidates else math.nan
    return cache[key]


def normalised_scores(analyses: list[Analysis], kind: str) -> dict[str, dict[tuple[str, str], np.ndarray]]:
    """``value → (context, task) → per-seed normalised scores`` of every configuration with that kind."""
    pool = [a.config for a in analyses]
    cache: dict[Any, float] = {}
    out: dict[str, dict[tuple[str, str], np.ndarray]] = {}
    for a in analyses:
        value = kind_of(a.config, kind)
        if value is None or a.config.test.empty:
            continue
        for task in a.config.tasks:
            metric = _main(a.config, task)
            if metric is None:
                continue
            base = _reference_mean(a, kind, task, metric, pool, cache)
            runs = a.config.test[(task, metric)].dropna().to_numpy(dtype=float)
            if not math.isfinite(base) or base == 0 or not len(runs):
                continue
            out.setdefault(value, {})[(_context(a.config, kind), task)] = scoring.normalised_score(runs, base, metric)
    return out


def _reference_value(values: list[str], kind: str) -> str | None:
    name = REFERENCES.get(kind)
    exact = [v for v in values if v == name]
    named = [v for v in values if v.split("(")[0] == name]
    return (exact or named or [None])[0]


def summarise_kind(scores: dict[str, dict[tuple[str, str], np.ndarray]], kind: str, dataset: str,
                   configurations: dict[str, int] | None = None, n_resamples: int = N_BOOTSTRAP) -> KindAggregate | None:
    """IQM, P(X > reference) and the performance profile of every value, on the columns all values share."""
    if len(scores) < 2:
        return None
    every = set.union(*(set(s) for s in scores.values()))
    columns = sorted(set.intersection(*(set(s) for s in scores.values())))
    ref = _reference_value(sorted(scores), kind)
    out = KindAggregate(kind, dataset, ref, columns, dropped_columns=len(every) - len(columns))
    if not columns:
        return out
    flat = np.concatenate([scores[v][c] for v in scores for c in columns])
    taus = np.linspace(float(flat.min()), float(flat.max()), PROFILE_POINTS)
    for value in sorted(scores):
        cols = [scores[value][c] for c in columns]
        m, lo, hi = stratified_bootstrap(cols, iqm_statistic, n_resamples)
        agg = ValueAggregate(value, (configurations or {}).get(value, 0), int(sum(len(c) for c in cols)),
                             Estimate(float(m), float(lo), float(hi)))
        if ref is not None and value != ref:
            p, plo, phi = stratified_bootstrap(cols + [scores[ref][c] for c in columns], poi_statistic(len(columns)), n_resamples)
            agg.poi = Estimate(float(p), float(plo), float(phi))
        prof, plo, phi = stratified_bootstrap(cols, profile_statistic(taus), max(100, n_resamples // 4))
        agg.profile = (taus, np.asarray(prof), np.asarray(plo), np.asarray(phi))
        out.values.append(agg)
    return out


def aggregates(analyses: list[Analysis], n_resamples: int = N_BOOTSTRAP) -> list[KindAggregate]:
    """Every kind with at least two values, per dataset."""
    out = []
    for dataset in dict.fromkeys(a.config.dataset for a in analyses):
        group = [a for a in analyses if a.config.dataset == dataset]
        for kind in KINDS:
            scores = normalised_scores(group, kind)
            counts: dict[str, int] = {}
            for a in group:
                value = kind_of(a.config, kind)
                if value in scores:
                    counts[value] = counts.get(value, 0) + 1
            agg = summarise_kind(scores, kind, dataset, counts, n_resamples)
            if agg is not None:
                out.append(agg)
    return out
