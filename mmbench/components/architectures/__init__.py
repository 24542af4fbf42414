"""Built-in multitask architectures, registered through ``mmbench_register_architectures`` like any plugin's.

Every factory is ``factory(in_dim: int, tasks: Sequence[str], width: int, **options) -> Architecture``,
its options explicit keywords with JSON-serialisable defaults; ``search_space`` in the metadata gives
the ranges a tuner draws the main ones from (``{"low", "high", "int"/"log"}`` or ``{"choices"}``).
See ``docs/components/architectures.md``.
"""

from __future__ import annotations

from mmbench import hookimpl
from mmbench.hookspecs import Register
from mmbench.plugins.registry import lazy

_PKG = "mmbench.components.architectures"

_EXPERTS = {"num_experts": {"low": 2, "high": 8, "int": True}}
_PLE = {"shared_experts": {"low": 1, "high": 4, "int": True}, "task_experts": {"low": 1, "high": 4, "int": True}}


@hookimpl
def mmbench_register_architectures(register: Register) -> None:
    register("hps", lazy(f"{_PKG}.hps:HardSharing"),
             description="hard parameter sharing: one shared trunk (Linear+ReLU), one head per task",
             reference="Caruana 1997, Machine Learning",
             search_space={"layers": {"low": 1, "high": 3, "int": True}})
    register("mmoe", lazy(f"{_PKG}.mmoe:MMoE"),
             description="multi-gate mixture-of-experts: shared experts, one softmax gate per task",
             reference="Ma et al. 2018, KDD",
             search_space=dict(_EXPERTS))
    register("cgc", lazy(f"{_PKG}.ple:CGC"),
             description="customized gate control: shared and task-specific experts, one gate per task",
             reference="Tang et al. 2020, RecSys",
             search_space=dict(_PLE))
    register("ple", lazy(f"{_PKG}.ple:PLE"),
             description="progressive layered extraction: stacked CGC layers with shared gates between them",
             reference="Tang et al. 2020, RecSys",
             search_space={"levels": {"low": 1, "high": 3, "int": True}, **_PLE})
    register("dselect-k", lazy(f"{_PKG}.dselect_k:DSelectK"),
             description="mixture-of-experts with k differentiable binary-encoded selectors per task",
             reference="Hazimeh et al. 2021, NeurIPS",
             search_space={"num_experts": {"choices": [2, 4, 8]}, "k": {"low": 1, "high": 4, "int": True},
                           "gamma": {"low": 0.1, "high": 10.0, "log": True}})
    register("cross-stitch", lazy(f"{_PKG}.cross_stitch:CrossStitch"),
             description="one column per task, learned cross-stitch units mixing the columns after each layer",
             reference="Misra et al. 2016, CVPR",
             search_space={"layers": {"low": 1, "high": 3, "int": True},
                           "self_weight": {"low": 0.5, "high": 0.95}})
    register("mtan", lazy(f"{_PKG}.mtan:MTAN"),
             description="shared trunk with a per-task sigmoid attention mask on its output (MTAN, adapted to vectors)",
             reference="Liu, Johns & Davison 2019, CVPR",
             search_space={"layers": {"low": 1, "high": 3, "int": True}})
