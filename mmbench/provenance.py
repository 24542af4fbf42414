"""What every result row records about where it came from: versions and device."""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata
from typing import Any

CORE_PACKAGES = ("mmbench", "torch", "timm", "sentence-transformers", "datasets", "torchjd", "transformers")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def _core_versions() -> dict[str, Any]:
    """Installed versions; mmbench's own is the running code's ``__version__`` (the same one built-in
    components' provenance records), not the installed metadata, which a stale editable install leaves
    behind (it said 0.1.0 after the bump to 0.2.0 until ``pip install -e .`` ran again)."""
    from mmbench import __version__

    return ({name: _version(name) for name in CORE_PACKAGES} | {"mmbench": __version__}
            | {"python": platform.python_version()})


def versions() -> dict[str, Any]:
    """Versions of mmbench, its core libraries, Python, and every loaded third-party or local plugin
    (a local plugin file's version is a hash of its code)."""
    from mmbench.plugins.manager import plugin_infos

    return dict(_core_versions()) | {"plugins": {p.name: p.version for p in plugin_infos() if not p.builtin}}


def device_description(device: Any) -> str:
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"


def resolve_device(name: str) -> Any:
    """``auto`` → CUDA when present, else CPU; ``cuda`` without a GPU is an error naming the fix."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was asked for but torch sees no CUDA GPU; use device: auto or cpu")
    return torch.device(name)
