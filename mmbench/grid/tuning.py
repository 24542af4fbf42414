"""Equal-budget tuning (Xin et al. 2022, NeurIPS; Kurin et al. 2022, NeurIPS): every configuration —
baselines included — gets the same number of Optuna trials on the validation split, then its best
hyperparameters train with the grid's seeds.

The driver (this module) owns one Optuna study per configuration in ``<run dir>/tuning.sqlite`` (Optuna's
RDB storage); trials run wherever cells run (:func:`mmbench.grid.execution.worker.execute`) and come back
as outcomes that only the driver writes. A run killed mid-tuning leaves its running trials ``RUNNING``:
the next run marks them failed-orphaned (not counted), so no finished trial is lost or repeated.

Order: single-task configurations first; a multitask configuration's study opens when the single-task
baselines its objective needs are tuned (:mod:`mmbench.grid.objective`). A configuration's final cells
(its seeds, with ``hparams``) are handed out as soon as its study has its budget.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from mmbench.grid.execution.jobs import Job, TrialJob, TrialOutcome
from mmbench.grid.tuning_spec import FIRST_TRIAL, TRIAL_SEED_OFFSET, TuningSpec, TuningSpecError, configuration_space
from mmbench.scoring import MAIN_METRIC
from mmbench.train.cell import COMPONENT_SLOTS, Cell, split_per_task

STORAGE_NAME = "tuning.sqlite"


def _declared(cell: Cell) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]]]:
    """The search spaces the cell's components declare, and the options each slot's component takes."""
    from mmbench.plugins import get_registry
    from mmbench.plugins.options import options_signature

    declared: dict[str, dict[str, Any]] = {}
    takes: dict[str, set[str]] = {}
    slots = [(slot, kind, getattr(cell, slot)) for slot, kind in zip(COMPONENT_SLOTS, ("aligners", "fusers", "architectures", "weightings"))]
    slots += [(f"encoders.{m}", "encoders", c) for m, c in cell.encoders]
    for slot, kind, choice in slots:
        if choice is None:
            continue
        entry = get_registry(kind).get(choice.name)
        params, _ = options_signature(entry)
        takes[slot] = set(params)
        for option, spec in (entry.metadata.get("search_space") or {}).items():
            if option in params:
                declared[f"{slot}.{option}"] = spec
    return declared, takes


def untuned_point(cell: Cell, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The configuration's untuned settings as a point of its ``space``: the grid's training settings and
    each component's options (defaults filled in). Every study's first trial runs it (Optuna's
    ``enqueue_trial``), so tuning starts from the defaults and keeps them unless a trial beats them on
    validation: an 8-trial search whose pruner judges slow starters early cannot end below the untuned
    model. Numbers are clipped into their range (a weight decay of 0 becomes the range's low end); a
    default outside a categorical entry's choices, or an option without one, is left to the sampler."""
    training, point = dict(cell.training), {}
    for key, spec in space.items():
        if "." not in key:
            value = training.get(key)
        else:
            slot, _, option = key.rpartition(".")
            option, index = split_per_task(option)  # weights[1]: task 1's entry of a per-task option
            choice = dict(cell.encoders).get(slot.split(".", 1)[1]) if slot.startswith("encoders.") else getattr(cell, slot, None)
            value = None if choice is None else dict(choice.options).get(option)
            if index is not None and isinstance(value, (list, tuple)):
                value = value[index] if index < len(value) else None  # one value stands for every task
        if value is None:
            continue
        if "choices" in spec:
            if value in spec["choices"]:
                point[key] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = min(max(value, spec["low"]), spec["high"])
            point[key] = int(round(value)) if spec.get("int") else float(value)
    return point


