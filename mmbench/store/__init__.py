"""The results store: SQLite in the run directory, one row per cell, plus exports."""

from mmbench.store.sqlite import ResultStore, STORE_FILENAME

__all__ = ["ResultStore", "STORE_FILENAME"]
