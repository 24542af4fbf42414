"""Built-in datasets (no network), registered through ``mmbench_register_datasets``.

Each is built from data that ships inside pip packages (scikit-learn's digits) or from a seeded
generator, as a ``datasets.DatasetDict``, and then goes through the same checks and decoding as user
data. This module stays import-light: the builders load lazily (``docs/datasets.md`` describes them).
"""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl
from mmbench.plugins.registry import lazy

#: Per built-in: what ``mmbench list datasets`` shows; the specs' ``metadata`` repeats it.
INFO: dict[str, dict[str, Any]] = {
    "digits": {
        "description": "UCI handwritten digits (1,797 real 8x8 scans) as images, with noisy generated text; "
                       "tasks digit, parity, large, ink",
        "reference": "Alpaydin & Kaynak 1998, UCI Optical Recognition of Handwritten Digits (sklearn.datasets.load_digits)",
        "modalities": ["image", "text"],
        "tasks": ["digit", "parity", "large", "ink"],
    },
    "multidigits": {
        "description": "MultiMNIST on the UCI digits: two overlapping digits on a 12x12 canvas, plus noisy text; "
                       "tasks left, right",
        "reference": "Sener & Koltun 2018, Multi-Task Learning as Multi-Objective Optimization, NeurIPS "
                     "(after Sabour, Frosst & Hinton 2017, Dynamic Routing Between Capsules, NeurIPS)",
        "modalities": ["image", "text"],
        "tasks": ["left", "right"],
    },
    "pid-synthetic": {
        "description": "Two tabular modalities from shared and unique latent blocks; tasks carried by redundancy, "
                       "uniqueness (a, b) and synergy (XOR)",
        "reference": "Liang et al. 2023, Quantifying & Modeling Multimodal Interactions: An Information "
                     "Decomposition Framework, NeurIPS",
        "modalities": ["a", "b"],
        "tasks": ["redundant", "unique_a", "unique_b", "synergy"],
    },
}

_FACTORIES = {
    "digits": "mmbench.data.digits:digits_spec",
    "multidigits": "mmbench.data.multidigits:multidigits_spec",
    "pid-synthetic": "mmbench.data.pid_synthetic:pid_synthetic_spec",
}


@hookimpl
def mmbench_register_datasets(register: Any) -> None:
    for name, target in _FACTORIES.items():
        register(name, lazy(target), **INFO[name])
