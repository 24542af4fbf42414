"""Built-in subcommands, registered through the same ``mmbench_register_commands`` hook plugins use."""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl


@hookimpl
def mmbench_register_commands(cli: Any) -> None:
    from mmbench.cli import inspect_cmds, leaderboard_cmd, run_cmds, validate_cmd

    inspect_cmds.register(cli)
    run_cmds.register(cli)
    leaderboard_cmd.register(cli)
    validate_cmd.register(cli)
