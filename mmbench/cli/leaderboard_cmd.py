"""``mmbench leaderboard DIR``: the results of a run directory as markdown, CSV or JSON, plus plots."""

from __future__ import annotations

from pathlib import Path

import click


def register(cli: click.Group) -> None:
    cli.add_command(leaderboard_cmd)


@click.command("leaderboard")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write here instead of stdout (plots go beside it).")
@click.option("--plots/--no-plots", default=None,
              help="Write PNG plots beside the output (in DIR when writing to stdout) [default: on for md].")
@click.option("--adjust", type=click.Choice(["bh", "holm"]), default="bh", show_default=True,
              help="Multiple-comparison adjustment over every paired test on the page: Benjamini-Hochberg or Holm.")
@click.option("--table", type=click.Choice(["configurations", "comparisons", "aggregates"]), default="configurations",
              show_default=True, help="For --format csv: one row per configuration, per paired test, or per "
                                      "component value (rliable aggregates).")
def leaderboard_cmd(directory: str, fmt: str, output: str | None, plots: bool | None, adjust: str, table: str) -> None:
    """Aggregate a run directory over seeds: mean ± 95% CI, Δm%, cross-modal gain, paired tests (adjusted over
    the page), rliable aggregates, chance levels, convergence, tuning, ranks, cost.

    See docs/leaderboards.md for the formula, each statistic and how to read a table.
    """
    from mmbench.leaderboard import build

    try:
        board = build(directory, adjust=adjust)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    plot_dir = Path(output).resolve().parent if output else Path(directory)
    written = board.write_plots(plot_dir) if (plots if plots is not None else fmt == "md") else []
    text = board.render(fmt, written, link_dir=plot_dir, table=table)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))
    for path in written:
        click.echo(f"wrote {path}", err=True)
