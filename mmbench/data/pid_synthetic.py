"""``pid-synthetic``: two tabular modalities with known interactions, after the synthetic data of Liang et al.
2023 ("Quantifying & Modeling Multimodal Interactions: An Information Decomposition Framework", NeurIPS).

Construction (all draws from one generator seeded by ``seed``):

- latent blocks, each ``latent`` standard-normal dimensions: ``z_s`` shared by both modalities, ``z_a``
  unique to a, ``z_b`` unique to b; and two fair bits ``s_a`` (only in a) and ``s_b`` (only in b), each
  entering its modality as one coordinate ``amplitude * (2 s - 1)``;
- modality a = ``[z_s, z_a, amplitude*(2 s_a - 1)] @ M_a + noise * eps``, and b likewise with
  ``[z_s, z_b, amplitude*(2 s_b - 1)]`` and its own random mixing matrix ``M_b`` (``dim`` features each);
- labels (no label noise): ``redundant = [w_s . z_s > 0]``, ``unique_a = [w_a . z_a > 0]``,
  ``unique_b = [w_b . z_b > 0]``, ``synergy = s_a XOR s_b`` (w: random unit vectors).

So ``redundant`` is solvable from either modality, ``unique_a`` only from a, ``unique_b`` only from b, and
``synergy`` from neither alone — it is independent of each modality, chance level — but from both together.
Splits 70/15/15 of the ``n`` rows (default 2,000: 1,400 / 300 / 300).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from mmbench.data.splits import split_sizes, stratified_split
from mmbench.data.errors import DatasetError
from mmbench.data.spec import DatasetSpec, ModalitySpec, TaskSpec

TASKS = ("redundant", "unique_a", "unique_b", "synergy")


def generate(n: int, dim: int, latent: int, noise: float, amplitude: float, seed: int) -> dict[str, Any]:
    """Arrays ``a``, ``b`` (``float32 [n, dim]``) and the four labels (``int64 [n]``)."""
    import numpy as np

    rng = np.random.default_rng([seed, 3])
    z_s, z_a, z_b = (rng.standard_normal((n, latent)) for _ in range(3))
    s_a, s_b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    width = 2 * latent + 1
    m_a, m_b = (rng.standard_normal((width, dim)) / np.sqrt(width) for _ in range(2))
    a = np.concatenate([z_s, z_a, amplitude * (2 * s_a - 1)[:, None]], axis=1) @ m_a + noise * rng.standard_normal((n, dim))
    b = np.concatenate([z_s, z_b, amplitude * (2 * s_b - 1)[:, None]], axis=1) @ m_b + noise * rng.standard_normal((n, dim))
    w_s, w_a, w_b = (v / np.linalg.norm(v) for v in rng.standard_normal((3, latent)))
    return {
        "a": a.astype(np.float32),
        "b": b.astype(np.float32),
        "redundant": (z_s @ w_s > 0).astype(np.int64),
        "unique_a": (z_a @ w_a > 0).astype(np.int64),
        "unique_b": (z_b @ w_b > 0).astype(np.int64),
        "synergy": (s_a ^ s_b).astype(np.int64),
    }


def build_pid_synthetic(n: int, dim: int, latent: int, noise: float, amplitude: float, seed: int,
                        split_seed: int | None = None) -> Any:
    """The ``pid-synthetic`` DatasetDict (deterministic from ``seed``; the split from ``split_seed``, default
    ``seed``, stratified by the joint label of the four tasks)."""
    import datasets
    import numpy as np

    data = generate(n, dim, latent, noise, amplitude, seed)
    vector = datasets.List(datasets.Value("float32"), length=dim)
    features = datasets.Features({"a": vector, "b": vector, **{t: datasets.ClassLabel(names=["0", "1"]) for t in TASKS}})
    out = {}
    joint = np.stack([np.asarray(data[t]) for t in TASKS], axis=1)
    for role, idx in stratified_split(joint, seed if split_seed is None else split_seed, test_seed=seed).items():
        out[role] = datasets.Dataset.from_dict({k: v[idx] for k, v in data.items()}, features=features, split=role)
    return datasets.DatasetDict(out)


def pid_synthetic_spec(n: int = 2000, dim: int = 16, latent: int = 4, noise: float = 0.3, amplitude: float = 2.0,
                       seed: int = 0, split_seed: int | None = None) -> DatasetSpec:
    """The built-in ``pid-synthetic`` dataset (redundant, unique and synergistic tasks; Liang et al. 2023)."""
    from mmbench.data.builtin import INFO

    for key, value, least in (("n", n, 20), ("dim", dim, 1), ("latent", latent, 1)):
        if not isinstance(value, int) or value < least:
            raise DatasetError(f"pid-synthetic: option {key} must be an integer >= {least}; got {value!r}")
    if noise < 0 or amplitude <= 0:
        raise DatasetError(f"pid-synthetic: need noise >= 0 and amplitude > 0; got noise={noise}, amplitude={amplitude}")
    n_train, n_val, n_test = split_sizes(n)
    options = {"n": n, "dim": dim, "latent": latent, "noise": float(noise), "amplitude": float(amplitude), "seed": int(seed)}
    return DatasetSpec(
        name="pid-synthetic",
        modalities={"a": ModalitySpec(("a",), "tabular"), "b": ModalitySpec(("b",), "tabular")},
        tasks={t: TaskSpec(t, "classification") for t in TASKS},
        builder=partial(build_pid_synthetic, **options, split_seed=split_seed),
        metadata={
            "description": INFO["pid-synthetic"]["description"],
            "reference": INFO["pid-synthetic"]["reference"],
            "size": {"total": n, "train": n_train, "validation": n_val, "test": n_test},
            "splits": f"70/15/15 stratified by the joint label of the four tasks: the test split of seed={seed}, "
                      f"train/validation drawn with split_seed={seed if split_seed is None else split_seed}",
            "ground_truth": {
                "redundant": "a and b: each alone carries it (the shared block z_s)",
                "unique_a": "a only (block z_a); chance from b",
                "unique_b": "b only (block z_b); chance from a",
                "synergy": "a and b together only: s_a XOR s_b; exactly chance from either alone",
            },
            "options": options,
        },
    )
