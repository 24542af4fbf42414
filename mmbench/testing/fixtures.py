"""Test helpers for plugin authors: load plugins in isolation, check what they register, run a tiny grid.

In a plugin's ``conftest.py``::

    pytest_plugins = ["mmbench.testing.fixtures"]

gives the ``mmbench_plugins`` fixture; :func:`run_tiny_grid` and :func:`check_registered` are plain
functions (``from mmbench.testing import run_tiny_grid``). Without pytest (a dev dependency only) the
helpers still import and :func:`isolated_plugins` does what the fixture does, as a context manager.

- ``mmbench_plugins(*plugins, entry_points=(), strict=True)`` loads mmbench's built-ins plus only the
  given local plugins (``.py`` files or importable module names): ``MMBENCH_LOAD_PLUGINS`` is set empty so
  no installed ``mmbench-*`` package interferes (name the ones you want in ``entry_points``),
  ``MMBENCH_PLUGINS`` names the given plugins, and plugins are reloaded (:func:`mmbench.plugins.reset`)
  before and after the test. It returns a :class:`PluginSet` (the registries, the plugins' own entries and
  the problems found); ``strict`` raises :class:`PluginLoadError` on any plugin problem, and when a named
  plugin or entry point did not load (a misspelled entry-point name gets "did you mean").
- :func:`run_tiny_grid` runs :data:`TINY_GRID` (built-in ``pid-synthetic``, two epochs, one seed, CPU) with
  overrides, through :func:`mmbench.grid.runner.run_grid`, and returns its summary.

PYTEST_DONT_REWRITE (this module may be imported before pytest registers it as a plugin)
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from mmbench.plugins.registry import Entry, Registry

try:  # pytest is a dev dependency: the helpers below work without it, the fixture needs it
    import pytest
except ImportError:  # pragma: no cover - exercised only where pytest is absent
    pytest = None  # type: ignore[assignment]

#: The grid :func:`run_tiny_grid` starts from: 9 cells over the four families, seconds on a CPU.
TINY_GRID: dict[str, Any] = {
    "name": "tiny",
    "dataset": "pid-synthetic",
    "modalities": ["a", "b"],
    "tasks": ["redundant", "synergy"],
    "aligners": ["none"],
    "fusers": ["concat"],
    "weightings": ["ew"],
    "seeds": 1,
    "training": {"epochs": 2, "batch_size": 256, "patience": 2},
    "device": "cpu",
}

LOAD_ENV = "MMBENCH_LOAD_PLUGINS"
LOCAL_ENV = "MMBENCH_PLUGINS"


class PluginLoadError(AssertionError):
    """Plugins loaded with problems (failed imports, unknown hooks, bad metadata, name clashes...)."""


def _spec(plugin: str | os.PathLike[str]) -> str:
    """A local plugin as ``MMBENCH_PLUGINS`` takes it: a file as an absolute path, a module name as it is."""
    text = os.fspath(plugin)
    if isinstance(plugin, os.PathLike) or text.endswith(".py") or "/" in text or os.sep in text:
        return str(Path(text).expanduser().resolve())
    return text


@dataclass
class PluginSet:
    """What :func:`isolated_plugins` / the ``mmbench_plugins`` fixture loaded.

    ``registries``: every kind's registry (built-ins included); ``plugins``: the names of the plugins
    loaded besides the built-ins (a file's stem, a module's name, an entry point's name); ``problems``:
    everything reported while loading and registering (``errors``: the ones that stop ``mmbench run``).
    """

    registries: dict[str, Registry]
    plugins: tuple[str, ...]
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __getitem__(self, kind: str) -> Registry:
        return self.registries[kind]

    def get(self, kind: str, name: str) -> Entry:
        """The entry ``name`` (plain or ``plugin:name``) of ``kind``, e.g. ``get("fusers", "gated-sum")``."""
        return self.registries[kind].get(name)

    def entries(self, kind: str | None = None) -> list[Entry]:
        """The components the loaded plugins registered (built-ins left out), of one kind or of all."""
        kinds = [kind] if kind else list(self.registries)
        return [e for k in kinds for e in self.registries[k] if e.plugin in self.plugins]

    def check(self) -> None:
        """Run the contract check of its kind on every component the loaded plugins registered."""
        check_registered(self.entries())


def _load(specs: tuple[str, ...], entry_points: tuple[str, ...], strict: bool) -> PluginSet:
    from mmbench.plugins import manager

    registries = manager.get_registries()  # runs every registration hook, so their problems are reported
    names = tuple(p.name for p in manager.plugin_infos() if not p.builtin)
    loaded = PluginSet(registries, names, manager.problems(), manager.errors())
    missing = [f"plugin {s!r} was not loaded" for s in specs if not any(n in (s, Path(s).stem) for n in names)]
    missing += [_missing_entry_point(e) for e in entry_points if e not in names]
    if strict and (loaded.problems or missing):
        raise PluginLoadError("plugins loaded with problems (pass strict=False to inspect them):\n  - "
                              + "\n  - ".join(loaded.problems + missing))
    return loaded


def _missing_entry_point(name: str) -> str:
    """Why an entry point named in ``entry_points`` did not load: a failure (reported with the problems), or
    no such name in the group (a misspelling: did you mean)."""
    import difflib
    from importlib import metadata

    from mmbench.plugins.manager import ENTRY_POINT_GROUP

    installed = sorted({ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)})
    if name in installed:
        return f"entry point {name!r} did not load"
    close = difflib.get_close_matches(name, installed, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"installed: {', '.join(installed) or '(none)'}"
    return f"entry point {name!r} is not installed in group {ENTRY_POINT_GROUP!r}; {hint}"


@contextlib.contextmanager
def isolated_plugins(*plugins: str | os.PathLike[str], entry_points: Iterable[str] = (),
                     strict: bool = True) -> Iterator[PluginSet]:
    """Load the built-ins plus only ``plugins`` (files or module names) and the named ``entry_points``;
    restore the environment and reload plugins on exit. The same as the ``mmbench_plugins`` fixture."""
    from mmbench.plugins import reset

    saved = {k: os.environ.get(k) for k in (LOAD_ENV, LOCAL_ENV)}
    try:
        os.environ[LOAD_ENV] = ",".join(entry_points)
        os.environ[LOCAL_ENV] = ",".join(_spec(p) for p in plugins)
        reset()
        yield _load(tuple(_spec(p) for p in plugins), tuple(entry_points), strict)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset()


def run_tiny_grid(tmp_path: str | os.PathLike[str], *, raise_on_failure: bool = True, **grid_overrides: Any) -> Any:
    """Run :data:`TINY_GRID` updated with ``grid_overrides`` (top-level grid keys, e.g.
    ``fusers=["gated-sum"], families=["mt-cm"]``; ``training`` is merged key by key) in
    ``tmp_path/"tiny-run"`` with the feature cache in ``tmp_path/"feature-cache"``, and return the
    :class:`~mmbench.grid.runner.GridSummary`. Relative ``plugins:`` paths are read from ``tmp_path``.

    Plugins come from the environment (the ``mmbench_plugins`` fixture) or a ``plugins=[...]`` override;
    ``MMBENCH_PLUGINS`` is left as it was found. ``raise_on_failure``: raise ``AssertionError`` listing
    the failed cells instead of returning a summary with failures.
    """
    from mmbench.grid.config import parse_config
    from mmbench.grid.runner import run_grid
    from mmbench.plugins import reset

    base = Path(tmp_path)
    raw = {**TINY_GRID, **grid_overrides}
    raw["training"] = {**TINY_GRID["training"], **(grid_overrides.get("training") or {})}
    saved = os.environ.get(LOCAL_ENV)
    try:
        config = parse_config(raw, source="run_tiny_grid", base_dir=base)
        summary = run_grid(config, base / "tiny-run", cache_dir=str(base / "feature-cache"))
    finally:
        if os.environ.get(LOCAL_ENV) != saved:  # a plugins= override added some: forget them again
            if saved is None:
                os.environ.pop(LOCAL_ENV, None)
            else:
                os.environ[LOCAL_ENV] = saved
            reset()
    if raise_on_failure and summary.failed:
        raise AssertionError(f"{summary.failed} of {summary.total} cells failed:\n"
                             + "\n".join(f"  {label}: {error}" for label, error in summary.failures))
    return summary


#: decoded example values per modality kind (what a Split holds), for encoder and perturbation checks
def example_values(kind: str, n: int = 12) -> tuple[tuple[int, ...], Any]:
    """``(shape of one example, decoded values of n examples)`` for a modality kind."""
    import torch

    g = torch.Generator().manual_seed(0)
    if kind == "image":
        return (3, 8, 8), torch.rand(n, 3, 8, 8, generator=g)
    if kind == "tabular":
        return (5,), torch.randn(n, 5, generator=g)
    if kind == "audio":
        return (64,), torch.randn(n, 64, generator=g)
    if kind == "text":
        words = ["red", "green", "blue", "small", "large", "cat", "dog", "runs", "sleeps"]
        idx = torch.randint(len(words), (n, 4), generator=g).tolist()
        return (), [" ".join(words[i] for i in row) for row in idx]
    raise ValueError(f"no example values for modality kind {kind!r}")


def _kinds(entry: Entry) -> list[str]:
    declared = entry.metadata.get("modality")
    if declared is None:
        from mmbench.testing.common import ContractError

        raise ContractError(f"{entry.kind[:-1]} {entry.name!r} (plugin {entry.plugin!r}) has no modality= metadata; "
                            "register it with modality='image'|'text'|'tabular'|'audio', or call the check yourself")
    return list(declared) if isinstance(declared, (list, tuple)) else [declared]


def check_registered(entries: Entry | Iterable[Entry]) -> None:
    """Run the contract check of its kind on each registered component (a :class:`Registry`, an entry or
    entries), with each factory's default options: ``check_encoder`` on example values of each modality its
    ``modality`` metadata names, ``check_aligner``, ``check_fuser``, ``check_architecture``,
    ``check_weighting`` (with the registration's ``need``), ``check_perturbation``; a dataset is built and
    loaded through :func:`mmbench.data.loading.load`. Raises the check's error, naming the component."""
    from mmbench.components.base import ModalityInfo
    from mmbench.data.loading import load
    from mmbench.robustness.perturbations import check_perturbation
    from mmbench.testing.architectures import check_architecture
    from mmbench.testing.components import check_aligner, check_encoder, check_fuser
    from mmbench.testing.weightings import check_weighting

    for entry in [entries] if isinstance(entries, Entry) else list(entries):
        try:
            if entry.kind == "encoders":
                for kind in _kinds(entry):
                    shape, values = example_values(kind)
                    columns = (f"{kind}_column",)
                    check_encoder(entry.factory, ModalityInfo(f"example_{kind}", kind, shape, columns), values)
            elif entry.kind == "aligners":
                check_aligner(entry.factory)
            elif entry.kind == "fusers":
                check_fuser(entry.factory)
            elif entry.kind == "architectures":
                check_architecture(entry.factory)
            elif entry.kind == "weightings":
                check_weighting(entry.factory, declared_need=entry.metadata.get("need"))
            elif entry.kind == "perturbations":
                for kind in _kinds(entry):
                    check_perturbation(entry.create(), example_values(kind)[1])
            elif entry.kind == "datasets":
                load(entry.create())
        except Exception as exc:
            if hasattr(exc, "add_note"):  # Python 3.11+: the traceback names the component
                exc.add_note(f"while checking {entry.kind[:-1]} {entry.name!r} of plugin {entry.plugin!r}")
            raise


if pytest is not None:

    @pytest.fixture
    def mmbench_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
        """``mmbench_plugins(*plugins, entry_points=(), strict=True) -> PluginSet``: load mmbench's built-ins
        plus only these local plugins (``.py`` paths or module names) and the named entry points; plugins
        are reloaded before and after the test, and the environment is restored."""
        from mmbench.plugins import reset

        def load(*plugins: str | os.PathLike[str], entry_points: Iterable[str] = (), strict: bool = True) -> PluginSet:
            specs = tuple(_spec(p) for p in plugins)
            monkeypatch.setenv(LOAD_ENV, ",".join(entry_points))
            monkeypatch.setenv(LOCAL_ENV, ",".join(specs))
            reset()
            return _load(specs, tuple(entry_points), strict)

        monkeypatch.setenv(LOAD_ENV, "")
        monkeypatch.setenv(LOCAL_ENV, "")
        reset()
        yield load
        reset()  # monkeypatch restores the environment after this; the next use of plugins reloads them


__all__ = ["PluginLoadError", "PluginSet", "TINY_GRID", "check_registered", "example_values",
           "isolated_plugins", "run_tiny_grid"] + (["mmbench_plugins"] if pytest is not None else [])
