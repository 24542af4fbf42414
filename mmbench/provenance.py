"""What every result row records about where it came from: versions, device, and what produced each
component and the data.

A cell's *provenance* (``docs/grids.md``, "Cell identity and stale results") names, per component,
:func:`provider` — the plugin's distribution and version plus the digest of the module that defines the
component — and, for the dataset, :func:`dataset_identity` — its data fingerprint, never its plugin's
version. :func:`defined_at` says where a component's class lives, for messages that blame it.
"""

from __future__ import annotations

import importlib.util
import inspect
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmbench.plugins.registry import Entry

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


def provider(entry: Entry) -> str:
    """What produced a component: ``mmbench 0.2.0 image.py@sha256:…`` (a built-in), ``mmbench-example 0.1.0
    fusers.py@sha256:…`` (an installed package) or ``my_methods sha256:…`` (a local plugin file, whose version
    is already the digest of its code).

    An installed component names its distribution's version *and* the digest of the module that defines it
    (:func:`mmbench.plugins.manager.file_version`: the syntax tree without docstrings), so an edit to that
    module makes exactly its components' results stale — in an editable install, whose version only
    changes at the next ``pip install -e``, too. The version stands for what the digest cannot see (shared
    helpers, dependencies): bumping it makes every component of the package stale."""
    from mmbench.plugins.manager import file_version, plugin_info

    info = plugin_info(entry.plugin)
    if info is None:
        return f"{entry.plugin} unknown"
    made = f"{info.distribution or info.name} {info.version}"
    if info.distribution is None:  # a local file or module: its version is the digest of its code
        return made
    source = defining_file(entry.factory)
    try:
        return f"{made} {source.name}@{file_version(source)}" if source is not None else made
    except OSError:  # not a readable file (a zip install): the version alone
        return made


def defining_file(factory: object) -> Path | None:
    """The source file of a factory (a :func:`~mmbench.plugins.registry.lazy` one's target module is found
    without importing it)."""
    target = getattr(factory, "__mmbench_target__", None)
    try:
        if target is not None:
            spec = importlib.util.find_spec(target.partition(":")[0])
            origin = spec.origin if spec is not None else None
        else:
            origin = inspect.getsourcefile(factory)  # type: ignore[arg-type]
    except (TypeError, ImportError, ValueError):
        return None
    return Path(origin) if origin and origin.endswith(".py") else None


def defined_at(obj: object) -> str:
    """``/path/to/file.py:12``: where a component's class (or a factory function) is defined, for messages
    that blame it; the class of an instance is looked up. ``<unknown>`` when inspect cannot tell."""
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    try:
        return f"{inspect.getsourcefile(target)}:{inspect.getsourcelines(target)[1]}"  # type: ignore[arg-type]
    except (TypeError, OSError):
        return "<unknown>"


def dataset_identity(data: Any) -> str:
    """``data sha256:<12 hex>``: a loaded dataset's (:class:`~mmbench.data.spec.LoadedDataset`) part of a cell's provenance — its data fingerprint
    (:func:`mmbench.data.loading.fingerprint`: the decoded content and the spec's column mapping and splits),
    not the version of the plugin that registered it. New data makes every cell on it stale; a new version
    of a package that also registers components does not."""
    return f"data sha256:{data.fingerprint[:12]}"


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
