"""A tuning trial, where it runs (this process, a worker, a Ray task): train on the train split, score the
validation split after every epoch, ask the pruner whether to stop; the test split is never read.

The pruner decides on a snapshot of the study's finished trials (an in-memory Optuna study holding
them), so that only the driver ever writes the study's storage: the same rule as for the results store.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from mmbench.grid.execution.context import WorkerSettings, feature_cache, settings_dataset
from mmbench.grid.execution.jobs import TrialJob, TrialOutcome
from mmbench.grid.objective import objective


class TrialPruned(Exception):
    """Raised from the epoch callback when the pruner stops a trial."""


def make_pruner(spec: dict[str, Any]) -> Any:
    """The Optuna pruner of a tuning spec (``median``, ``successive-halving`` or ``none``)."""
    import optuna

    kind = spec.get("kind", "median")
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=int(spec.get("startup", 2)), n_warmup_steps=int(spec.get("warmup", 2)))
    if kind == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=int(spec.get("min_resource", 2)), reduction_factor=3)
    return optuna.pruners.NopPruner()


def carried_forward(trial: Any, last_step: int) -> Any:
    """A completed trial whose intermediate values continue, after the epoch it stopped at, with its best one
    up to ``last_step`` (the epoch cap).

    Optuna's median pruner compares a running trial with the completed trials' values *at the same step*,
    and prunes nothing at a step no completed trial reached: a slow trial (a low learning rate) that
    outlives every other would then run to the cap unpruned, however poor. A completed trial stopped
    because its validation loss stopped improving (early stopping), so its best value is what it would
    have reported had it run on; carried forward, it keeps judging the longer trials.
    """
    import optuna

    values = dict(trial.intermediate_values)
    if trial.state != optuna.trial.TrialState.COMPLETE or not values or max(values) >= last_step:
        return trial
    best = max(values.values())
    values |= {step: best for step in range(max(values) + 1, last_step + 1)}
    return optuna.trial.create_trial(state=trial.state, value=trial.value, params=trial.params,
                                     distributions=trial.distributions, user_attrs=trial.user_attrs,
                                     system_attrs=trial.system_attrs, intermediate_values=values)


def _snapshot(job: TrialJob) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=make_pruner(job.pruner),
                                sampler=optuna.samplers.RandomSampler(seed=0))
    cap = int(job.cell.effective_training().get("epochs", 0))
    history = job.history if job.pruner.get("kind") != "median" else [carried_forward(t, cap) for t in job.history]
    study.add_trials(list(history))
    return study.ask()


def trial_outcome(job: TrialJob, settings: WorkerSettings, device_override: str | None = None) -> TrialOutcome:
    """Run the trial ``job`` (:func:`mmbench.grid.execution.worker.execute` calls this once the process is
    prepared); never raises for the trial's own failure (divergence, a component raising)."""
    from mmbench.provenance import resolve_device
    from mmbench.train.cell_runner import train_cell

    started = time.perf_counter()
    main, baselines = dict(job.main), dict(job.baselines) or None
    intermediate: list[tuple[int, float]] = []
    trial = _snapshot(job)

    def on_epoch(epoch: int, entry: dict[str, Any]) -> None:
        value = objective(entry.get("val", {}), main, baselines)
        intermediate.append((epoch, value))
        trial.report(value, epoch)
        if trial.should_prune():
            raise TrialPruned(f"pruned at epoch {epoch}")

    def attrs() -> dict[str, Any]:  # what the pruner noted on the trial (successive halving's rungs)
        return dict(trial.study._storage.get_trial_system_attrs(trial._trial_id))

    cell = job.cell
    try:
        device = resolve_device(device_override or settings.device)
        data = settings_dataset(settings, cell.split_seed)
        trained = train_cell(cell, data, device, feature_cache(settings), final=False, on_epoch=on_epoch)
    except TrialPruned:
        return TrialOutcome(job, "pruned", None, intermediate, attrs(), None, time.perf_counter() - started, len(intermediate))
    except Exception as exc:  # noqa: BLE001 - a failing trial is a result (its hyperparameters diverge, say)
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" (in {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        return TrialOutcome(job, "failed", None, intermediate, attrs(), f"{type(exc).__name__}: {exc}{where}",
                            time.perf_counter() - started, len(intermediate))
    history = trained.result["history"]
    best = history[trained.result["best_epoch"] - 1]
    value = objective(best.get("val", {}), main, baselines)
    return TrialOutcome(job, "complete", value, intermediate, attrs(), None, time.perf_counter() - started,
                        trained.result["epochs_run"], dict(best.get("val", {})))
