"""The overall table across run directories (mean rank, IQM and P(X > reference) with intervals) and the
index page the publish script writes from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from mmbench.leaderboard.board import build
from mmbench.leaderboard.stats.aggregates import iqm, normalised_scores, probability_of_improvement
from mmbench.leaderboard.overall import from_directories, overall, to_markdown
from mmbench.store import ResultStore

from leaderboard_helpers import config, put, result  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]


def acc(v: float) -> dict[str, float]:
    return {"accuracy": v}


def store(path: Path, dataset: str, bonus: dict[str, float]) -> Path:
    with ResultStore(path) as s:
        for seed, j in enumerate((0.0, 0.01, 0.02)):
            for task in ("c", "d"):
                put(s, config("st-sm", ["a"], [task], seed=seed, dataset=dataset), result({task: acc(0.6 + j)}))
            for w, b in bonus.items():
                put(s, config("mt-sm", ["a"], ["c", "d"], weighting=w, seed=seed, dataset=dataset),
                    result({"c": acc(0.62 + b + j), "d": acc(0.61 + b / 2 + j)}))
    return path


@pytest.fixture(scope="module")
def boards(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("overall")
    one = build(store(root / "one", "toy1", {"ew": 0.0, "uw": 0.03, "dwa": -0.01}))
    two = build(store(root / "two", "toy2", {"ew": 0.0, "uw": 0.02, "pcgrad": 0.05}))
    return [one, two]


def test_overall_ranks_and_pools_values_that_ran_everywhere(boards):
    (kind,) = overall(boards, n_resamples=300)
    assert kind.kind == "weighting" and kind.reference == "ew" and kind.datasets == ["toy1", "toy2"]
    assert kind.left_out == ["dwa", "pcgrad"]  # not on every dataset
    rows = {r.value: r for r in kind.rows}
    assert set(rows) == {"ew", "uw"}
    # item 6 of issue #23: ranks over the common competitors (uw, ew), not over values left out of the table
    # (over every value there it was toy1 uw 1, ew 2, dwa 3; toy2 pcgrad 1, uw 2, ew 3: uw 1.5, ew 2.5)
    assert rows["uw"].mean_rank == pytest.approx(1.0) and rows["ew"].mean_rank == pytest.approx(2.0)
    pooled = np.concatenate([v for b in boards for v in normalised_scores(b.analyses, "weighting")["uw"].values()])
    assert rows["uw"].iqm.value == pytest.approx(iqm(pooled))
    cols = {v: np.stack([s for b in boards for _, s in sorted(normalised_scores(b.analyses, "weighting")[v].items())], 1)
            for v in ("uw", "ew")}
    assert rows["uw"].poi.value == pytest.approx(probability_of_improvement(cols["uw"], cols["ew"]))
    assert rows["ew"].poi is None and kind.columns == 4
    assert rows["uw"].iqm.low <= rows["uw"].iqm.value <= rows["uw"].iqm.high
    text = to_markdown([kind])
    assert "### By weighting" not in text and "## By weighting" in text and "Left out (not on every dataset): dwa, pcgrad" in text
    assert "| ew (reference) |" in text.replace("  ", "")


def test_the_index_states_shares_verdicts_and_no_empty_table(boards):
    (kind,) = overall(boards, n_resamples=200)
    assert kind.dataset_columns == {"toy1": 2, "toy2": 2}
    uw = next(r for r in kind.rows if r.value == "uw")
    assert uw.verdict is not None and uw.verdict.n == 6 and set(uw.verdict.per_seed) == {"toy1", "toy2"}
    assert next(r for r in kind.rows if r.value == "ew").verdict is None  # the reference
    text = to_markdown([kind])
    assert "4 columns (dataset × context × task): toy1 2 of 4, toy2 2 of 4." in text
    assert "pooled verdict vs EW (difference test)" in text  # what the verdict compares, per kind
    assert "; over 2 datasets)" in text  # and over how many datasets
    assert "the pooled verdict is the test" in text
    empty = type(kind)("aligner", None, ["toy1", "toy2"], left_out=["infonce", "projection"])
    text = to_markdown([empty])
    assert "P(X > —)" not in text and "No aligner besides the kind's reference ran on every one of" in text


def test_stratified_sign_flip_by_hand():
    from mmbench.leaderboard.stats.pooled import stratified_signflip

    a, b = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, -5.0])
    values = np.concatenate([a / np.sqrt((a ** 2).sum()), b / np.sqrt((b ** 2).sum())])
    import itertools
    null = [abs(np.dot(s, values)) for s in itertools.product((1, -1), repeat=6)]
    assert stratified_signflip([a, b]) == pytest.approx(np.mean(np.array(null) >= abs(values.sum()) - 1e-12))
    # scale-free: multiplying one dataset's scores by 1000 changes nothing
    assert stratified_signflip([a * 1000, b]) == pytest.approx(stratified_signflip([a, b]))
    assert stratified_signflip([np.zeros(4)]) == 1.0


def test_from_directories_builds_each(boards):
    (kind,) = from_directories([b.directory for b in boards], n_resamples=200)
    assert {r.value for r in kind.rows} == {"ew", "uw"}


def test_the_publish_script_writes_the_overall_table_into_the_index(boards):
    spec = importlib.util.spec_from_file_location("publish_leaderboards", ROOT / "scripts" / "publish_leaderboards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    entries = [module.entry(name, b) for name, b in zip(("toy1", "toy2"), boards)]
    text = module.index(entries)
    assert "| [toy1](toy1.md) | 5 | 0 | weighting vs EW: " in text and "(MDE " in text  # verdicts per family
    assert "## Across datasets" in text and "### By weighting" in text and "P(X > ew)" in text
    pending = module.index(entries, ["toy3"])  # a dataset not republished: a line saying so, no link, no numbers
    assert "| toy3 | — | — | not published yet" in pending and "--only toy3" in pending and "(toy3.md)" not in pending
    # the header says what the page ran of its dataset (a grid may use fewer tasks than the dataset describes)
    assert module.grid_scope(boards[0]) == "this page: modalities a; tasks c, d"
