"""Built-in perturbations, registered through ``mmbench_register_perturbations`` like any plugin's.

Every factory is ``factory(**options) -> Perturbation``; metadata ``modality`` names the modality kind it
applies to. Factories are lazy: listing them imports no torch. ``docs/robustness.md`` describes each.
"""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl
from mmbench.plugins.registry import lazy

_PKG = "mmbench.robustness"
MULTIBENCH = "Liang et al. 2021, MultiBench: Multiscale Benchmarks for Multimodal Representation Learning, NeurIPS Datasets and Benchmarks"


@hookimpl
def mmbench_register_perturbations(register: Any) -> None:
    register("image-noise", lazy(f"{_PKG}.image:GaussianNoise"), modality="image",
             description="additive Gaussian noise with std = level, clamped to [0, 1]",
             reference="Hendrycks & Dietterich 2019, ICLR (common corruptions); " + MULTIBENCH)
    register("image-occlusion", lazy(f"{_PKG}.image:Occlusion"), modality="image",
             description="one random square patch per image covering `level` of the area, set to 0",
             reference="Zeiler & Fergus 2014, ECCV; DeVries & Taylor 2017 (Cutout)")
    register("text-word-dropout", lazy(f"{_PKG}.text:WordDropout"), modality="text",
             description="each word dropped with probability = level",
             reference="Iyyer et al. 2015, ACL (word dropout); " + MULTIBENCH)
    register("text-typos", lazy(f"{_PKG}.text:Typos"), modality="text",
             description="each character swapped with its neighbour or replaced by a random letter with probability = level",
             reference="Belinkov & Bisk 2018, ICLR (synthetic character noise); " + MULTIBENCH)
    register("tabular-noise", lazy(f"{_PKG}.tabular:GaussianNoise"), modality="tabular",
             description="additive Gaussian noise with std = level x the column's std",
             reference=MULTIBENCH)
    register("tabular-entry-dropout", lazy(f"{_PKG}.tabular:EntryDropout"), modality="tabular",
             description="each entry missing (NaN: the encoder imputes the train mean) with probability = level",
             reference=MULTIBENCH)
