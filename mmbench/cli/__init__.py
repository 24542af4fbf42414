"""The ``mmbench`` command line (click). Subcommands come from plugins, built-ins included."""
