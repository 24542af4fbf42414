"""``python -m mmbench``: the ``mmbench`` command."""

from mmbench.cli.main import main

if __name__ == "__main__":
    main()
