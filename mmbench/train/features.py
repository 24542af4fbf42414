"""Frozen-encoder feature cache: compute once per (dataset content, split, encoder), reuse everywhere.

Features live in memory for the process and on disk as safetensors (no pickle) under
``<cache dir>/<key>.safetensors`` (written atomically; a lock file lets parallel processes compute each set
once while the others wait and read it — a grid's driver computes them all with every core before its
workers start, :func:`mmbench.grid.execution.context.warm_features`), where the key hashes the dataset fingerprint, the split, the modality
and the encoder's ``fingerprint()``. Changing the data or the encoder changes the key. A file that cannot
be read (damaged, truncated) is discarded with a warning naming it and the error, and recomputed. The
default directory is ``$MMBENCH_CACHE_DIR`` or ``~/.cache/mmbench/features``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import warnings
from pathlib import Path
from typing import Callable, Iterator

from torch import Tensor


def default_cache_dir() -> Path:
    return Path(os.environ.get("MMBENCH_CACHE_DIR") or Path.home() / ".cache" / "mmbench" / "features")


class FeatureCache:
    """Memory + safetensors disk cache of frozen features; ``directory=None`` keeps memory only.
    ``enabled=False`` turns feature caching off entirely: frozen encoders then run inside the model on
    every batch, as trainable ones do (``mmbench run --no-cache``; the baseline of the cache benchmark)."""

    def __init__(self, directory: str | Path | None = None, enabled: bool = True):
        self.directory = Path(directory) if directory is not None else None
        self.enabled = enabled
        self._memory: dict[str, Tensor] = {}
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(*parts: str) -> str:
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    def get_or_compute(self, key: str, compute: Callable[[], Tensor]) -> Tensor:
        if not self.enabled:
            return compute()
        if key in self._memory:
            self.hits += 1
            return self._memory[key]
        if self.directory is None:
            return self._compute(key, compute, None)
        self.directory.mkdir(parents=True, exist_ok=True)
        with _exclusive(self.directory / f"{key}.lock"):  # other processes wait, then read the file
            path = self.directory / f"{key}.safetensors"
            if path.exists():
                from safetensors.torch import load_file

                try:
                    value = load_file(str(path))["features"]
                    self._memory[key] = value
                    self.hits += 1
                    return value
                except Exception as exc:  # noqa: BLE001 - a damaged file is recomputed
                    warnings.warn(f"feature cache: discarded {path} (could not be read: {type(exc).__name__}: {exc}); "
                                  "recomputing its features", RuntimeWarning, stacklevel=2)
                    path.unlink(missing_ok=True)
            return self._compute(key, compute, path)

    def _compute(self, key: str, compute: Callable[[], Tensor], path: Path | None) -> Tensor:
        self.misses += 1
        value = compute().detach().cpu().contiguous()
        self._memory[key] = value
        if path is not None:
            from safetensors.torch import save_file

            tmp = path.with_suffix(f".tmp{os.getpid()}")
            save_file({"features": value}, str(tmp))
            os.replace(tmp, path)  # atomic: readers never see half a file
        return value


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An inter-process lock (``flock``) so that parallel workers compute each feature set once."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock; at worst two workers compute the same features
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
