"""Built-in fusers, registered through ``mmbench_register_fusers`` like any plugin's.

Every factory is ``factory(in_dims: dict[str, int], **options) -> Fuser``; ``search_space`` in the metadata is
what tuning may vary. See ``docs/components/fusers.md``.
"""

from __future__ import annotations

from mmbench import hookimpl
from mmbench.hookspecs import Register
from mmbench.plugins.registry import lazy

_PKG = "mmbench.components.fusers"


@hookimpl
def mmbench_register_fusers(register: Register) -> None:
    register("concat", lazy(f"{_PKG}.simple:ConcatFuser"),
             description="early fusion: concatenate the features in sorted modality order")
    register("mean", lazy(f"{_PKG}.simple:MeanFuser"),
             description="mean of per-modality linear projections to a common width")
    register("sum", lazy(f"{_PKG}.simple:SumFuser"),
             description="sum of per-modality linear projections to a common width")
    register("late", lazy(f"{_PKG}.late:LateFuser"),
             description="late fusion: per-modality heads, predictions averaged over present modalities")
    register("late-weighted", lazy(f"{_PKG}.late:LateWeightedFuser"),
             description="late fusion with learned softmax weights over the present modalities")
    register("gated", lazy(f"{_PKG}.gated:GatedFuser"),
             description="gated multimodal unit: softmax gates from the features weight tanh projections",
             reference="Arevalo et al. 2017, ICLR workshop")
    register("tensor", lazy(f"{_PKG}.tensor:TensorFusion"),
             description="tensor fusion: outer product of [1; z_m] of small projections, then linear",
             reference="Zadeh et al. 2017, EMNLP")
    register("lowrank-tensor", lazy(f"{_PKG}.tensor:LowRankTensorFusion"),
             description="low-rank multimodal fusion: rank-r modality-specific factors of the fusion tensor",
             reference="Liu et al. 2018, ACL",
             search_space={"rank": {"low": 1, "high": 16, "int": True}})
    register("transformer", lazy(f"{_PKG}.transformer:TransformerFuser"),
             description="one token per modality + modality embeddings through a small Transformer encoder",
             reference="Vaswani et al. 2017, NeurIPS")
    register("mbt", lazy(f"{_PKG}.mbt:MBTFuser"),
             description="attention bottlenecks: per-modality Transformer streams that exchange information only "
                         "through a few shared bottleneck tokens (features projected to tokens)",
             reference="Nagrani et al. 2021, NeurIPS",
             search_space={"n_bottlenecks": {"low": 1, "high": 8, "int": True},
                           "fusion_layer": {"low": 0, "high": 1, "int": True}})
    register("film", lazy(f"{_PKG}.film:FiLMFuser"),
             description="feature-wise linear modulation: each modality's features scaled and shifted by "
                         "gamma, beta predicted from the others' (or from one conditioning modality)",
             reference="Perez et al. 2018, AAAI",
             search_space={"blocks": {"low": 1, "high": 3, "int": True}})
    register("embracenet", lazy(f"{_PKG}.embracenet:EmbraceNetFuser"),
             description="docking layers to a common width, then each dimension taken from one modality drawn "
                         "with probabilities p (training) or their expectation (eval)",
             reference="Choi & Lee 2019, Information Fusion",
             search_space={"dim": {"low": 16, "high": 256, "log": True, "int": True}})
