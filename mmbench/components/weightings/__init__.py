"""Built-in weightings, registered through ``mmbench_register_weightings`` like any plugin's.

Factories are lazy (``"module:Class"``), so listing them imports neither torch nor torchjd. Every factory
is ``factory(n_tasks: int, seed: int = 0, <options as explicit keyword parameters>) -> Weighting``;
gradient strategies also take ``wrt="params"|"representation"``. Each class declares its ``need`` (the
registration does not repeat it). ``search_space`` in the metadata is what tuning may vary (Optuna-style:
``low``/``high`` with ``log``/``int``, or ``choices``; ``per_task``: one parameter per task, passed as a
list). Each description says what kind of method it is. See ``docs/components/weightings.md``.
"""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl
from mmbench.hookspecs import Register
from mmbench.plugins.registry import lazy

_PKG = "mmbench.components.weightings"

#: name -> (module:Class, reference, description); each class declares its ``need``
BUILTIN_WEIGHTINGS: dict[str, tuple[str, str, str]] = {
    "ew": ("scalarization:EqualWeighting", "Kurin et al. 2022, NeurIPS",
           "Loss scalarization, equal weighting (unitary): the sum of the task losses"),
    "ls": ("scalarization:LinearScalarization", "Xin et al. 2022, NeurIPS",
           "Loss scalarization, linear: fixed per-task weights (mean 1) for tuning to search; untuned it is EW"),
    "si-ls": ("scalarization:ScaleInvariantLinearScalarization", "Navon et al. 2022, ICML (SI baseline)",
              "Loss scalarization, scale-invariant linear: weighted sum of log losses, each weighted w_t / L_t"),
    "uw": ("scalarization:UncertaintyWeighting", "Kendall, Gal & Cipolla 2018, CVPR",
           "Loss weighting, uncertainty: learned log-variances, sum ½exp(-s) L + ½s (LibMTL's form)"),
    "dwa": ("dwa:DynamicWeightAverage", "Liu, Johns & Davison 2019, CVPR",
            "Loss weighting, Dynamic Weight Average: softmax of the last two epochs' loss ratios (T=2)"),
    "rlw": ("scalarization:RandomLossWeighting", "Lin et al. 2022, TMLR",
            "Loss weighting, random: softmax of standard normal draws each step"),
    "gls": ("scalarization:GeometricLossStrategy", "Chennupati et al. 2019, CVPR workshops",
            "Loss scalarization, geometric loss strategy: the geometric mean of the task losses (torchjd)"),
    "stch": ("torchjd_scalarizers:SmoothTchebycheff", "Lin et al. 2024, ICML",
             "Loss scalarization, smooth Tchebycheff: a soft maximum of the task losses (torchjd)"),
    "imtl-l": ("torchjd_scalarizers:IMTLL", "Liu et al. 2021, ICLR",
               "Loss scalarization, IMTL-L: learned scales, sum exp(s) L - s (torchjd)"),
    "cosmos": ("torchjd_scalarizers:COSMOS", "Ruchte & Grabocka 2021, ICDM",
               "Loss scalarization, COSMOS: linear, minus a cosine penalty to a fixed preference (torchjd)"),
    "pbi": ("torchjd_scalarizers:PBI", "Zhang & Li 2007, IEEE TEVC (MOEA/D)",
            "Loss scalarization, penalty-based boundary intersection along a preference direction (torchjd)"),
    "famo": ("famo:FAMO", "Liu, Liang, Gao & Liu 2023, NeurIPS",
             "Loss weighting, FAMO: log-loss weighting with logits adapted to balance loss decrease, O(1) per step"),
    "gradnorm": ("gradnorm:GradNorm", "Chen et al. 2018, ICML",
                 "Gradient balancing, GradNorm: weights that equalise weighted gradient norms scaled by training rate"),
    "db-mtl": ("dbmtl:DBMTL", "Lin et al. 2023, arXiv:2308.12029",
               "Loss and gradient balancing, DB-MTL: log-loss gradients, moving average, rescaled to the largest norm"),
    "mgda": ("torchjd_wrappers:MGDA", "Sener & Koltun 2018, NeurIPS",
             "MTL conflict resolution, MGDA: min-norm point of the task gradients' hull (exact; torchjd)"),
    "pcgrad": ("torchjd_wrappers:PCGrad", "Yu et al. 2020, NeurIPS",
               "MTL conflict resolution, PCGrad: project away conflicting gradient components, then sum (torchjd)"),
    "cagrad": ("torchjd_wrappers:CAGrad", "Liu et al. 2021, NeurIPS",
               "MTL conflict resolution, CAGrad: conflict-averse direction near the mean, c=0.4 (torchjd, exact)"),
    "imtl-g": ("torchjd_wrappers:IMTLG", "Liu et al. 2021, ICLR",
               "MTL conflict resolution, IMTL-G: equal projection onto every task's unit gradient (torchjd)"),
    "nash-mtl": ("torchjd_wrappers:NashMTL", "Navon et al. 2022, ICML",
                 "MTL conflict resolution, Nash-MTL: Nash bargaining solution over task gradients (torchjd, stateful)"),
    "aligned-mtl": ("torchjd_wrappers:AlignedMTL", "Senushkin et al. 2023, CVPR",
                    "MTL conflict resolution, Aligned-MTL: align the gradients' principal components (torchjd)"),
    "upgrad": ("torchjd_wrappers:UPGrad", "Quinton & Rey 2024, arXiv:2406.16232",
               "MTL conflict resolution, UPGrad: each gradient projected onto the dual cone, averaged (torchjd)"),
    "gradvac": ("torchjd_wrappers:GradVac", "Wang et al. 2021, ICLR",
                "MTL conflict resolution, GradVac: pairwise similarity raised to EMA targets (torchjd, stateful)"),
    "graddrop": ("torchjd_wrappers:GradDrop", "Chen et al. 2020, NeurIPS",
                 "MTL conflict resolution, GradDrop: per coordinate, one sign drawn by sign purity (torchjd)"),
    "fairgrad": ("torchjd_conflict:FairGrad", "Ban & Ji 2024, ICML",
                 "MTL conflict resolution, FairGrad: alpha-fair allocation of the update among tasks (torchjd)"),
    "dualproj": ("torchjd_conflict:DualProj", "Lopez-Paz & Ranzato 2017, NeurIPS",
                 "MTL conflict resolution, DualProj: the mean gradient projected onto the tasks' dual cone (torchjd)"),
    "cr-mogm": ("torchjd_conflict:CRMOGM", "Zhou et al. 2022, NeurIPS",
                "MTL conflict resolution, CR-MOGM: an EMA of MGDA's (or a base's) weights (torchjd, stateful)"),
    "sdmgrad": ("torchjd_conflict:SDMGrad", "Xiao et al. 2023, NeurIPS",
                "MTL conflict resolution, SDMGrad: direction-oriented weights (torchjd; one-batch Gramian)"),
    "modo": ("torchjd_conflict:MoDo", "Chen et al. 2024, JMLR",
             "MTL conflict resolution, MoDo: a projected step on simplex weights (torchjd; one-batch Gramian)"),
    "pcd": ("torchjd_conflict:PCD", "TMLR 2026, arXiv:2606.29521",
            "MTL conflict resolution by priority, PCD: follow the first task, the others progress (torchjd)"),
    "excess-mtl": ("torchjd_conflict:ExcessMTL", "He et al. 2024, ICML",
                   "MTL conflict resolution, ExcessMTL: weights from estimated excess risks (torchjd, stateful)"),
    "config": ("torchjd_conflict:ConFIG", "Liu, Chu & Thuerey 2025, ICLR",
               "MTL conflict resolution, ConFIG: equal-cosine conflict-free direction (torchjd; not a weighting)"),
    "krum": ("torchjd_robust:Krum", "Blanchard et al. 2017, NeurIPS",
             "Robust aggregation, Krum: the task gradient closest to its neighbours (torchjd; >= 3 tasks)"),
    "trimmed-mean": ("torchjd_robust:TrimmedMean", "Yin et al. 2018, ICML",
                     "Robust aggregation, trimmed mean per coordinate (torchjd; >= 3 tasks; not a weighting)"),
}

