"""``mmbench plugins`` and ``mmbench list``: what is installed and registered."""

from __future__ import annotations

import json
from typing import Any

import click

from mmbench.plugins.registry import KINDS


def register(cli: click.Group) -> None:
    cli.add_command(plugins_cmd)
    cli.add_command(list_cmd)


@click.command("plugins")
@click.option("--all", "show_all", is_flag=True, help="Include mmbench's built-in plugins.")
def plugins_cmd(show_all: bool) -> None:
    """Print the loaded plugins as JSON: name, version, where it came from, the hooks each implements
    (only real mmbench hooks) and any problem found while loading it."""
    from mmbench.plugins.manager import get_registries, plugin_infos

    get_registries()  # run the registration hooks so that broken plugins are reported
    rows = [
        {"name": p.name, "version": p.version, "source": p.source, "hooks": p.hooks}
        | ({} if p.builtin else {"distribution": p.distribution})
        | ({"problems": p.problems} if p.problems else {})
        for p in plugin_infos()
        if show_all or not p.builtin
    ]
    click.echo(json.dumps(rows, indent=2))


@click.command("list")
@click.argument("kind", required=False, type=click.Choice(list(KINDS) + [k[:-1] for k in KINDS]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(kind: str | None, as_json: bool) -> None:
    """List registered components per kind (encoders, aligners, fusers, weightings, datasets, ...)."""
    from mmbench.plugins.manager import get_registries

    registries = get_registries()
    kinds = [kind if kind.endswith("s") else kind + "s"] if kind else list(KINDS)
    data: dict[str, list[dict[str, Any]]] = {k: [e.as_dict() for e in registries[k]] for k in kinds}
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    from tabulate import tabulate

    for k in kinds:
        click.echo(f"\n{k} ({len(data[k])})")
        rows = [[e["name"], e["plugin"], _short(e.get("description", "")), e.get("reference", "")] for e in data[k]]
        click.echo(tabulate(rows, headers=["name", "plugin", "description", "reference"], tablefmt="github"))


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
