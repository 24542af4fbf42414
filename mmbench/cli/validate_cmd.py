"""``mmbench validate FILE``: check an export or a leaderboard against the versioned results schema."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    cli.add_command(validate_cmd)


@click.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def validate_cmd(file: str) -> None:
    """Check FILE against its JSON Schema (docs/schema.md): a `.json` file names its schema (`export`,
    `leaderboard`), a `.jsonl` export holds one cell result per line. Exits 1 and names the first violation
    when the file does not conform."""
    from mmbench.store.schema import validate_file

    name, problem = validate_file(file)
    if problem is not None:
        click.echo(f"{file}: does not conform to the {name} schema: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"{file}: conforms to the {name} schema")