#: name -> the options tuning may vary (only options the factory takes; ranges from the papers / LibMTL)
SEARCH_SPACES: dict[str, dict[str, dict[str, Any]]] = {
    "ls": {"weights": {"low": 0.1, "high": 10.0, "log": True, "per_task": True}},
    "si-ls": {"weights": {"low": 0.1, "high": 10.0, "log": True, "per_task": True}},
    "dwa": {"temperature": {"low": 0.5, "high": 10.0, "log": True}},
    "stch": {"mu": {"low": 0.01, "high": 1.0, "log": True}},
    "cosmos": {"lambda_": {"low": 0.01, "high": 10.0, "log": True}},
    "pbi": {"theta": {"low": 0.5, "high": 20.0, "log": True}},
    "famo": {"lr": {"low": 1e-3, "high": 0.1, "log": True}, "weight_decay": {"low": 1e-5, "high": 0.1, "log": True}},
    "gradnorm": {"alpha": {"low": 0.0, "high": 3.0}},
    "cagrad": {"c": {"low": 0.1, "high": 0.9}},
    "gradvac": {"beta": {"low": 1e-3, "high": 1.0, "log": True}},
    "fairgrad": {"alpha": {"low": 0.25, "high": 4.0, "log": True}},
    "cr-mogm": {"alpha": {"low": 0.5, "high": 0.99}},
    "sdmgrad": {"lambda_": {"low": 0.05, "high": 1.0, "log": True}},
    "modo": {"gamma": {"low": 1e-3, "high": 1.0, "log": True}},
    "pcd": {"tau": {"low": 0.0, "high": 0.5}},
    "excess-mtl": {"robust_step_size": {"low": 0.01, "high": 10.0, "log": True}},
}


@hookimpl
def mmbench_register_weightings(register: Register) -> None:
    for name, (target, reference, description) in BUILTIN_WEIGHTINGS.items():
        extra = {"search_space": SEARCH_SPACES[name]} if name in SEARCH_SPACES else {}
        register(name, lazy(f"{_PKG}.{target}"), description=description, reference=reference, **extra)
