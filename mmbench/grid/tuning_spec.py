"""The ``tuning:`` block of a grid config, and the search space of one configuration.

```yaml
tuning:
  trials: 8              # per configuration — the same for every configuration, baselines included
  sampler: tpe           # tpe (default) | random            (Optuna samplers, seeded)
  pruner: median         # median (default) | successive-halving | none
  seed: 0                # the sampler's seed
  components: true       # also search each component's declared search_space (registration metadata)
  space:                 # training hyperparameters, and overrides of component spaces ("<slot>.<option>")
    lr: {low: 3.0e-4, high: 3.0e-2, log: true}
    weight_decay: {low: 1.0e-6, high: 1.0e-2, log: true}
    weighting.c: {low: 0.1, high: 0.9}     # narrows CAGrad's declared range
    fuser.rank: null                         # null: do not tune this option
    weighting.weights: {low: 0.5, high: 2.0, log: true, per_task: true}   # one parameter per task
```
The space of a configuration is the training space plus, for each of its components (aligner, fuser,
architecture, weighting, encoders), the ``search_space`` its plugin declared, with the overrides applied.
An entry with ``per_task: true`` (``ls``'s ``weights``) becomes one Optuna parameter per task of the
configuration, ``<slot>.<option>[i]`` in task order, and reaches the factory as a list
(:func:`mmbench.train.cell.fold_per_task`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from mmbench.plugins.metadata import check_search_space
from mmbench.train.cell import per_task_key

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "successive-halving", "none")
#: searched when the grid's ``tuning.space`` does not say otherwise (Kurin et al. 2022 tune both per method)
DEFAULT_SPACE: dict[str, dict[str, Any]] = {
    "lr": {"low": 3e-4, "high": 3e-2, "log": True},
    "weight_decay": {"low": 1e-6, "high": 1e-2, "log": True},
}
TUNABLE_TRAINING = ("lr", "weight_decay", "align_weight", "trunk_dim", "batch_size", "grad_clip", "patience")
#: trial ``k`` trains with seed ``TRIAL_SEED_OFFSET + k``: never one of the grid's seeds (0, 1, 2, ...)
TRIAL_SEED_OFFSET = 10_000
#: every study's first trial runs the untuned settings (:func:`mmbench.grid.tuning.untuned_point`); part of the
#: tuning record (so of every tuned cell's id) and of each study's name: results of studies begun without it are
#: not reused
FIRST_TRIAL = "untuned"

_KEYS = ("trials", "sampler", "pruner", "seed", "components", "space")


class TuningSpecError(ValueError):
    """A ``tuning:`` block that cannot run; the message names the key and the fix."""


@dataclass(frozen=True)
class TuningSpec:
    """A validated ``tuning:`` block (see the module docstring)."""

    trials: int
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int = 0
    components: bool = True
    #: training hyperparameters searched, and component overrides (``None`` removes an option)
    space: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SPACE))

    def as_dict(self) -> dict[str, Any]:
        return {"trials": self.trials, "sampler": self.sampler, "pruner": self.pruner, "seed": self.seed,
                "components": self.components, "space": self.space, "objective": OBJECTIVE,
                "trial_seed_offset": TRIAL_SEED_OFFSET, "first_trial": FIRST_TRIAL}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)


OBJECTIVE = ("single-task: the validation main metric (accuracy, micro-F1; minus MAE for regression); multitask: "
             "validation delta-m% of the main metrics against the tuned single-task baselines' best validation scores "
             "(without them: the mean over tasks of the signed validation main metric); at the selected epoch")


def parse_tuning(raw: Any) -> TuningSpec:
    """Validate a ``tuning:`` block (``true`` or ``{trials: N, ...}``)."""
    if raw is True:
        raw = {}
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"trials": raw}
    if not isinstance(raw, dict):
        raise TuningSpecError(f"tuning must be a mapping such as {{trials: 8}}, got {raw!r}")
    unknown = [k for k in raw if k not in _KEYS]
    if unknown:
        raise TuningSpecError(f"unknown tuning key {unknown[0]!r}; valid: {', '.join(_KEYS)}")
    trials = raw.get("trials", 8)
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise TuningSpecError(f"tuning.trials must be a positive integer (the same budget for every configuration), got {trials!r}")
    sampler, pruner = raw.get("sampler", "tpe"), raw.get("pruner", "median")
    if sampler not in SAMPLERS:
        raise TuningSpecError(f"tuning.sampler {sampler!r}: choose one of {', '.join(SAMPLERS)}")
    if pruner not in PRUNERS:
        raise TuningSpecError(f"tuning.pruner {pruner!r}: choose one of {', '.join(PRUNERS)}")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TuningSpecError(f"tuning.seed must be an integer, got {seed!r}")
    space_raw = raw.get("space")
    if space_raw is not None and not isinstance(space_raw, dict):
        raise TuningSpecError("tuning.space must map hyperparameter names to ranges")
    space: dict[str, Any] = dict(DEFAULT_SPACE)
    for key, spec in (space_raw or {}).items():
        key = str(key)
        if "." not in key and key not in TUNABLE_TRAINING:
            raise TuningSpecError(f"tuning.space: {key!r} is not a tunable training setting ({', '.join(TUNABLE_TRAINING)}) "
                                  "nor a component option written <slot>.<option> (e.g. weighting.c, fuser.rank)")
        if "." in key and key.split(".")[0] not in ("aligner", "fuser", "architecture", "weighting", "encoders"):
            raise TuningSpecError(f"tuning.space: {key!r}: the slot must be aligner, fuser, architecture, weighting "
                                  "or encoders.<modality>")
        if spec is None:
            space[key] = None
            continue
        bad = check_search_space({key: spec}, "tuning.space")
        if bad:
            raise TuningSpecError(bad)
        space[key] = spec
    components = raw.get("components", True)
    if not isinstance(components, bool):
        raise TuningSpecError(f"tuning.components must be true or false, got {components!r}")
    return TuningSpec(trials, sampler, pruner, seed, components, space)


def configuration_space(spec: TuningSpec, declared: Mapping[str, Mapping[str, Any]],
                        takes: Mapping[str, set[str]], n_tasks: int) -> dict[str, dict[str, Any]]:
    """The space of one configuration. ``declared`` maps ``<slot>.<option>`` to the range its component's
    plugin declared; ``takes`` maps each slot the configuration has to the options its component takes.
    The grid's ``space`` adds, narrows or removes (``None``) entries; an override naming an option this
    configuration's component does not take is skipped (the grid checks that some configuration takes it).
    A ``per_task`` entry becomes ``n_tasks`` entries ``<slot>.<option>[i]`` (the configuration's tasks)."""
    out: dict[str, dict[str, Any]] = {}
    if spec.components:
        out.update({k: dict(v) for k, v in declared.items()})
    for key, value in spec.space.items():
        if "." in key:
            slot, _, option = key.rpartition(".")
            if option not in takes.get(slot, set()):
                continue  # e.g. weighting.c for an EW or a single-task configuration
        if value is None:
            out.pop(key, None)
        else:
            out[key] = dict(value)
    return dict(sorted(_per_task_expanded(out, n_tasks).items()))


def _per_task_expanded(space: dict[str, dict[str, Any]], n_tasks: int) -> dict[str, dict[str, Any]]:
    expanded: dict[str, dict[str, Any]] = {}
    for key, value in space.items():
        if value.get("per_task"):
            plain = {k: v for k, v in value.items() if k != "per_task"}
            expanded.update({per_task_key(key, i): dict(plain) for i in range(n_tasks)})
        else:
            expanded[key] = value
    return expanded
