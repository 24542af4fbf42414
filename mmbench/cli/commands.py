"""Built-in subcommands, registered through the same ``mmbench_register_commands`` hook plugins use."""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl


@hookimpl
def mmbench_register_commands(cli: Any) -> None:
    from mmbench.cli import inspect_cmds

    inspect_cmds.register(cli)
    try:
        from mmbench.cli import run_cmds
    except ImportError:  # the harness commands arrive with mmbench.grid
        return
    run_cmds.register(cli)
    from mmbench.cli import leaderboard_cmd; leaderboard_cmd.register(cli)  # noqa: E702
