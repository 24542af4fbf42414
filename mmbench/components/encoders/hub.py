"""Offline-aware access to pretrained weights: fail fast, with the fix, instead of retrying downloads.

Weights come from the Hugging Face hub (or a URL) unless they are already in a local cache or file.
Rather than let a download retry for a minute, encoders call :func:`require_hub` first: it fails at
once, with the fix, when the hub is switched off (``HF_HUB_OFFLINE=1``) or cannot be reached.
Weights bundled in pip packages (MiniLM, :mod:`~mmbench.components.encoders.bundled`) are checked against
their official SHA-256 by :func:`verify_sha256`.
"""

from __future__ import annotations

import hashlib
import os
import socket
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

#: seconds to wait for a TCP connection to the hub before calling it unreachable
CONNECT_TIMEOUT_S = 3.0

_TRUE = {"1", "true", "yes", "on"}


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are neither cached locally nor downloadable right now."""


class ModelIntegrityError(RuntimeError):
    """Bundled weights differ from the official files they claim to be."""


_VERIFIED: dict[tuple[str, int, int], str] = {}


def offline_mode() -> bool:
    """True when the environment switches the Hugging Face hub off (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(var, "").strip().lower() in _TRUE for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


@lru_cache(maxsize=16)
def _can_connect(url: str, proxy: str | None) -> bool:
    target = urlparse(proxy or url)
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        with socket.create_connection((target.hostname or "", port), timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def reachable(url: str) -> bool:
    """Whether a TCP connection to ``url``'s host (or the configured HTTPS proxy) opens within the timeout."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    return _can_connect(url, proxy or None)


def require_hub(what: str, url: str | None = None, local_fix: str = "") -> None:
    """Raise :class:`WeightsUnavailableError` at once when ``what`` would have to be downloaded but cannot be."""
    url = url or hub_endpoint()
    if offline_mode():
        reason = "HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set and they are not in the local cache"
    elif not reachable(url):
        reason = f"{urlparse(url).hostname} cannot be reached (no network?) and they are not in the local cache"
    else:
        return
    fix = "connect to the network" + (" and unset HF_HUB_OFFLINE" if offline_mode() else "")
    raise WeightsUnavailableError(
        f"cannot load pretrained weights for {what}: {reason}. Fix: {fix} to download them once into the "
        f"cache{', or ' + local_fix if local_fix else ''}."
    )


def hf_cached(repo_id: str, filenames: tuple[str, ...], revision: str | None = None) -> bool:
    """Whether one of ``filenames`` of hub repo ``repo_id`` is already in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename, revision=revision)
        if isinstance(found, str) and os.path.exists(found):
            return True
    return False


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: str | os.PathLike[str], expected: str, what: str, fix: str) -> str:
    """Check that the file at ``path`` is ``what`` (its SHA-256 is ``expected``) and return the digest; raise
    :class:`ModelIntegrityError` naming the file, both digests and ``fix`` otherwise.

    Each file's digest is remembered per process (keyed by path, size and modification time), so bundled
    weights are hashed once however many encoders load them.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelIntegrityError(f"{path} is missing ({what}). Fix: {fix}")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = file_sha256(path)
    digest = _VERIFIED[key]
    if digest != expected:
        raise ModelIntegrityError(f"{path} has SHA-256 {digest}, not {what} ({expected}). The copy is damaged "
                                  f"or not that model. Fix: {fix}")
    return digest
