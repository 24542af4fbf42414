"""The static site without a browser: files, offline references, escaping, verdict badges and tiers."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from runs import HOSTILE, PIPE, full_grid, hostile_run  # type: ignore[import-not-found]

from mmbench.cli.main import cli
from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.format import escape
from mmbench.leaderboard.report.html_page import badge, configurations_table
from mmbench.leaderboard.report.html_site import write_site
from mmbench.store.schema import validate_file


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_leaderboard_format_html_writes_a_self_contained_site(tmp_path: Path) -> None:
    run, site = full_grid(tmp_path / "run"), tmp_path / "site"
    assert invoke("leaderboard", str(run), "--format", "html", "-o", str(site)).exit_code == 0
    assert (site / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    pages = sorted(p.name for p in site.glob("*.html"))
    assert pages == ["index.html", "toy.html"]
    assert validate_file(site / "data" / "run.json") == ("leaderboard", None)
    page = (site / "toy.html").read_text()
    for text in ("Leaderboard: toy", "toy-grid", "mmbench 0.1.0", "reproduce", 'href="data/run.md"',
                 'href="data/run.json"', 'href="data/run.csv"', 'id="plot-tradeoff"', 'id="plot-delta"',
                 'id="plot-profiles"', 'data-family="mt-cm"', "FloatingPointError", "<th>trainable params ↓</th>",
                 "<code>params</code> in the CSV/JSON counts them"):
        assert text in page, text
    for html in (site / "index.html").read_text(), page:
        refs = re.findall(r'(?:src|href)="([^"]*)"', html)
        assert refs and not [r for r in refs if "//" in r or r.startswith("/")], refs  # relative only: no CDN
    assert 'href="toy.html"' in (site / "index.html").read_text()


def test_html_needs_an_output_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["leaderboard", str(full_grid(tmp_path / "run")), "--format", "html"])
    assert result.exit_code == 2 and "-o DIR" in result.output


def test_strings_from_runs_and_plugins_render_as_text(tmp_path: Path) -> None:
    board = build(hostile_run(tmp_path / "run"))
    pages = write_site([board], tmp_path / "site")
    for page in pages:
        html = page.read_text()
        assert HOSTILE not in html and "<b>grid" not in html
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html or page.name == "index.html"
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in pages[0].read_text()  # the index lists it too
    md = board.to_markdown()
    assert HOSTILE not in md
    tables = [line for line in md.splitlines() if line.startswith("|")]
    assert any(escape(PIPE) in line for line in tables) and escape(PIPE) == "evil\\|fuser next"
    for block in re.split(r"\n(?!\|)", "\n".join(md.splitlines())):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in rows}
        assert len(widths) <= 1, rows  # no component name adds a column


def test_verdict_badges_and_the_tied_tier_come_from_the_frame(tmp_path: Path) -> None:
    board = build(full_grid(tmp_path / "run"))
    group = [a for a in board.analyses if a.config.family == "mt-sm"]
    frame = board.to_frame()[board.to_frame()["family"] == "mt-sm"].reset_index(drop=True)
    frame["delta_m.verdict"] = ["better", "worse", "equivalent", "inconclusive"]
    frame["vs_ew.verdict"] = [None, "better", None, "not tested"]
    frame["tier"] = [2, 1, 1, 2]
    html = configurations_table(group, frame, "t")
    for verdict in ("better", "worse", "equivalent", "inconclusive"):
        assert f'<span class="badge v-{verdict}">{verdict}</span>' in html
    assert '<span class="badge v-not-tested">not tested</span>' in html
    rows = html.split("<tr")[2:]
    assert ['class="top-tier"' in r for r in rows] == [False, True, True, False]
    assert "<th>tier</th>" in html
    plain = configurations_table(group, frame.drop(columns=["delta_m.verdict", "vs_ew.verdict", "tier"]), "t")
    assert "v-worse" not in plain and "top-tier" not in plain and "<th>tier</th>" not in plain
    assert badge(HOSTILE) == '<span class="badge v--script-window-pwned-1--script-">' + \
        "&lt;script&gt;window.pwned=1&lt;/script&gt;</span>"


def test_validation_scores_are_on_the_page(tmp_path: Path) -> None:
    board = build(full_grid(tmp_path / "run"))
    html = configurations_table(board.analyses, board.to_frame(), "t")
    assert html.count('class="s-val"') == html.count('class="s-test"') > 0
