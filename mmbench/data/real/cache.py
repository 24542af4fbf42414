"""Build a dataset from a package's files once, and cache it on disk keyed by those files' checksum.

The cache lives under ``$MMBENCH_DATASETS_DIR`` (default ``~/.cache/mmbench/datasets``): one
``save_to_disk`` folder per build, named ``<dataset>-<key>``, where the key hashes the dataset's name, its
builder's version, its options and the SHA-256 of every source file (:func:`sources_sha256`). Each folder
holds a README.md dataset card (licence, citation, sources and their checksum). A changed source file or
option gives a new folder; an interrupted build leaves only a temporary folder, never a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from mmbench.components.encoders.hub import file_sha256
from mmbench.data.errors import DatasetError

_SOURCES: dict[tuple[Any, ...], str] = {}


def datasets_dir() -> Path:
    """Where built datasets are cached: ``$MMBENCH_DATASETS_DIR`` or ``~/.cache/mmbench/datasets``."""
    return Path(os.environ.get("MMBENCH_DATASETS_DIR") or Path.home() / ".cache" / "mmbench" / "datasets")


def require_source(name: str, path: Path, install: str, option: str) -> Path:
    """``path`` if it exists; else a :class:`DatasetError` naming the command that installs it (or the option
    that points at a copy)."""
    if not path.exists():
        raise DatasetError(f"dataset {name!r} is built from {path}, which does not exist. Fix: install it with "
                           f"`{install}`, or point the dataset option `{option}` at a copy.")
    return path


def sources_sha256(files: Iterable[Path], root: Path) -> str:
    """SHA-256 over the files' paths (relative to ``root``) and contents, in sorted order.

    Hashed once: the result is remembered in this process and on disk (``sources-<key>.sha256`` under
    :func:`datasets_dir`, keyed by the files' paths, sizes and modification times), so a later process that
    finds the files unchanged only lists them.
    """
    files = sorted(Path(f) for f in files)
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    if stamp not in _SOURCES:
        memo = datasets_dir() / f"sources-{hashlib.sha256(repr(stamp).encode()).hexdigest()[:16]}.sha256"
        if memo.is_file():
            _SOURCES[stamp] = memo.read_text().strip()
        else:
            h = hashlib.sha256()
            for f in files:
                h.update(f"{f.relative_to(root).as_posix()}\0{file_sha256(f)}\n".encode())
            _SOURCES[stamp] = h.hexdigest()
            memo.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo.with_name(f"{memo.name}.tmp{os.getpid()}")
            tmp.write_text(_SOURCES[stamp])
            os.replace(tmp, memo)
    return _SOURCES[stamp]


def card(info: Mapping[str, Any], sources: str, checksum: str, options: Mapping[str, Any]) -> str:
    """A README.md dataset card: YAML header (licence, name) and what the dataset is, where it came from, how
    to cite it."""
    return (f"---\nlicense: other\nlicense_name: {json.dumps(info['license'])}\npretty_name: {info['name']}\n---\n\n"
            f"# {info['name']}\n\n{info['description']}\n\n"
            f"- Built by mmbench from {sources} (SHA-256 of the source files: {checksum}).\n"
            f"- Options: {json.dumps(dict(options), sort_keys=True, default=str)}\n"
            f"- Licence: {info['license']}\n- Reference: {info['reference']}\n\n"
            f"## Citation\n\n```bibtex\n{info['citation']}\n```\n")


def cached(name: str, key: Mapping[str, Any], build: Callable[[], Any], readme: str) -> Any:
    """The ``datasets`` object ``build()`` returns, saved once under :func:`datasets_dir` and loaded from there
    (memory-mapped) on every call with the same ``key``."""
    import datasets

    digest = hashlib.sha256(json.dumps({"name": name, **key}, sort_keys=True, default=str).encode()).hexdigest()[:16]
    folder = datasets_dir() / f"{name}-{digest}"
    if not (folder / "README.md").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        built = build()
        quiet = not datasets.utils.are_progress_bars_disabled()
        if quiet:
            datasets.disable_progress_bars()
        try:
            built.save_to_disk(str(tmp))
        finally:
            if quiet:
                datasets.enable_progress_bars()
        (tmp / "README.md").write_text(readme, encoding="utf-8")  # written last: it marks a complete build
        try:
            os.replace(tmp, folder)
        except OSError:  # another process finished the same build first
            shutil.rmtree(tmp, ignore_errors=True)
    return datasets.load_from_disk(str(folder))
