"""Built-in aligners, registered through ``mmbench_register_aligners`` like any plugin's.

Every factory is ``factory(in_dims: dict[str, int], <options as explicit keyword parameters>) -> Aligner``;
``search_space`` in the metadata is what tuning may vary. See ``docs/components/aligners.md``.
"""

from __future__ import annotations

from mmbench import hookimpl
from mmbench.hookspecs import Register
from mmbench.plugins.registry import lazy

_PKG = "mmbench.components.aligners"


@hookimpl
def mmbench_register_aligners(register: Register) -> None:
    register("none", lazy(f"{_PKG}.projection:NoAligner"),
             description="pass each modality's features through unchanged (no alignment)")
    register("projection", lazy(f"{_PKG}.projection:ProjectionAligner"),
             description="per-modality linear projection to a shared space, no loss (common baseline)")
    register("infonce", lazy(f"{_PKG}.contrastive:InfoNCEAligner"),
             description="CLIP symmetric InfoNCE on normalised projections, learnable temperature",
             reference="Radford et al. 2021, ICML",
             search_space={"temperature": {"low": 0.01, "high": 1.0, "log": True}})
    register("dcca", lazy(f"{_PKG}.dcca:DCCAAligner"),
             description="deep CCA: maximise the sum of canonical correlations of the projections (dim 8)",
             reference="Andrew et al. 2013, ICML")
    register("vsepp", lazy(f"{_PKG}.contrastive:VSEPPAligner"),
             description="VSE++ hinge loss with hardest negatives (margin 0.2) on normalised projections",
             reference="Faghri et al. 2018, BMVC",
             search_space={"margin": {"low": 0.05, "high": 0.5}})
    register("cross-attention", lazy(f"{_PKG}.cross_attention:CrossAttentionAligner"),
             description="MulT-style cross-modal attention between modality tokens, residual; no loss",
             reference="Tsai et al. 2019, ACL")
