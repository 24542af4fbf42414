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


def test_a_builtin_components_provenance_names_the_digest_of_its_module(tmp_path, monkeypatch) -> None:
    """Editing a built-in between releases (same mmbench version) must make its stored results stale."""
    import hashlib
    import importlib.util

    from mmbench.grid.cells import defining_file, provider
    from mmbench.plugins import get_registry
    from mmbench.plugins.registry import Entry, lazy

    entry = get_registry("encoders").get("cnn")
    image = importlib.util.find_spec("mmbench.components.encoders.image").origin
    digest = hashlib.sha256(open(image, "rb").read()).hexdigest()[:12]
    assert provider(entry) == f"mmbench {mmbench.__version__} image.py@sha256:{digest}"
    # the same factory defined in an edited copy of the module: another provenance
    module = tmp_path / "edited_image.py"
    module.write_text(open(image).read() + "\n# edited\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    edited = Entry(entry.kind, entry.name, lazy("edited_image:SmallCNN"), entry.plugin)
    assert defining_file(edited.factory) == module
    assert provider(edited) != provider(entry) and provider(edited).startswith(f"mmbench {mmbench.__version__} edited_image.py@")
