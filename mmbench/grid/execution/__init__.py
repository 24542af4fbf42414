"""The grid's execution path: the jobs a grid runs and where they run.

- :mod:`.jobs` — the units of work (a cell, a tuning :class:`~.jobs.TrialJob`), their outcomes, the job
  sources executors pull from, and the order parallel executors start cells in;
- :mod:`.context` — what a job runs with in its process (:class:`~.context.WorkerSettings`, the dataset
  decoded once, the feature cache, which :func:`~.context.warm_features` fills in the driver first);
- :mod:`.worker` — :func:`~.worker.execute` runs one job, a cell or a trial (:mod:`.trial`), and turns its
  failure into an outcome;
- :mod:`.executors` — :func:`~.executors.start` picks where jobs run: this process, ``--jobs N`` local
  worker processes (:mod:`.local_pool`) or Ray tasks (:mod:`.ray_executor`).

One name per level: :func:`mmbench.train.cell_runner.train_cell` trains a cell (raises on failure);
:func:`~.worker.execute` runs a job wherever an executor put it (never raises for the job's failure);
:func:`mmbench.grid.runner.run_grid` runs a grid and stores every outcome.
"""
