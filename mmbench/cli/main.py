"""Entry point of the ``mmbench`` command. Imports nothing heavy: ``--help`` and ``--version`` stay fast."""

from __future__ import annotations

import sys

import click

from mmbench import __version__


class LazyPluginGroup(click.Group):
    """A click group whose subcommands are added by plugins' ``mmbench_register_commands`` hooks."""

    _generation = -1

    def _load(self) -> None:
        """Run every plugin's ``mmbench_register_commands`` (built-ins first); a plugin command whose name
        is taken by a built-in command (or an earlier plugin's) is refused with a message."""
        from mmbench.plugins.manager import generation, plugin_command_hooks, report_problem

        if self._generation == generation():
            return
        self._generation = generation()
        self.commands = {}  # plugins were (re)loaded: collect every command again

        for plugin, builtin, register in plugin_command_hooks():
            before = dict(self.commands)
            try:
                register(self)
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not take the CLI down
                report_problem(plugin, f"raised in mmbench_register_commands: {type(exc).__name__}: {exc}; its commands are skipped")
                self.commands = before
                continue
            if builtin:
                continue
            for name, command in list(self.commands.items()):
                if name in before and command is not before[name]:
                    self.commands[name] = before[name]
                    report_problem(plugin, f"adds a command named {name!r}, which mmbench (or an earlier plugin) already "
                                           "has; refused, the existing command is kept. Rename the plugin's command")

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, name)


@click.group(cls=LazyPluginGroup)
@click.version_option(__version__, prog_name="mmbench")
def cli() -> None:
    """mmbench: fair benchmarks of encoders, aligners, fusers and multitask loss weighting.

    Start with `mmbench run --grid` (the default grid on the built-in digits dataset), then
    `mmbench leaderboard mmbench-runs/default`.
    """


def main() -> None:
    cli(prog_name="mmbench")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
