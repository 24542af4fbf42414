"""Entry point of the ``mmbench`` command. Imports nothing heavy: ``--help`` and ``--version`` stay fast."""

from __future__ import annotations

import sys

import click

from mmbench import __version__


class LazyPluginGroup(click.Group):
    """A click group whose subcommands are added by plugins' ``mmbench_register_commands`` hooks."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            from mmbench.plugins.manager import call_hook_per_plugin

            call_hook_per_plugin("mmbench_register_commands", cli=self)

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
