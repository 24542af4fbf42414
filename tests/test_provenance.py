"""The versions every result row records: mmbench's is the running code's, as built-in components' is."""

from __future__ import annotations

import mmbench
from mmbench.plugins.manager import plugin_infos
from mmbench.provenance import versions


def test_mmbench_version_is_the_running_codes(monkeypatch) -> None:
    from mmbench import provenance

    provenance._core_versions.cache_clear()
    monkeypatch.setattr(provenance, "_version", lambda dist: "0.0.1-stale-metadata")
    try:
        recorded = versions()
        assert recorded["mmbench"] == mmbench.__version__  # not what a stale editable install's metadata says
        assert recorded["torch"] == "0.0.1-stale-metadata"  # other packages: their installed metadata
        builtin = next(p for p in plugin_infos() if p.builtin)
        assert builtin.version == recorded["mmbench"]
    finally:
        provenance._core_versions.cache_clear()
