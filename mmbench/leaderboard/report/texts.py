"""The fixed sentences every leaderboard prints (formula, model selection, how each statistic is made)."""

from __future__ import annotations

from mmbench.leaderboard.chance import ALPHA as CHANCE_ALPHA
from mmbench.leaderboard.chance import MARGIN
from mmbench.leaderboard.stats.intervals import MIN_N
from mmbench.leaderboard.stats.paired import ALPHA

FORMULA = ("Δm% = 100 · (1/T) Σ_t (1/M_t) Σ_m (−1)^l(t,m) · (N(t,m) − B(t,m)) / B(t,m), over the T tasks and the "
           "M_t metrics per task of the page's metric set (by default each task's main metric: M_t = 1; see the "
           "header); l(t,m) = 1 when lower is better; positive = better than B")
MODEL_SELECTION = ("Model selection: after every epoch the model is scored on the validation split by the unweighted "
                   "mean of the per-task losses; the best epoch's weights are kept (ties: the earlier epoch) and "
                   "training stops after `patience` epochs without improvement. Test metrics come from those weights.")
BASELINES = {
    "st-sm": "Single-task rows are the baselines B of Δm% for the single-modal multitask table.",
    "st-cm": "Single-task rows are the baselines B of Δm% for the cross-modal multitask table.",
    "mt-sm": "B, per task: the single-task, single-modal configuration with the same modality and encoder.",
    "mt-cm": ("B, per task: the single-task, cross-modal configuration with the same modalities, encoders, aligner "
              "and fuser; † marks a fallback to the best (on validation) single-task cross-modal configuration with "
              "the same modalities and encoders, when none has the same aligner and fuser."),
}
CROSS_MODAL = ("Cross-modal gain: the same formula with B = the best single-modal configuration with the same tasks "
               "that uses one of this row's modalities with the same encoder (best = lowest mean rank of the "
               "validation main metric).")
RELATIVE_INTERVALS = ("Δm% and cross-modal gain include the reference's variance: per seed against the reference's "
                      "same seed, then the 95% t interval of those values; (Welch) marks a row with seeds its "
                      "reference lacks: the means' difference with a delta-method interval propagating both sides' "
                      "variances (Welch–Satterthwaite degrees of freedom).")
TESTS = ("Tests (Δm% test, gain test, vs EW): paired by seed, the two-sided paired t-test of the per-seed score; "
         "each cell gives the comparison's verdict inside its declared family (better, worse, equivalent within "
         "±margin by TOST, or inconclusive), the raw p, the p adjusted inside the family (see the header) and the "
         "minimum detectable effect (MDE, 80% power). vs EW: mean paired difference of per-seed Δm% (row − EW row "
         "with the same architecture) ± its 95% t interval. An equivalent cell shows its TOST p instead; every TOST "
         f"and sign-flip p is in the Paired tests section and the CSV/JSON; α = {ALPHA}.")
INTERVALS = (f"Test split. Each value is the mean over seeds ± the half-width of its 95% Student-t interval (n−1 degrees "
             f"of freedom). With fewer than {MIN_N} seeds no interval is given (\"n=2\"); an interval that would leave "
             "the metric's range (accuracy, F1 in [0, 1]; MAE, RMSE ≥ 0) is clipped and shown as [low, high]. "
             "↑/↓: higher/lower is better; **bold**: largest (smallest) test value in its column — a display, not a "
             "tested claim; ≈: tied with the bold row — their paired per-seed difference is not established "
             "(paired t-test on the seeds both ran, Benjamini–Hochberg over the column's rows; rows sharing fewer "
             "than two seeds with it are not marked).")
CHANCE = (f"(chance x): the test split's majority-class accuracy. ⚠ chance: a single-task baseline whose validation "
          f"accuracy is not significantly above the validation majority-class rate (one-sided exact binomial test at "
          f"{CHANCE_ALPHA}, correct predictions pooled over seeds; rows without stored split sizes: not "
          f"{MARGIN * 100:.0f} accuracy points above it); \"Δm% w/o ⚠\" leaves the tasks whose baseline is flagged "
          "out of Δm%, and comparisons against a flagged reference are kept out of the families, picks and verdicts.")
#: the cost columns of every table, markdown and HTML: (stored key, header, decimals; None: significant digits)
COST_COLUMNS = (("trainable_params", "trainable params", 0), ("train_seconds", "train s", None),
                ("peak_memory_mb", "peak MB", 0))
COSTS = ("Cost (means over seeds): trainable params — the parameters training updates (a frozen encoder's weights "
         "are not counted; `params` in the CSV/JSON counts them); train s — the training loop's seconds; peak MB — "
         "the memory the header names (on CPU the process's resident set: data and features included).")
CONVERGENCE_MARK = "⚠"
STALE_MARK = "‡"
STALE = ("‡: the configuration holds cells the store kept although they were produced by other component versions "
         "(store meta `stale_kept`; see docs/grids.md, \"Stale results\").")
MEMORY_KINDS = {"cuda_max_allocated": "CUDA max allocated per cell",
                "cell_peak_rss": "peak resident memory of the process during the cell (CPU; reset per cell)",
                "process_peak_rss": "peak RSS of the process that ran the cell (CPU; cumulative over earlier cells "
                                    "in that process, so an upper bound)"}
