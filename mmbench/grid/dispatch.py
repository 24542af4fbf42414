"""Run one job wherever executors run it: a cell (:func:`~mmbench.grid.worker.run_one`) or a tuning trial
(:func:`~mmbench.grid.trial.run_trial`)."""

from __future__ import annotations

from mmbench.grid.jobs import Job, TrialJob, TrialOutcome
from mmbench.grid.trial import run_trial
from mmbench.grid.worker import Outcome, WorkerSettings, run_one


def run_job(job: Job, settings: WorkerSettings, device_override: str | None = None) -> Outcome | TrialOutcome:
    """Run a cell or a trial; never raises for the job's own failure."""
    if isinstance(job, TrialJob):
        return run_trial(job, settings, device_override)
    return run_one(job, settings, device_override)
