"""``mmbench plugins`` and ``mmbench list``: what is installed and registered."""

from __future__ import annotations

import json
from typing import Any

import click

from mmbench.data.catalogue import LIST_COLUMNS
from mmbench.plugins.registry import KINDS, Entry


def register(cli: click.Group) -> None:
    cli.add_command(plugins_cmd)
    cli.add_command(list_cmd)


@click.command("plugins")
@click.option("--all", "show_all", is_flag=True, help="Include mmbench's built-in plugins.")
def plugins_cmd(show_all: bool) -> None:
    """Print the loaded plugins as JSON: name, version, where it came from, the hooks each implements
    (only real mmbench hooks), the problems found while loading it (they stop `mmbench run`) and its
    warnings (a name another plugin registered first; they do not)."""
    from mmbench.plugins.manager import get_registries, plugin_infos

    get_registries()  # run the registration hooks so that broken plugins are reported
    rows = [
        {"name": p.name, "version": p.version, "source": p.source, "hooks": p.hooks}
        | ({} if p.builtin else {"distribution": p.distribution})
        | ({"problems": p.problems} if p.problems else {})
        | ({"warnings": p.warnings} if p.warnings else {})
        for p in plugin_infos()
        if show_all or not p.builtin
    ]
    click.echo(json.dumps(rows, indent=2))


@click.command("list")
@click.argument("kind", required=False, type=click.Choice(list(KINDS) + [k[:-1] for k in KINDS]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(kind: str | None, as_json: bool) -> None:
    """List registered components per kind (encoders, aligners, fusers, weightings, datasets, ...), each with its
    options: their defaults and, where the plugin declares one, the search space tuning draws from."""
    from mmbench.plugins.manager import get_registries

    registries = get_registries()
    kinds = [kind if kind.endswith("s") else kind + "s"] if kind else list(KINDS)
    data: dict[str, list[dict[str, Any]]] = {k: [_row(e) for e in registries[k]] for k in kinds}
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    from tabulate import tabulate

    for k in kinds:
        click.echo(f"\n{k} ({len(data[k])})")
        need = k == "weightings"
        extra = list(LIST_COLUMNS) if k == "datasets" else []  # licence, size, modalities, tasks, revision
        rows = [[e["name"], e["plugin"]] + ([e.get("need") or ""] if need else []) + [_short(e.get("description", ""))]
                + [_short(_options_text(e), 60)]
                + [_short(", ".join(map(str, v)) if isinstance(v := e.get(c), list) else str(v or ""), 40) for c in extra]
                + [e.get("reference", "")] for e in data[k]]
        headers = ["name", "plugin"] + (["need"] if need else []) + ["description", "options"] + extra + ["reference"]
        click.echo(tabulate(rows, headers=headers, tablefmt="github"))


def _row(entry: Entry) -> dict[str, Any]:
    """What ``mmbench list`` shows of one component: its registration, its ``options`` (each with its default
    or ``required``, and its ``search_space``; ``null`` when the signature cannot be read, and
    ``accepts_any_option`` for a factory taking ``**kwargs``; :func:`mmbench.plugins.options.listed_options`)
    and a weighting's ``need``. Both are read from the class without importing a ``lazy()`` target's module
    (nothing is built; a broken target shows no need)."""
    from mmbench.plugins.options import listed_options

    row = entry.as_dict()
    listed = listed_options(entry)
    row["options"] = listed[0] if listed is not None else None
    if listed is not None and listed[1]:
        row["accepts_any_option"] = True
    if entry.kind == "weightings":
        from mmbench.plugins.options import ComponentOptionError, declared_need

        try:
            row["need"] = declared_need(entry)
        except ComponentOptionError:
            row["need"] = None
    return row


def _options_text(row: dict[str, Any]) -> str:
    """``dim=32 ∈ [8, 64] int, rank (required)``: a row's options for the table."""
    options = row.get("options")
    if options is None:
        return "?"
    parts = []
    for name, o in options.items():
        text = (f"{name} (required)" if o.get("required") else
                f"{name}={o['default_expression'] if 'default_expression' in o else json.dumps(o.get('default'))}")
        space = o.get("search_space")
        if isinstance(space, dict) and "choices" in space:
            text += " ∈ {" + ", ".join(json.dumps(c) for c in space["choices"]) + "}"
        elif isinstance(space, dict):
            text += f" ∈ [{space.get('low')}, {space.get('high')}]" + (" log" if space.get("log") else "") + (
                " int" if space.get("int") else "")
        if isinstance(space, dict) and space.get("per_task"):
            text += " per task"
        parts.append(text)
    return ", ".join(parts + (["**any"] if row.get("accepts_any_option") else [])) or "—"


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