def distributions(space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Optuna distributions of a search space (``{low, high, log, int}`` or ``{choices}``)."""
    import optuna.distributions as d

    out: dict[str, Any] = {}
    for name, spec in space.items():
        if "choices" in spec:
            out[name] = d.CategoricalDistribution(spec["choices"])
        elif spec.get("int"):
            out[name] = d.IntDistribution(int(spec["low"]), int(spec["high"]), log=bool(spec.get("log")))
        else:
            out[name] = d.FloatDistribution(float(spec["low"]), float(spec["high"]), log=bool(spec.get("log")))
    return out


@dataclass
class Configuration:
    """One configuration's study: its final cells (one per seed), space, and the trials in flight."""

    key: str
    cells: list[Cell]
    space: dict[str, dict[str, Any]]
    study: Any = None
    baselines_of: dict[str, str] = field(default_factory=dict)  # task -> single-task configuration key
    in_flight: dict[int, Any] = field(default_factory=dict)  # trial number -> optuna Trial
    released: bool = False

    @property
    def template(self) -> Cell:
        return self.cells[0]

    @property
    def multitask(self) -> bool:
        return len(self.template.tasks) > 1


class TuningDriver:
    """A :class:`~mmbench.grid.execution.jobs.JobSource` handing out trials, then each configuration's final cells."""

    def __init__(self, cells: Sequence[Cell], spec: TuningSpec, directory: str | Path, task_types: dict[str, str],
                 select_finals: Callable[[list[Cell]], list[Cell]]):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.spec, self.task_types, self.select_finals = spec, task_types, select_finals
        self.storage = optuna.storages.RDBStorage(f"sqlite:///{Path(directory).resolve() / STORAGE_NAME}",
                                                  engine_kwargs={"connect_args": {"timeout": 60}})
        tuned = [dataclasses.replace(c, tuning=spec.to_json()) for c in cells]
        groups: dict[str, list[Cell]] = {}
        for cell in tuned:
            groups.setdefault(cell.configuration_id, []).append(cell)
        self.configs: dict[str, Configuration] = {}
        used: set[str] = set()
        for key, members in groups.items():
            declared, takes = _declared(members[0])
            space = configuration_space(spec, declared, takes, len(members[0].tasks))
            used |= {split_per_task(k)[0] for k in space if "." in k}  # weighting.weights[0]: weighting.weights
            self.configs[key] = Configuration(key, members, space)
        unused = [k for k, v in spec.space.items() if "." in k and v is not None and k not in used]
        if unused:
            raise TuningSpecError(f"tuning.space: no configuration of this grid has the option {unused[0]!r}; check "
                                  "its slot and name (`mmbench list` shows each component's options in its docs)")
        for cfg in self.configs.values():
            cfg.study = optuna.create_study(study_name=self._study_name(cfg), storage=self.storage,
                                            direction="maximize", load_if_exists=True)
            self._orphans(cfg)
        self._link_baselines()
        self.ready: list[Cell] = []
        self.failed_finals: list[tuple[Cell, str]] = []
        self.records: dict[str, dict[str, Any]] = {}
        self._release_complete()

    # --- studies ---

    def _study_name(self, cfg: Configuration) -> str:
        """The configuration, its space, what produced its components and the procedure (``FIRST_TRIAL``):
        a new plugin version, or a study begun before the untuned first trial, tunes anew."""
        ident = json.dumps([cfg.key, cfg.space, cfg.template.provenance, FIRST_TRIAL], sort_keys=True, default=str)
        return "cfg-" + hashlib.sha256(ident.encode()).hexdigest()[:20]

    def _orphans(self, cfg: Configuration) -> None:
        from optuna.trial import TrialState

        for t in cfg.study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
            self.storage.set_trial_user_attr(t._trial_id, "orphaned", True)
            self.storage.set_trial_state_values(t._trial_id, TrialState.FAIL)

    def counted(self, cfg: Configuration) -> list[Any]:
        """The trials that count against the budget: complete, pruned, and failed unless orphaned by a kill."""
        from optuna.trial import TrialState

        return [t for t in cfg.study.get_trials(deepcopy=False)
                if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
                or (t.state == TrialState.FAIL and not t.user_attrs.get("orphaned"))]

    def _tuned(self, cfg: Configuration) -> bool:
        return len(self.counted(cfg)) >= self.spec.trials and not cfg.in_flight

    def _link_baselines(self) -> None:
        singles = {(c.template.modalities, c.template.tasks, c.template.encoders, c.template.aligner, c.template.fuser): k
                   for k, c in self.configs.items() if not c.multitask}
        for cfg in self.configs.values():
            if cfg.multitask:
                t = cfg.template
                found = {task: singles.get((t.modalities, (task,), t.encoders, t.aligner, t.fuser)) for task in t.tasks}
                if all(found.values()):
                    cfg.baselines_of = {task: k for task, k in found.items() if k}

    def _open(self, cfg: Configuration) -> bool:
        return all(self._tuned(self.configs[k]) for k in cfg.baselines_of.values())

    def _baseline_values(self, cfg: Configuration) -> dict[str, float]:
        out = {}
        for task, key in cfg.baselines_of.items():
            best = self._best(self.configs[key])
            if best is None or task not in best.user_attrs.get("val_scores", {}):
                return {}
            out[task] = float(best.user_attrs["val_scores"][task])
        return out

    def _best(self, cfg: Configuration) -> Any:
        from optuna.trial import TrialState

        done = [t for t in cfg.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
        return max(done, key=lambda t: (t.value, -t.number)) if done else None

    # --- the job source ---

    def _sampler(self, cfg: Configuration, number: int) -> Any:
        import optuna

        seed = int(hashlib.sha256(f"{self.spec.seed}:{cfg.key}:{number}".encode()).hexdigest()[:8], 16)
        if self.spec.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        startup = min(10, max(3, self.spec.trials // 2))
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)

    def _pruner(self) -> dict[str, Any]:
        return {"kind": self.spec.pruner, "startup": 2, "warmup": 2, "min_resource": 2}

    def next_job(self) -> Job | None:
        if self.ready:
            return self.ready.pop(0)
        candidates = [c for c in self.configs.values() if not c.released and self._open(c)
                      and len(self.counted(c)) + len(c.in_flight) < self.spec.trials]
        if not candidates:
            return None
        cfg = min(candidates, key=lambda c: (len(self.counted(c)) + len(c.in_flight), not c.multitask, c.key))
        number = len(cfg.study.get_trials(deepcopy=False))
        cfg.study.sampler = self._sampler(cfg, number)
        if not any(t.user_attrs.get(FIRST_TRIAL) for t in self.counted(cfg)) and not any(
                t.user_attrs.get(FIRST_TRIAL) for t in cfg.in_flight.values()):
            cfg.study.enqueue_trial(untuned_point(cfg.template, cfg.space), user_attrs={FIRST_TRIAL: True})
        trial = cfg.study.ask(distributions(cfg.space))
        cfg.in_flight[trial.number] = trial
        from optuna.trial import TrialState

        history = tuple(cfg.study.get_trials(deepcopy=True, states=(TrialState.COMPLETE, TrialState.PRUNED)))
        cell = dataclasses.replace(cfg.template, seed=TRIAL_SEED_OFFSET + trial.number,
                                   hparams=tuple(sorted(trial.params.items())),
                                   split_seed=cfg.template.split_seed)
        main = tuple((t, MAIN_METRIC[self.task_types[t]]) for t in cell.tasks)
        return TrialJob(cfg.study.study_name, trial.number, cell, self._pruner(), history, main,
                        tuple(sorted(self._baseline_values(cfg).items())))

    def done(self) -> bool:
        return not self.ready and all(c.released for c in self.configs.values())

    def record(self, outcome: TrialOutcome) -> None:
        """Write a finished trial into its study (the driver is the only writer)."""
        from optuna.trial import TrialState

        cfg = next(c for c in self.configs.values() if c.study.study_name == outcome.job.study)
        trial = cfg.in_flight.pop(outcome.job.number)
        for step, value in outcome.intermediate:
            trial.report(value, step)
        for key, value in outcome.system_attrs.items():
            self.storage.set_trial_system_attr(trial._trial_id, key, value)
        trial.set_user_attr("seconds", outcome.seconds)
        trial.set_user_attr("epochs_run", outcome.epochs_run)
        if outcome.state == "complete":
            trial.set_user_attr("val_scores", outcome.val_scores)
            cfg.study.tell(trial, outcome.value)
        elif outcome.state == "pruned":
            cfg.study.tell(trial, state=TrialState.PRUNED)
        else:
            trial.set_user_attr("error", outcome.error)
            cfg.study.tell(trial, state=TrialState.FAIL)
        self._release_complete()

    def _release_complete(self) -> None:
        for cfg in self.configs.values():
            if cfg.released or not self._tuned(cfg):
                continue
            cfg.released = True
            best = self._best(cfg)
            counted = self.counted(cfg)
            if best is None:
                why = (f"tuning found no completed trial among {len(counted)} (pruned or failed); widen or fix the search "
                       f"space. Errors: {sorted({t.user_attrs.get('error') for t in counted if t.user_attrs.get('error')})[:2]}")
                self.failed_finals += [(c, why) for c in cfg.cells]
                continue
            hparams = tuple(sorted(best.params.items()))
            finals = [dataclasses.replace(c, hparams=hparams) for c in cfg.cells]
            self.records[cfg.key] = {
                "study": cfg.study.study_name, "trial": best.number, "budget": self.spec.trials, "value": best.value,
                "pruned": sum(t.state.name == "PRUNED" for t in counted),
                "failed": sum(t.state.name == "FAIL" for t in counted),
                "baselines": self._baseline_values(cfg) or None,
                "trial_seconds": sum(float(t.user_attrs.get("seconds", 0.0)) for t in counted),
                "untuned_best": bool(best.user_attrs.get(FIRST_TRIAL)),
                "hparams": dict(hparams),  # the chosen values (also the cells' config["hparams"])
            }
            self.ready += self.select_finals(finals)

    def remaining_trials(self) -> int:
        """Trials still to run, over every configuration (the progress bar's estimate adds the final cells)."""
        left = sum(max(0, self.spec.trials - len(self.counted(c))) for c in self.configs.values() if not c.released)
        return left + sum(len(c.cells) for c in self.configs.values() if not c.released)

    def record_for(self, cell: Cell) -> dict[str, Any] | None:
        """What a final cell's result records about the tuning that chose its hyperparameters."""
        return self.records.get(cell.configuration_id)

    def summary(self) -> dict[str, Any]:
        counted = [t for c in self.configs.values() for t in self.counted(c)]
        return {"configurations": len(self.configs), "trials": len(counted),
                "pruned": sum(t.state.name == "PRUNED" for t in counted),
                "failed": sum(t.state.name == "FAIL" for t in counted),
                "trial_seconds": sum(float(t.user_attrs.get("seconds", 0.0)) for t in counted)}
