"""SQLite results store: one row per cell keyed by ``cell_id``, written in one transaction per cell.

A row is written only when its cell ends (``ok`` or ``failed``), so a killed run leaves every finished
row intact and no half-written one; the next run skips finished cells. WAL journaling keeps readers
(``mmbench export`` / ``leaderboard``) working while a grid runs.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

STORE_FILENAME = "results.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    cell_id     TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    family      TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    label       TEXT NOT NULL,
    config      TEXT NOT NULL,
    result      TEXT,
    error       TEXT,
    grid        TEXT,
    started_at  REAL,
    finished_at REAL NOT NULL,
    provenance  TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class Row:
    """One stored cell."""

    cell_id: str
    status: str
    family: str
    seed: int
    label: str
    config: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    grid: str | None
    started_at: float | None
    finished_at: float
    #: which plugin and version produced each component (JSON text), as recorded when the cell ran
    provenance: str | None = None


class ResultStore:
    """The results of one run directory (``<dir>/results.sqlite``)."""

    def __init__(self, directory: str | Path, create: bool = True):
        self.directory = Path(directory)
        self.path = self.directory / STORE_FILENAME
        if not self.path.exists() and not create:
            raise FileNotFoundError(f"no mmbench results in {str(self.directory)!r} (expected {STORE_FILENAME}); "
                                    "run `mmbench run --grid --out DIR` first")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(cells)")}
        if "provenance" not in columns:  # a store written before provenance was recorded
            with self._conn:
                self._conn.execute("ALTER TABLE cells ADD COLUMN provenance TEXT")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, cell_id: str, status: str, family: str, seed: int, label: str, config: dict[str, Any],
            result: dict[str, Any] | None = None, error: str | None = None, grid: str | None = None,
            started_at: float | None = None, provenance: str | None = None) -> None:
        """Insert or replace one cell's row atomically."""
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO cells (cell_id, status, family, seed, label, config, result, error, grid, "
                "started_at, finished_at, provenance) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (cell_id, status, family, seed, label, json.dumps(config, sort_keys=True, default=str),
                 json.dumps(result, default=_json_default) if result is not None else None, error, grid,
                 started_at, time.time(), provenance),
            )

    def statuses(self) -> dict[str, str]:
        """``cell_id → status`` for every stored cell."""
        return dict(self._conn.execute("SELECT cell_id, status FROM cells"))

    def provenances(self) -> dict[str, str | None]:
        """``cell_id → provenance`` (JSON text, ``None`` for rows written before it was recorded)."""
        return dict(self._conn.execute("SELECT cell_id, provenance FROM cells"))

    def rows(self, status: str | None = None) -> Iterator[Row]:
        query = ("SELECT cell_id, status, family, seed, label, config, result, error, grid, started_at, finished_at, "
                 "provenance FROM cells" + (" WHERE status = ?" if status else "") + " ORDER BY finished_at, cell_id")
        for r in self._conn.execute(query, (status,) if status else ()):
            yield Row(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]) if r[6] else None, r[7], r[8],
                      r[9], r[10], r[11])

    def set_meta(self, key: str, value: Any) -> None:
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, default=str)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
