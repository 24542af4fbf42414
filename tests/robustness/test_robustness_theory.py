"""The theory check on ``pid-synthetic`` (Liang et al. 2023's interactions): a cross-modal model that has
learnt the synergistic task (s_a XOR s_b) must fall to chance on it when either modality is missing, while
the redundant task (carried by each modality alone) stays well above chance."""

from __future__ import annotations

import json

import pytest
import torch

from mmbench.data.loading import load, resolve
from mmbench.grid.cells import Cell
from mmbench.grid.config import DEFAULT_TRAINING, ComponentChoice
from mmbench.grid.execution.worker import cell_result as run_cell
from mmbench.train.features import FeatureCache


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_missing_modality_kills_synergy_but_not_redundancy():
    data = load(resolve("pid-synthetic"))
    training = DEFAULT_TRAINING | {"epochs": 12, "batch_size": 128, "lr": 0.003, "patience": 3}
    cell = Cell("mt-cm", "pid-synthetic", ("a", "b"), ("redundant", "synergy"),
                (("a", ComponentChoice("mlp")), ("b", ComponentChoice("mlp"))), ComponentChoice("none"),
                ComponentChoice("concat"), ComponentChoice("ew"), 0, tuple(sorted(training.items())),
                json.dumps({"levels": [0.0], "perturbations": []}))
    result = run_cell(cell, data, torch.device("cpu"), FeatureCache())
    rob = result["robustness"]
    assert rob["clean"]["synergy"] >= 0.9, "the model must learn the XOR task for the check to mean anything"
    assert rob["clean"]["redundant"] >= 0.8
    for m in ("a", "b"):
        missing = rob["missing"][m]
        assert missing["synergy"]["accuracy"] <= 0.6, f"synergy without {m} should be chance (2 classes)"
        assert missing["redundant"]["accuracy"] >= 0.7, f"redundant without {m} should stay well above chance"
        assert rob["missing_drop"]["synergy"][m] >= 0.3
    assert rob["curves"] == {}  # no perturbations asked for
