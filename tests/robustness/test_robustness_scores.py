"""Robustness scores against hand-computed curves and MultiBench's own formula; settings validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmbench.plugins import UnknownComponentError
from mmbench.robustness.scores import effective_robustness, mean_finite, missing_drop, relative_robustness
from mmbench.robustness.settings import (DEFAULT_LEVELS, PerturbationChoice, RobustnessSettingsError, choices_by_kind,
                                         parse_settings)


def test_relative_robustness_on_hand_curves():
    # r = [1, .75, .5] over [0, .5, 1]: trapezoids .5·(1+.75)/2 + .5·(.75+.5)/2 = .4375 + .3125 = .75
    assert relative_robustness([0, 0.5, 1], [0.8, 0.6, 0.4], 0.8, lower_is_better=False) == pytest.approx(0.75)
    # MAE doubling each step: r = clean/m = [1, .5, .25] → .5·1.5/2 + .5·.75/2 = .5625
    assert relative_robustness([0, 0.5, 1], [1.0, 2.0, 4.0], 1.0, lower_is_better=True) == pytest.approx(0.5625)
    assert relative_robustness(DEFAULT_LEVELS, [0.9] * 10, 0.9, False) == pytest.approx(1.0)  # unaffected
    assert relative_robustness([0.2, 0.6], [0.5, 0.3], 0.5, False) == pytest.approx(0.8)  # range 0.4, not 1
    assert relative_robustness([0.3], [0.45], 0.9, False) == pytest.approx(0.5)  # one level: the ratio
    assert math.isnan(relative_robustness([0, 1], [0.5, 0.4], 0.0, False))  # clean 0: undefined
    with pytest.raises(ValueError, match="levels"):
        relative_robustness([0, 1], [0.5], 0.5, False)


def test_relative_robustness_is_multibench_area_over_clean_times_range():
    """MultiBench (eval_scripts/robustness.py) sums (y_i + y_{i+1}) · 0.1 / 2 over the 10 levels; ours is
    that area divided by clean · (0.9 − 0)."""
    rng = np.random.default_rng(0)
    values = np.sort(rng.uniform(0.3, 0.9, 10))[::-1]
    area = sum((values[i] + values[i + 1]) * 0.1 / 2 for i in range(9))
    clean = values[0]
    assert relative_robustness(DEFAULT_LEVELS, values, clean, False) == pytest.approx(area / (clean * 0.9))


def test_missing_drop_is_positive_when_worse():
    assert missing_drop(0.9, 0.5, lower_is_better=False) == pytest.approx(0.4)
    assert missing_drop(0.5, 0.6, lower_is_better=False) == pytest.approx(-0.1)
    assert missing_drop(1.0, 1.7, lower_is_better=True) == pytest.approx(0.7)  # MAE grows: worse


def test_effective_robustness_on_shared_curves():
    mine = {"a/noise": 0.9, "b/noise": 0.7, "b/drop": 0.5}
    ref = {"a/noise": 0.8, "b/noise": 0.8, "c/other": 0.1}
    assert effective_robustness(mine, ref) == pytest.approx(((0.9 - 0.8) + (0.7 - 0.8)) / 2)
    assert math.isnan(effective_robustness({"x": 1.0}, {"y": 1.0}))
    assert effective_robustness(ref, ref) == 0.0
    assert mean_finite([1.0, None, math.nan, 3.0]) == 2.0 and math.isnan(mean_finite([]))


def test_settings_defaults_and_overrides():
    s = parse_settings({})
    assert s.levels == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9) and s.seed == 0 and s.missing and s.perturbations is None
    s = parse_settings({"levels": [0, 0.5, 1], "seed": 3, "missing": False,
                        "perturbations": ["image-noise", {"name": "text-typos", "swap": 0.0}]})
    assert s.levels == (0.0, 0.5, 1.0) and s.seed == 3 and not s.missing
    assert s.perturbations == (PerturbationChoice("image-noise"), PerturbationChoice("text-typos", (("swap", 0.0),)))
    assert s.perturbations[1].label == "text-typos(swap=0.0)"
    assert s.as_dict()["perturbations"] == ["image-noise", "text-typos(swap=0.0)"]


@pytest.mark.parametrize("raw,message", [
    ({"level": [0, 1]}, "did you mean 'levels'"),
    ({"levels": [0.5, 0.1]}, "increase strictly"),
    ({"levels": [0, 1.5]}, "within"),
    ({"levels": []}, "non-empty"),
    ({"seed": -1}, "non-negative"),
    ({"missing": "yes"}, "true or false"),
    ({"perturbations": "image-noise"}, "must be a list"),
    ({"perturbations": [{"swap": 1}]}, "expected a name"),
])
def test_bad_settings_name_the_key(raw: dict, message: str):
    with pytest.raises(RobustnessSettingsError, match=message):
        parse_settings(raw)


def test_choices_by_kind_defaults_and_unknown_names():
    kinds = choices_by_kind(parse_settings({}))
    assert {k: [c.name for c, _ in v] for k, v in kinds.items()} == {
        "image": ["image-noise", "image-occlusion"], "text": ["text-word-dropout", "text-typos"],
        "tabular": ["tabular-noise", "tabular-entry-dropout"]}
    one = choices_by_kind(parse_settings({"perturbations": [{"name": "tabular-entry-dropout", "fill": "mean"}]}))
    assert list(one) == ["tabular"] and one["tabular"][0][1].fill == "mean"
    with pytest.raises(UnknownComponentError, match="did you mean 'image-noise'"):
        choices_by_kind(parse_settings({"perturbations": ["image-nois"]}))
