"""The publishing script writes ``leaderboards/site/`` beside the markdown pages (here: a tiny run, a temp folder)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from runs import full_grid  # type: ignore[import-not-found]

from mmbench.leaderboard.board import build

ROOT = Path(__file__).resolve().parents[2]


def test_the_publish_script_writes_the_site(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("publish_leaderboards", ROOT / "scripts" / "publish_leaderboards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    runs = tmp_path / "runs"
    entries = [module.entry("toy", build(full_grid(runs / "toy")))]
    pages = module.write_site(entries, runs, out=tmp_path / "site")
    assert [p.name for p in pages] == ["index.html", "toy.html"]
    page = (tmp_path / "site" / "toy.html").read_text()
    assert 'href="../toy.md"' in page and 'href="data/toy.json"' in page
    # the reproduce line trains afresh: not into the published store, where every cell is already done
    assert "mmbench run --grid leaderboards/grids/toy.yaml --out mmbench-runs/toy" in page
    assert (tmp_path / "site" / "assets" / "plotly.min.js").exists()
    assert "[`site/index.html`](site/index.html)" in module.index(entries)
