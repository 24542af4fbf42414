"""Frozen-encoder feature cache: compute once per (dataset content, split, encoder), reuse everywhere.

Features live in memory for the process and on disk as safetensors (no pickle) under
``<cache dir>/<key>.safetensors`` (written atomically; a lock file lets parallel processes compute each set
once while the others wait and read it — a grid's driver computes them all with every core before its
workers start, :func:`mmbench.grid.execution.context.warm_features`), where the key hashes the dataset fingerprint, the split, the modality
and the encoder's ``fingerprint()``. Changing the data or the encoder changes the key. A file that cannot
be read (damaged, truncated) is discarded with a warning naming it and the error, and recomputed. The
default directory is ``$MMBENCH_CACHE_DIR`` or ``~/.cache/mmbench/features``.

:meth:`FeatureCache.get_or_compute_rows` keeps features per *row* instead: a store keyed by (modality,
encoder) maps a digest of each row's decoded input to its feature row, on disk as a directory
``rows-<key>/`` of safetensors chunk files (``digests`` and ``features``), each written atomically under the
same lock. Split seeds re-divide the same rows, so a later split seed reads the rows an earlier one computed
and encodes only rows it has not seen (:func:`mmbench.train.prepare.frozen_features`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import warnings
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
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
        self._rows: dict[str, tuple[dict[bytes, Tensor], set[str]]] = {}  # key -> (digest -> row, chunk files read)
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

    def get_or_compute_rows(self, key: str, digests: Sequence[bytes],
                            compute: Callable[[list[int] | None], Tensor]) -> Tensor:
        """Features ``[len(digests), ...]`` of rows named by ``digests`` (equal digests: equal inputs), from the
        row store ``key`` or computed: ``compute(None)`` encodes every row (as a per-split computation would,
        its result returned unchanged), ``compute(indices)`` only rows ``indices`` (positions in ``digests``).
        Counts one hit when no row had to be computed, else one miss."""
        if not self.enabled or not digests:
            return compute(None)
        rows, files = self._rows.setdefault(key, ({}, set()))
        if all(d in rows for d in digests):
            self.hits += 1
            return _stack(rows, digests)
        if self.directory is None:
            return self._compute_rows(rows, digests, compute, None)
        folder = self.directory / f"rows-{key}"
        folder.mkdir(parents=True, exist_ok=True)
        with _exclusive(self.directory / f"rows-{key}.lock"):
            for path in sorted(folder.glob("*.safetensors")):  # chunks other processes (or runs) wrote
                if path.name in files:
                    continue
                from safetensors.torch import load_file

                try:
                    chunk = load_file(str(path))
                    for digest, row in zip(chunk["digests"].numpy(), chunk["features"]):
                        rows.setdefault(digest.tobytes(), row)
                    files.add(path.name)
                except Exception as exc:  # noqa: BLE001 - a damaged chunk is dropped; its rows are recomputed
                    warnings.warn(f"feature cache: discarded {path} (could not be read: {type(exc).__name__}: {exc}); "
                                  "recomputing its features", RuntimeWarning, stacklevel=2)
                    path.unlink(missing_ok=True)
            if all(d in rows for d in digests):
                self.hits += 1
                return _stack(rows, digests)
            return self._compute_rows(rows, digests, compute, (folder, files))

    def _compute_rows(self, rows: dict[bytes, Tensor], digests: Sequence[bytes],
                      compute: Callable[[list[int] | None], Tensor], disk: tuple[Path, set[str]] | None) -> Tensor:
        self.misses += 1
        missing, seen = [], set()
        for i, d in enumerate(digests):
            if d not in rows and d not in seen:
                seen.add(d)
                missing.append(i)
        everything = len(seen) == len(set(digests))  # no row stored yet: the whole split, as per split
        value = compute(None if everything else missing).detach().cpu().contiguous()
        # the new rows, in the order of ``missing`` (an input repeated in the split keeps its first occurrence)
        new_rows = value[torch.tensor(missing)] if everything else value
        new_digests = [digests[i] for i in missing]
        for d, row in zip(new_digests, new_rows):
            rows[d] = row
        if disk is not None and new_digests:
            from safetensors.torch import save_file

            folder, files = disk
            name = f"chunk-{os.getpid()}-{hashlib.sha256(b''.join(new_digests)).hexdigest()[:16]}.safetensors"
            payload = {"digests": torch.tensor([list(d) for d in new_digests], dtype=torch.uint8),
                       "features": new_rows.contiguous()}
            tmp = folder / f".{name}.tmp"
            save_file(payload, str(tmp))
            os.replace(tmp, folder / name)  # atomic: readers never see half a chunk
            files.add(name)
        return value if everything else _stack(rows, digests)


def _stack(rows: dict[bytes, Tensor], digests: Sequence[bytes]) -> Tensor:
    return torch.stack([rows[d] for d in digests])


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
