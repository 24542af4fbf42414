"""The trade-off PNG stays readable on a crowded page: no two labels overlap, the front is drawn on top and
every point is named (by label or by a number in the key)."""

from __future__ import annotations

import itertools
from pathlib import Path

from runs import WEIGHTINGS, crowded_run  # type: ignore[import-not-found]

from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.plots import label_box, tradeoff_figure, tradeoff_plot


def test_no_two_labels_overlap_on_a_crowded_plot(tmp_path: Path) -> None:
    board = build(crowded_run(tmp_path / "run"))
    fig = tradeoff_figure(board.analyses)
    assert fig is not None
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_visible()]
    boxes = [label_box(t, renderer) for t in texts] + [t.get_window_extent(renderer) for t in fig.texts]
    assert len(texts) >= 5  # names or numbers were placed, not dropped wholesale
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.overlaps(b), f"labels {i} and {j} overlap: {a} / {b}"
    key = fig.texts[0].get_text()
    named = {t.get_text() for t in texts}
    for w in WEIGHTINGS:  # every configuration is named on the plot or in the key
        assert any(w in text for text in named | {key})
    front = next(line for line in ax.get_lines() if line.get_label() == "Pareto front")
    assert front.get_zorder() > max(c.get_zorder() for c in ax.collections)
    assert tradeoff_plot(board.analyses, tmp_path / "t.png").stat().st_size > 1000
