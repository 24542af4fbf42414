"""``mmbench example-hello``: a plugin-provided subcommand (click)."""

from __future__ import annotations

import click


@click.command("example-hello")
@click.option("--name", default="world", show_default=True, help="Whom to greet.")
def example_hello(name: str) -> None:
    """Greet NAME and list what the mmbench-example plugin registers."""
    from mmbench.plugins import get_registries

    mine = [f"{kind[:-1]} {entry.name!r}" for kind, registry in get_registries().items()
            for entry in registry if entry.plugin == "example"]
    click.echo(f"Hello, {name}! mmbench-example registers: {', '.join(mine) or 'nothing (is it loaded?)'}.")
