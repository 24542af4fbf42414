"""``mmbench leaderboard DIR``: the results of a run directory as markdown, CSV, JSON (the versioned
``leaderboard`` schema) or a static HTML site, plus plots."""

from __future__ import annotations

from pathlib import Path

import click


def register(cli: click.Group) -> None:
    cli.add_command(leaderboard_cmd)


@click.command("leaderboard")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json", "html"]), default="md", show_default=True,
              help="html: a static site (index, one page per dataset, interactive plots) in the -o folder.")
@click.option("--output", "-o", type=click.Path(), default=None,
              help="Write here instead of stdout (plots go beside it); for html, the site's folder.")
@click.option("--plots/--no-plots", default=None,
              help="Write PNG plots beside the output (in DIR when writing to stdout) [default: on for md].")
@click.option("--adjust", type=click.Choice(["bh", "holm"]), default="bh", show_default=True,
              help="Multiple-comparison adjustment inside each declared family of paired tests: Benjamini-Hochberg or Holm.")
@click.option("--table", type=click.Choice(["configurations", "comparisons", "aggregates"]), default="configurations",
              show_default=True, help="For --format csv: one row per configuration, per paired test, or per "
                                      "component value (rliable aggregates).")
@click.option("--show-superseded", is_flag=True,
              help="Also show rows of earlier grid settings or older code (hidden by default; the page counts them).")
def leaderboard_cmd(directory: str, fmt: str, output: str | None, plots: bool | None, adjust: str, table: str,
                    show_superseded: bool) -> None:
    """Aggregate a run directory over seeds: mean ± 95% CI, Δm%, cross-modal gain, paired tests (adjusted inside
    each declared family), rliable aggregates, chance levels, convergence, tuning, ranks, cost.

    See docs/leaderboards.md for the formula, each statistic and how to read a table.
    """
    from mmbench.leaderboard.board import build

    if fmt == "html" and not output:
        raise click.UsageError("--format html writes a site folder: name it with -o DIR")
    try:
        board = build(directory, adjust=adjust, show_superseded=show_superseded)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    hidden = (board.meta.get("superseded") or {}).get("cells") if not show_superseded else 0
    if hidden:
        click.echo(f"{hidden} superseded cell(s) hidden (other grid settings than the latest run's, or older code); "
                   "--show-superseded shows them", err=True)
    if fmt == "html":
        from mmbench.leaderboard.report.html_site import write_site

        command = f"mmbench leaderboard {directory} --format html -o {output}" + (f" --adjust {adjust}" if adjust != "bh" else "")
        pages = write_site([board], output, commands=[command])
        click.echo(f"wrote {len(pages)} page(s) in {output}; open {Path(output) / 'index.html'}", err=True)
        return
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
