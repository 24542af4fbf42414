"""The words every layer shares: modality kinds, task types and the four baseline families.

Bottom of the layers (no ``mmbench`` imports): dataset specs, plugin metadata, grids and leaderboards all
import these names from here. Metric directions and the main metric per task type are in
:mod:`mmbench.scoring`.
"""

from __future__ import annotations

#: what a modality can be (``DatasetSpec`` modalities, encoder and perturbation ``modality`` metadata)
MODALITY_KINDS = ("image", "text", "tabular", "audio")
#: what a task can be (``TaskSpec.type``); :data:`mmbench.scoring.MAIN_METRIC` gives each its main metric
TASK_TYPES = ("classification", "multilabel", "regression")
#: the baseline families a grid expands into, in table order: single-/multitask × single-/cross-modal
FAMILIES = ("st-sm", "st-cm", "mt-sm", "mt-cm")
#: each family in words (lower case; a heading capitalises it)
FAMILY_TITLES = {
    "st-sm": "single-task, single-modal",
    "st-cm": "single-task, cross-modal",
    "mt-sm": "multitask, single-modal",
    "mt-cm": "multitask, cross-modal",
}
