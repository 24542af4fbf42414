"""The versions every result row records: mmbench's is the running code's, as built-in components' is."""

from __future__ import annotations

from pathlib import Path

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
    """Editing a built-in between releases (same mmbench version) must make its stored results stale;
    editing only its comments or docstrings must not."""
    import importlib.util

    from mmbench.provenance import defining_file, provider
    from mmbench.plugins import get_registry
    from mmbench.plugins.manager import file_version
    from mmbench.plugins.registry import Entry, lazy

    entry = get_registry("encoders").get("cnn")
    image = Path(importlib.util.find_spec("mmbench.components.encoders.image").origin)
    assert provider(entry) == f"mmbench {mmbench.__version__} image.py@{file_version(image)}"
    source = image.read_text()
    monkeypatch.syspath_prepend(str(tmp_path))
    digests = {}
    for name, text in (("same", source), ("commented", "# a new comment\n" + source.replace('"""Two 3×3', '"""Now two 3×3')),
                       ("edited", source.replace("nn.BatchNorm2d(b), nn.ReLU()", "nn.BatchNorm2d(b), nn.GELU()"))):
        assert text != source or name == "same"
        package = tmp_path / f"pkg_{name}"  # a copy under the same file name, in another package
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "image.py").write_text(text)
        copy = Entry(entry.kind, entry.name, lazy(f"pkg_{name}.image:SmallCNN"), entry.plugin)
        assert defining_file(copy.factory) == package / "image.py"
        digests[name] = provider(copy)
    assert digests["same"] == digests["commented"] == provider(entry)
    assert digests["edited"] != provider(entry) and digests["edited"].startswith(f"mmbench {mmbench.__version__} image.py@sha256:")
