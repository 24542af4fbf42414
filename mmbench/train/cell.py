"""A cell — one (dataset, modalities, tasks, encoders, aligner, fuser, architecture, weighting, seed,
training) — and its identity.

The cell lives in the train layer because that is what trains one; the grid expands configs into cells
(:mod:`mmbench.grid.cells`). ``cell_id`` hashes :meth:`Cell.config`: canonical component names with
every option resolved (defaults filled in from the factory's signature), so ``example:max`` and ``max``,
or an option given explicitly at its default, are one cell. Which versions produced a cell is not part of
the id; it is :attr:`Cell.provenance`, compared on resume (``docs/grids.md``, "Cell identity and stale
results").
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mmbench.plugins.choice import ComponentChoice

#: hyperparameter names that are training settings; every other name is ``<kind>.<option>``
#: (``weighting.c``, ``fuser.rank``, ``aligner.temperature``, ``architecture.num_experts``).
COMPONENT_SLOTS = ("aligner", "fuser", "architecture", "weighting")

_PER_TASK = re.compile(r"(?P<option>.+)\[(?P<index>\d+)\]")


def per_task_key(option: str, index: int) -> str:
    """The hyperparameter name of task ``index``'s entry of a per-task option (``weights[0]``): a search space
    with ``per_task: true`` gives one Optuna parameter per task, folded back into a list by :func:`fold_per_task`."""
    return f"{option}[{index}]"


def split_per_task(option: str) -> tuple[str, int | None]:
    """``("weights", 0)`` for ``"weights[0]"``; ``(option, None)`` for an ordinary option."""
    found = _PER_TASK.fullmatch(option)
    return (found["option"], int(found["index"])) if found else (option, None)


def fold_per_task(options: dict[str, Any]) -> dict[str, Any]:
    """Tuned options with per-task entries (``weights[0]``, ``weights[1]``, ...) folded into lists (``weights``),
    in task order."""
    out: dict[str, Any] = {}
    entries: dict[str, dict[int, Any]] = {}
    for key, value in options.items():
        option, index = split_per_task(key)
        if index is None:
            out[key] = value
        else:
            entries.setdefault(option, {})[index] = value
    for option, values in entries.items():
        out[option] = [values[i] for i in sorted(values)]
    return out


@dataclass(frozen=True)
class Cell:
    """One benchmark cell; ``cell_id`` is a stable hash of its full config."""

    family: str
    dataset: Any
    modalities: tuple[str, ...]
    tasks: tuple[str, ...]
    encoders: tuple[tuple[str, ComponentChoice], ...]
    aligner: ComponentChoice | None
    fuser: ComponentChoice | None
    weighting: ComponentChoice | None
    seed: int
    training: tuple[tuple[str, Any], ...]
    #: robustness evaluation settings (JSON text), or None; only then part of the config and the hash
    robustness: str | None = None
    #: how tasks share parameters after fusion (``None``: hard parameter sharing, as before the kind existed)
    architecture: ComponentChoice | None = None
    #: the seed of a built-in dataset's train/validation/test split (``split_seeds: true``); None: the dataset's own
    split_seed: int | None = None
    #: the tuning protocol (JSON text) that chose ``hparams``; None for an untuned cell
    tuning: str | None = None
    #: the chosen hyperparameters (``lr``, ``weight_decay``, ``weighting.c`` ...), applied over the settings
    hparams: tuple[tuple[str, Any], ...] = ()
    #: which plugin and version provided each component (JSON text); recorded, not hashed
    provenance: str | None = field(default=None, compare=False)

    def config(self) -> dict[str, Any]:
        """The full, JSON-able config (what the hash covers and the store records)."""
        extra: dict[str, Any] = {}
        if self.robustness is not None:
            extra["robustness"] = json.loads(self.robustness)
        if self.architecture is not None:
            extra["architecture"] = self.architecture.as_dict()
        if self.split_seed is not None:
            extra["split_seed"] = self.split_seed
        if self.tuning is not None:
            extra["tuning"] = json.loads(self.tuning)
            extra["hparams"] = dict(self.hparams)
        return extra | {
            "family": self.family,
            "dataset": self.dataset,
            "modalities": list(self.modalities),
            "tasks": list(self.tasks),
            "encoders": {m: c.as_dict() for m, c in self.encoders},
            "aligner": self.aligner.as_dict() if self.aligner else None,
            "fuser": self.fuser.as_dict() if self.fuser else None,
            "weighting": self.weighting.as_dict() if self.weighting else None,
            "seed": self.seed,
            "training": dict(self.training),
        }

    def identity(self) -> dict[str, Any]:
        """What the cell id hashes: the config without the tuned values (``hparams``), which the tuning
        protocol in it determines; a stored cell whose ``hparams`` differ from what tuning now chooses is
        stale, not another cell (``docs/grids.md``)."""
        return {k: v for k, v in self.config().items() if k != "hparams"}

    @property
    def cell_id(self) -> str:
        canonical = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def configuration_id(self) -> str:
        """The hash of the identity without the seeds: every seed of one configuration shares it."""
        ident = {k: v for k, v in self.identity().items() if k not in ("seed", "split_seed")}
        canonical = json.dumps(ident, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        parts = ["+".join(self.modalities), "+".join(self.tasks),
                 "/".join(c.label for _, c in self.encoders)]
        parts += [c.label for c in (self.aligner, self.fuser) if c is not None]
        if self.architecture is not None and len(self.tasks) > 1:
            parts.append(self.architecture.label)
        if self.weighting is not None:
            parts.append(self.weighting.label)
        tuned = " | tuned" if self.tuning is not None else ""
        return f"[{self.family}] " + " | ".join(parts) + tuned + f" | seed {self.seed}"

    def component_labels(self) -> dict[str, str]:
        """Short labels per slot (only the options the grid gave), for tables; the config has them all."""
        out = {f"encoders.{m}": c.label for m, c in self.encoders}
        out |= {slot: c.label for slot in COMPONENT_SLOTS if (c := getattr(self, slot)) is not None}
        return out

    # --- what actually trains: the settings and components with the chosen hyperparameters applied ---

    def effective_training(self) -> dict[str, Any]:
        """The training settings with tuned training hyperparameters (``lr``, ``weight_decay``...) applied."""
        return dict(self.training) | {k: v for k, v in self.hparams if "." not in k}

    def effective(self, slot: str) -> ComponentChoice | None:
        """The component in ``slot`` (``aligner``, ``fuser``, ``architecture``, ``weighting``) with tuned options."""
        choice: ComponentChoice | None = getattr(self, slot)
        prefix = slot + "."
        tuned = fold_per_task({k[len(prefix):]: v for k, v in self.hparams if k.startswith(prefix)})
        return choice.with_options(**tuned) if choice is not None and tuned else choice

    def effective_encoder(self, modality: str) -> ComponentChoice:
        choice = dict(self.encoders)[modality]
        prefix = f"encoders.{modality}."
        tuned = fold_per_task({k[len(prefix):]: v for k, v in self.hparams if k.startswith(prefix)})
        return choice.with_options(**tuned) if tuned else choice


__all__ = ["COMPONENT_SLOTS", "Cell", "fold_per_task", "per_task_key", "split_per_task"]
