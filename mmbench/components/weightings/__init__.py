"""Built-in weightings, registered through ``mmbench_register_weightings`` like any plugin's.

Factories are lazy (``"module:Class"``), so listing them imports neither torch nor torchjd. Every factory
is ``factory(n_tasks: int, seed: int = 0, <options as explicit keyword parameters>) -> Weighting``;
gradient strategies also take ``wrt="params"|"representation"``. ``search_space`` in the metadata is what
tuning may vary (Optuna-style: ``low``/``high`` with ``log``/``int``, or ``choices``).
See ``docs/components/weightings.md``.
"""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl
from mmbench.plugins.registry import lazy

_PKG = "mmbench.components.weightings"

#: name -> (module:Class, need, reference, description)
BUILTIN_WEIGHTINGS: dict[str, tuple[str, str, str, str]] = {
    "ew": ("scalarization:EqualWeighting", "losses", "Kurin et al. 2022, NeurIPS",
           "Equal weighting (unitary scalarization): the sum of the task losses"),
    "uw": ("scalarization:UncertaintyWeighting", "losses", "Kendall, Gal & Cipolla 2018, CVPR",
           "Uncertainty weighting: learned log-variances, sum ½exp(-s) L + ½s (LibMTL's form)"),
    "dwa": ("dwa:DynamicWeightAverage", "losses", "Liu, Johns & Davison 2019, CVPR",
            "Dynamic Weight Average: softmax of the last two epochs' loss ratios (T=2)"),
    "rlw": ("scalarization:RandomLossWeighting", "losses", "Lin et al. 2022, TMLR",
            "Random loss weighting: softmax of standard normal draws each step"),
    "gls": ("scalarization:GeometricLossStrategy", "losses", "Chennupati et al. 2019, CVPR workshops",
            "Geometric loss strategy: the geometric mean of the task losses (torchjd)"),
    "famo": ("famo:FAMO", "losses", "Liu, Liang, Gao & Liu 2023, NeurIPS",
             "FAMO: log-loss weighting with logits adapted to balance loss decrease, O(1) per step"),
    "gradnorm": ("gradnorm:GradNorm", "param_jacobian", "Chen et al. 2018, ICML",
                 "GradNorm: weights that equalise weighted gradient norms scaled by training rate"),
    "db-mtl": ("dbmtl:DBMTL", "param_jacobian", "Lin et al. 2023, arXiv:2308.12029",
               "DB-MTL: log-loss gradients, moving average, rescaled to the largest norm"),
    "mgda": ("torchjd_wrappers:MGDA", "param_jacobian", "Sener & Koltun 2018, NeurIPS",
             "MGDA: min-norm point of the convex hull of task gradients (exact; torchjd aggregator)"),
    "pcgrad": ("torchjd_wrappers:PCGrad", "param_jacobian", "Yu et al. 2020, NeurIPS",
               "PCGrad: project away conflicting gradient components, then sum (torchjd)"),
    "cagrad": ("torchjd_wrappers:CAGrad", "param_jacobian", "Liu et al. 2021, NeurIPS",
               "CAGrad: conflict-averse direction near the mean gradient, c=0.4 (torchjd formulation, exact solver)"),
    "imtl-g": ("torchjd_wrappers:IMTLG", "param_jacobian", "Liu et al. 2021, ICLR",
               "IMTL-G: equal projection onto every task's unit gradient (torchjd)"),
    "nash-mtl": ("torchjd_wrappers:NashMTL", "param_jacobian", "Navon et al. 2022, ICML",
                 "Nash-MTL: Nash bargaining solution over task gradients (torchjd, stateful)"),
    "aligned-mtl": ("torchjd_wrappers:AlignedMTL", "param_jacobian", "Senushkin et al. 2023, CVPR",
                    "Aligned-MTL: align principal components of the gradient matrix (torchjd)"),
    "upgrad": ("torchjd_wrappers:UPGrad", "param_jacobian", "Quinton & Rey 2024, arXiv:2406.16232",
               "UPGrad: project each gradient onto the dual cone of all, then average (torchjd)"),
    "gradvac": ("torchjd_wrappers:GradVac", "param_jacobian", "Wang et al. 2021, ICLR",
                "Gradient Vaccine: raise pairwise gradient similarity towards an EMA target (torchjd, stateful)"),
    "graddrop": ("torchjd_wrappers:GradDrop", "param_jacobian", "Chen et al. 2020, NeurIPS",
                 "GradDrop: per coordinate, keep one sign drawn from the gradients' sign purity (torchjd)"),
}

#: name -> the options tuning may vary (only options the factory takes; ranges from the papers / LibMTL)
SEARCH_SPACES: dict[str, dict[str, dict[str, Any]]] = {
    "dwa": {"temperature": {"low": 0.5, "high": 10.0, "log": True}},
    "famo": {"lr": {"low": 1e-3, "high": 0.1, "log": True}, "weight_decay": {"low": 1e-5, "high": 0.1, "log": True}},
    "gradnorm": {"alpha": {"low": 0.0, "high": 3.0}},
    "cagrad": {"c": {"low": 0.1, "high": 0.9}},
    "gradvac": {"beta": {"low": 1e-3, "high": 1.0, "log": True}},
}


@hookimpl
def mmbench_register_weightings(register: Any) -> None:
    for name, (target, need, reference, description) in BUILTIN_WEIGHTINGS.items():
        extra = {"search_space": SEARCH_SPACES[name]} if name in SEARCH_SPACES else {}
        register(name, lazy(f"{_PKG}.{target}"), description=description, reference=reference, need=need, **extra)
