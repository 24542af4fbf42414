"""Peak memory of one cell: CUDA's max allocated, or the process's peak resident set on CPU.

On Linux the CPU peak is reset per cell (writing ``5`` to ``/proc/self/clear_refs`` resets ``VmHWM``),
so it is the cell's own peak; elsewhere it falls back to the process lifetime peak (``ru_maxrss``).
"""

from __future__ import annotations

import resource
from pathlib import Path

import torch

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def reset_peak(device: torch.device) -> str:
    """Start a new peak; returns how the peak will be measured."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return "cuda_max_allocated"
    try:
        _CLEAR_REFS.write_text("5")
        return "cell_peak_rss"
    except OSError:
        return "process_peak_rss"


def peak_mb(device: torch.device, kind: str) -> float:
    if kind == "cuda_max_allocated":
        return torch.cuda.max_memory_allocated(device) / 2**20
    if kind == "cell_peak_rss":
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
