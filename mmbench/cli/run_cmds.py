"""``mmbench run --grid`` and ``mmbench export``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click


def register(cli: click.Group) -> None:
    cli.add_command(run_cmd)
    cli.add_command(export_cmd)


def _load_config(grid: str, device: str | None, seeds: int | None) -> Any:
    from mmbench.grid.config import default_config_path, load_config

    config = load_config(default_config_path() if grid == "default" else grid)
    if device:
        config.device = device
    if seeds:
        config.seeds = list(range(seeds))
    return config


def _checked_plan(grid: str, device: str | None, seeds: int | None, robustness: bool, plugins: tuple[str, ...],
                  allow_plugin_problems: bool) -> tuple[Any, Any]:
    """Load the config, plan it and check everything once (data, components, plugins): every error here
    exits non-zero before anything is stored."""
    from mmbench.grid.config import GridConfigError
    from mmbench.grid.preflight import PreflightError
    from mmbench.grid.runner import PluginProblemsError, check, check_plugins, plan
    from mmbench.plugins import ComponentError, add_local_plugins

    try:
        if plugins:
            add_local_plugins([str(Path(p).resolve()) if p.endswith(".py") else p for p in plugins])
        config = _load_config(grid, device, seeds)
        if robustness and config.robustness is None:
            config.robustness = {}
        expansion = plan(config)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:  # plugins were (re)loaded: collect their commands, so a clash is reported here too
            ctx.find_root().command.list_commands(ctx)
        check_plugins(allow_plugin_problems)
        expansion = check(config, expansion)
    except (GridConfigError, ComponentError, PreflightError, PluginProblemsError) as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:  # dataset spec problems (DatasetError is a ValueError)
        raise click.ClickException(str(exc)) from None
    return config, expansion


@click.command("run")
@click.option("--grid", "grid", is_flag=False, flag_value="default", default=None, metavar="[CONFIG.yaml]",
              help="Run every cell of a grid config (no value: the built-in default grid on digits).")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Run directory holding results.sqlite [default: mmbench-runs/<grid name>].")
@click.option("--dry-run", is_flag=True, help="Check everything (data, components, plugins), print the cells; train nothing.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Local worker processes [default: one per CPU core, or one per GPU when the grid trains on CUDA]; "
                   "1 runs the cells one after another in this process.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (with --executor ray).")
@click.option("--rerun-failed", is_flag=True, help="Run cells stored as failed again.")
@click.option("--force", is_flag=True, help="Run every cell again, finished or not.")
@click.option("--keep-stale", is_flag=True, help="Keep finished cells produced by other component versions (the leaderboard marks them) instead of recomputing them.")
@click.option("--plugin", "plugins", multiple=True, metavar="FILE.py|MODULE",
              help="Load a local plugin (a .py file or an importable module) without packaging it; repeatable.")
@click.option("--allow-plugin-problems", is_flag=True, help="Run although plugins reported problems (see `mmbench plugins`).")
@click.option("--device", type=str, default=None, help="Override the grid's device (auto, cpu, cuda).")
@click.option("--seeds", type=click.IntRange(min=1), default=None, help="Override the number of seeds.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Frozen-feature cache directory.")
@click.option("--no-cache", is_flag=True, help="No frozen-feature cache: frozen encoders run inside the model on every batch.")
@click.option("--robustness", is_flag=True, help="Also score every model under missing and perturbed modalities (docs/robustness.md).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar: one log line per finished cell.")
def run_cmd(grid: str | None, out: str | None, dry_run: bool, jobs: int | None, executor: str, address: str | None,
            rerun_failed: bool, force: bool, keep_stale: bool, plugins: tuple[str, ...], allow_plugin_problems: bool,
            device: str | None, seeds: int | None, cache_dir: str | None, no_cache: bool, robustness: bool,
            quiet: bool) -> None:
    """Run a benchmark grid: every valid cell of the four baseline families, resumable."""
    from mmbench.grid.runner import preview, run_grid
    from mmbench.vocabulary import FAMILY_TITLES

    if grid is None:
        raise click.UsageError("say what to run: `mmbench run --grid` (the default grid) or `mmbench run --grid CONFIG.yaml`")
    config, expansion = _checked_plan(grid, device, seeds, robustness, plugins, allow_plugin_problems)
    out_dir = Path(out or Path("mmbench-runs") / config.name)
    counts = expansion.counts()
    if dry_run:
        for cell in expansion.cells:
            click.echo(f"{cell.cell_id}  {cell.label}")
        click.echo("")
        for fam, n in counts.items():
            click.echo(f"{fam:6s} {FAMILY_TITLES[fam]:28s} {n:5d} cells")
        click.echo(f"total  {'':28s} {len(expansion.cells):5d} cells")
        if config.tuning is not None:
            t = config.tuning
            click.echo(f"tuning: {t.trials} trials per configuration ({t.sampler} sampler, {t.pruner} pruner), "
                       "validation split only; the chosen hyperparameters then train with the seeds above")
        for note in expansion.notes:
            click.echo(f"note: {note}")
        chosen = preview(config, expansion, out_dir, rerun_failed=rerun_failed, force=force, keep_stale=keep_stale)
        n = chosen.counts(keep_stale)
        trains = n["to run"] + (0 if keep_stale else n["stale"])
        click.echo(f"in {out_dir}: {n['finished']} finished, {n['stale']} stale, {n['failed']} failed"
                   f"{' (rerun them with --rerun-failed)' if n['failed'] else ''}, {n['to run']} to run; "
                   f"a run would train {trains} cell(s)"
                   + (" (the stale ones are recomputed)" if n["stale"] and not keep_stale else "")
                   + (" (--keep-stale keeps the stale ones)" if n["stale"] and keep_stale else ""))
        if chosen.stale:
            _stale(chosen.stale, keep_stale, err=False)
        click.echo("checked: the dataset loads, every component builds and passes its contract checks on a batch of "
                   "the grid's data, every plugin loaded cleanly")
        return
    from mmbench.cli.progress import Reporter

    reporter = Reporter(quiet=quiet)

    try:
        with reporter:
            summary = run_grid(config, out_dir, jobs=jobs, executor=executor, address=address, rerun_failed=rerun_failed,
                               force=force, keep_stale=keep_stale, cache_dir=cache_dir, cache_enabled=not no_cache,
                               allow_plugin_problems=allow_plugin_problems,
                               on_start=reporter.start, on_outcome=reporter.finished, on_stale=_stale,
                               checked=expansion)
    except KeyboardInterrupt:
        click.echo(f"interrupted; every finished cell is saved in {out_dir}. Rerun the same command to resume.", err=True)
        sys.exit(130)
    except (ValueError, ImportError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{summary.total} cells: {summary.ok} ran ok, {summary.failed} failed, {summary.skipped} already done "
               f"({summary.seconds:.0f} s). Results: {out_dir / 'results.sqlite'}")
    if summary.not_converged:
        click.echo(f"{summary.not_converged} of {summary.total} cells did not converge: their best validation epoch was "
                   "their last, so they were still improving when training stopped (marked ⚠ on the leaderboard). "
                   "Raise training.epochs (early stopping ends converged runs by itself), or tune the learning rate "
                   "(a `tuning:` block).", err=True)
    for label, error in summary.failures[:10]:
        click.echo(f"  failed: {label}\n    {error}", err=True)
    if len(summary.failures) > 10:
        click.echo(f"  … and {len(summary.failures) - 10} more", err=True)
    if summary.failed:
        click.echo(f"{summary.failed} cell(s) failed; see above, fix, then rerun with --rerun-failed.", err=True)
        sys.exit(1)


def _stale(cells: list[Any], kept: bool, err: bool = True, shown: int = 10) -> None:
    """The stale cells and why each is stale: the first ``shown``, then "… and N more"."""
    verb = "kept (--keep-stale; marked on the leaderboard)" if kept else "recomputed"
    click.echo(f"{len(cells)} finished cell(s) are stale and will be {verb}:", err=err)
    for cell, why in cells[:shown]:
        click.echo(f"  {cell.label}\n    {why}", err=err)
    if len(cells) > shown:
        click.echo(f"  … and {len(cells) - shown} more", err=err)


@click.command("export")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "csv", "parquet"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=str, default=None,
              help="File to write, or - for standard output [default: DIR/results.FORMAT].")
def export_cmd(directory: str, fmt: str, output: str | None) -> None:
    """Export a run's results: one row per cell with cell_id, status, seed, config fields, metrics,
    `converged` and the chosen hyperparameters (`hparams.<name>`)."""
    from mmbench.store.export import export, export_bytes

    try:
        if output == "-":
            sys.stdout.buffer.write(export_bytes(directory, fmt))
            sys.stdout.flush()
            return
        path = export(directory, fmt, output)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(path))
