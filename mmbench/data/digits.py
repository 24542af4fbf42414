"""``digits``: the UCI handwritten digits (Alpaydin & Kaynak 1998; ``sklearn.datasets.load_digits``) as an
image modality, with a generated text modality that carries some, not all, of the information.

- image: the 1,797 real 8x8 scans (values 0..16, stored as 8-bit grayscale PNGs, decoded to [0, 1]).
- text: a short description naming the digit's parity (even/odd) and range (below five / five or more),
  each stated correctly with probability ``1 - noise`` and otherwise drawn at random (so correct with
  probability ``1 - noise/2``), in one of a few phrasings. It never names the digit itself.
- tasks: ``digit`` (10 classes), ``parity`` (even/odd), ``large`` (digit >= 5), ``ink`` (regression: the
  image's mean pixel intensity in [0, 1]).
- splits: 70/15/15 stratified by digit (``mmbench.data.splits``), seeded by ``split_seed`` (default: ``seed``):
  1,257 / 270 / 270. A grid's ``split_seeds: true`` redraws them per seed.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from mmbench.data.errors import DatasetError
from mmbench.data.spec import DatasetSpec, ModalitySpec, TaskSpec
from mmbench.data.splits import split_sizes, stratified_split  # noqa: F401 - split_sizes re-exported

N_DIGITS = 1797

_PARITY = ("even", "odd")
_RANGE = (("below five", "small", "low"), ("five or more", "large", "high"))
_TEMPLATES = (
    "an {parity} digit, {range}",
    "{range} and {parity}",
    "this one looks {parity} and {range}",
    "a handwritten {parity} number, {range}",
)


def digit_images() -> tuple[Any, Any]:
    """The UCI digits as 8-bit images ``uint8 [1797, 8, 8]`` (0..16 scaled to 0..255) and labels ``[1797]``."""
    import numpy as np
    from sklearn.datasets import load_digits

    data = load_digits()
    return np.rint(data.images * (255.0 / 16.0)).astype(np.uint8), data.target.astype(np.int64)


def noisy_words(truth: Any, noise: float, rng: Any, options: int = 2) -> Any:
    """``truth`` (ints in ``0..options-1``) kept with probability ``1 - noise``, else replaced at random."""
    import numpy as np

    keep = rng.random(len(truth)) >= noise
    return np.where(keep, truth, rng.integers(0, options, len(truth)))


def describe(labels: Any, noise: float, rng: Any) -> list[str]:
    """One description per digit label: parity and range, each noisy (see module docstring)."""
    parity = noisy_words(labels % 2, noise, rng)
    large = noisy_words((labels >= 5).astype(int), noise, rng)
    template = rng.integers(0, len(_TEMPLATES), len(labels))
    phrasing = rng.integers(0, len(_RANGE[0]), len(labels))
    return [
        _TEMPLATES[t].format(parity=_PARITY[p], range=_RANGE[r][w])
        for p, r, t, w in zip(parity.tolist(), large.tolist(), template.tolist(), phrasing.tolist())
    ]


def check_noise(noise: float) -> float:
    if not isinstance(noise, (int, float)) or not 0.0 <= noise <= 1.0:
        raise DatasetError(f"option noise must be a number in [0, 1]; got {noise!r}")
    return float(noise)


def build_digits(seed: int = 0, noise: float = 0.3, split_seed: int | None = None) -> Any:
    """The ``digits`` DatasetDict (deterministic from ``seed``; the split from ``split_seed``, default ``seed``)."""
    import datasets
    import numpy as np
    from PIL import Image

    images, labels = digit_images()
    rng = np.random.default_rng([seed, 1])
    texts = describe(labels, noise, rng)
    features = datasets.Features({
        "image": datasets.Image(),
        "text": datasets.Value("string"),
        "digit": datasets.ClassLabel(names=[str(d) for d in range(10)]),
        "parity": datasets.ClassLabel(names=list(_PARITY)),
        "large": datasets.ClassLabel(names=["below five", "five or more"]),
        "ink": datasets.Value("float32"),
    })
    out = {}
    for role, idx in stratified_split(labels, seed if split_seed is None else split_seed, test_seed=seed).items():
        out[role] = datasets.Dataset.from_dict({
            "image": [Image.fromarray(images[i]) for i in idx],
            "text": [texts[i] for i in idx],
            "digit": labels[idx].tolist(),
            "parity": (labels[idx] % 2).tolist(),
            "large": (labels[idx] >= 5).astype(np.int64).tolist(),
            "ink": (images[idx].reshape(len(idx), -1).mean(axis=1) / 255.0).astype(np.float32).tolist(),
        }, features=features, split=role)
    return datasets.DatasetDict(out)


def digits_spec(seed: int = 0, noise: float = 0.3, split_seed: int | None = None) -> DatasetSpec:
    """The built-in ``digits`` dataset (UCI digits, Alpaydin & Kaynak 1998) with noisy generated text."""
    from mmbench.data.builtin import INFO

    noise = check_noise(noise)
    n_train, n_val, n_test = split_sizes(N_DIGITS)
    text_states = (f"image (fully); text states it correctly with probability 1 - noise/2 = {1 - noise / 2:.2f} per "
                   "text (the texts are drawn once, with `seed`: every split seed reads the same ones, so the realised "
                   "rate is fixed and text-noise variation is not in the seeds' spread)")
    return DatasetSpec(
        name="digits",
        modalities={"image": ModalitySpec(("image",), "image"), "text": ModalitySpec(("text",), "text")},
        tasks={
            "digit": TaskSpec("digit", "classification"),
            "parity": TaskSpec("parity", "classification"),
            "large": TaskSpec("large", "classification"),
            "ink": TaskSpec("ink", "regression"),
        },
        builder=partial(build_digits, seed=int(seed), noise=noise, split_seed=split_seed),
        metadata={
            "description": INFO["digits"]["description"],
            "reference": INFO["digits"]["reference"],
            "size": {"total": N_DIGITS, "train": n_train, "validation": n_val, "test": n_test},
            "splits": f"70/15/15 stratified by digit: the test split of seed={seed}, train/validation drawn with "
                      f"split_seed={seed if split_seed is None else split_seed}",
            "ground_truth": {
                "digit": "image (fully); text only narrows it to 2-3 candidates (parity x range)",
                "parity": text_states,
                "large": text_states,
                "ink": "image only (mean pixel intensity, an exact function of the image)",
            },
            "options": {"seed": int(seed), "noise": noise, "split_seed": split_seed},
        },
    )
