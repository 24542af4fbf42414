"""Tiny fabricated runs for the site, plot and schema tests: the leaderboard tests' toy grid, one whose
third-party components are named to break pages (``<script>``, ``|``, newlines), and a crowded one (a dozen
multitask configurations clustered near (0.97, 0.99), as on the published pages)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "leaderboard"))
from leaderboard_helpers import cls, config, full_grid, put, reg, result  # type: ignore[import-not-found]  # noqa: E402

from mmbench.store import ResultStore  # noqa: E402

HOSTILE = "<script>window.pwned=1</script>"
PIPE = "evil|fuser\nnext"

__all__ = ["HOSTILE", "PIPE", "WEIGHTINGS", "crowded_run", "full_grid", "hostile_run"]
WEIGHTINGS = ("ew", "uw", "dwa", "rlw", "famo", "gls", "mgda", "pcgrad", "cagrad", "imtl_g", "nash_mtl", "upgrad",
              "graddrop", "gradvac")


def hostile_run(directory: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> Path:
    """A toy run whose weighting, fuser and error message are markup."""
    with ResultStore(directory) as store:
        store.set_meta("grid", {"name": "<b>grid</b>", "dataset": "toy", "seeds": list(seeds), "counts": {}, "notes": []})
        for s in seeds:
            j = 0.01 * s
            cm = dict(aligner="none", fuser=PIPE)
            put(store, config("st-cm", ["a", "b"], ["c"], seed=s, **cm), result({"c": cls(0.75 + j, 0.65 + j)}))
            put(store, config("st-cm", ["a", "b"], ["r"], seed=s, **cm), result({"r": reg(1.2 + j, 2.2 + j)}))
            for w, bonus in (("ew", 0.0), (HOSTILE, 0.02)):
                put(store, config("mt-cm", ["a", "b"], ["c", "r"], weighting=w, seed=s, **cm),
                    result({"c": cls(0.76 + bonus + j, 0.66 + bonus + j), "r": reg(1.15 - bonus + j, 2.15 - bonus + j)}))
        put(store, config("mt-cm", ["a", "b"], ["c", "r"], weighting="pcgrad", seed=0, aligner="none", fuser=PIPE), None,
            error=f"RuntimeError: {HOSTILE}")
    return directory


def crowded_run(directory: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> Path:
    """Single-task baselines on tasks c and d, and one multitask configuration per weighting a hair apart."""
    with ResultStore(directory) as store:
        store.set_meta("grid", {"name": "crowded", "dataset": "toy", "seeds": list(seeds), "counts": {}, "notes": []})
        for s in seeds:
            j = 0.002 * s
            for t, base in (("c", 0.96), ("d", 0.985)):
                put(store, config("st-cm", ["a", "b"], [t], seed=s, aligner="none", fuser="concat"),
                    result({t: cls(base + j, base - 0.01 + j)}))
            for i, w in enumerate(WEIGHTINGS):
                dc, dd = 0.001 * (i % 5), 0.0012 * ((i * 3) % 7)
                put(store, config("mt-cm", ["a", "b"], ["c", "d"], weighting=w, seed=s, aligner="none", fuser="concat"),
                    result({"c": cls(0.965 + dc + j, 0.95 + dc), "d": cls(0.985 + dd + j, 0.97 + dd)}))
    return directory
