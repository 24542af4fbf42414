"""One live run per run directory: an exclusive ``flock`` on ``<dir>/.mmbench-run.lock``.

A second ``mmbench run`` on the same directory would compute every cell again and overwrite the first
one's rows; it is refused with a message naming the other process. The lock belongs to the open file,
so the kernel drops it when its process ends in any way (``kill -9`` included): the file left behind is
harmless, and the next run takes the lock. Without ``fcntl`` (not POSIX) no lock is taken.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO, Any

LOCK_NAME = ".mmbench-run.lock"


class RunLockedError(RuntimeError):
    """Another live mmbench run holds this run directory."""


class RunLock:
    """``with RunLock(directory): ...`` — hold the run directory for this process."""

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / LOCK_NAME
        self._handle: IO[str] | None = None

    def __enter__(self) -> "RunLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _holder(handle.read())
            handle.close()
            raise RunLockedError(
                f"another mmbench run is using {str(self.path.parent)!r} ({holder}); running both would compute every "
                "cell twice. Wait for it to finish (or stop it), or give this run another --out directory") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                                 "command": " ".join(sys.argv)}))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._handle is not None:
            self._handle.close()  # closing releases the flock
            self._handle = None


def _holder(text: str) -> str:
    try:
        info = json.loads(text)
    except ValueError:
        return "process unknown"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    return f"pid {info.get('pid')} on {info.get('host')}, started {started}: {info.get('command', '')}".strip()
