"""Grid configs: YAML in, a validated :class:`GridConfig` out, with clear errors for bad input."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mmbench.plugins.choice import ComponentChoice

FAMILIES = ("st-sm", "st-cm", "mt-sm", "mt-cm")
FAMILY_TITLES = {
    "st-sm": "single-task, single-modal",
    "st-cm": "single-task, cross-modal",
    "mt-sm": "multitask, single-modal",
    "mt-cm": "multitask, cross-modal",
}

#: chosen so the built-in grids converge untuned: ``epochs`` is a cap, early stopping ends runs first
#: (``docs/grids.md`` has the measured figures, ``scripts/defaults_check.py`` reproduces them)
DEFAULT_TRAINING: dict[str, Any] = {
    "epochs": 100,
    "batch_size": 64,
    "optimizer": "adam",
    "lr": 1e-2,
    "weight_decay": 0.0,
    "patience": 10,
    "trunk_dim": 64,
    "align_weight": 1.0,
    "amp": False,
    "grad_clip": 0.0,
}
OPTIMIZERS = ("adam", "adamw", "sgd")
TOP_KEYS = ("name", "dataset", "modalities", "tasks", "encoders", "aligners", "fusers", "architectures", "weightings",
            "seeds", "families", "training", "device", "robustness", "tuning", "split_seeds", "plugins")


class GridConfigError(ValueError):
    """A grid config that cannot run; the message names the key and the fix."""


def parse_choice(raw: Any, where: str) -> ComponentChoice:
    """A component name, or ``{name: ..., option: value}``, as written in a grid config."""
    if isinstance(raw, str):
        return ComponentChoice(raw, (), ())
    if isinstance(raw, dict) and isinstance(raw.get("name"), str):
        opts = {k: v for k, v in raw.items() if k != "name"}
        return ComponentChoice(raw["name"], tuple(sorted(opts.items())), tuple(sorted(opts)))
    raise GridConfigError(f"{where}: expected a component name or {{name: ..., option: value}}, got {raw!r}")


@dataclass
class GridConfig:
    """A validated grid: what to cross and how to train. See ``docs/grids.md``."""

    name: str
    dataset: Any  # registered name or an embedded spec dict
    modalities: list[str] | None
    tasks: list[str] | None
    encoders: dict[str, list[ComponentChoice]]
    aligners: list[ComponentChoice]
    fusers: list[ComponentChoice]
    weightings: list[ComponentChoice]
    seeds: list[int]
    families: list[str]
    training: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_TRAINING))
    device: str = "auto"
    robustness: dict[str, Any] | None = None
    #: how tasks share parameters in multitask cells (single-task cells always use hard sharing)
    architectures: list[ComponentChoice] = field(default_factory=lambda: [ComponentChoice("hps", (), ())])
    #: the tuning protocol (``mmbench.grid.tuning_spec.TuningSpec``), or None: every cell trains as configured
    tuning: Any = None
    #: redraw a built-in dataset's split (and a carved validation split) per seed
    split_seeds: bool = False
    #: local plugins (``.py`` files, absolute, or importable modules) loaded before the components resolve
    plugins: list[str] = field(default_factory=list)


def _close(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; valid: {', '.join(options)}"


def _list(raw: Any, key: str) -> list[Any]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, (list, tuple)) else [raw]


def parse_config(raw: dict[str, Any], source: str = "grid config", base_dir: str | Path | None = None) -> GridConfig:
    """Validate a grid config dict (as loaded from YAML). Component names are checked later, against
    the registries, by :func:`mmbench.grid.cells.expand`."""
    if not isinstance(raw, dict):
        raise GridConfigError(f"{source}: the top level must be a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in TOP_KEYS:
            raise GridConfigError(f"{source}: unknown key {key!r}{_close(key, TOP_KEYS)}")
    training = dict(DEFAULT_TRAINING)
    for key, value in (raw.get("training") or {}).items():
        if key not in DEFAULT_TRAINING:
            raise GridConfigError(f"{source}: unknown training setting {key!r}{_close(key, tuple(DEFAULT_TRAINING))}")
        training[key] = value
    if training["optimizer"] not in OPTIMIZERS:
        raise GridConfigError(f"{source}: training.optimizer {training['optimizer']!r}{_close(training['optimizer'], OPTIMIZERS)}")
    for key in ("epochs", "batch_size", "patience"):
        if not isinstance(training[key], int) or isinstance(training[key], bool) or training[key] < 1:
            raise GridConfigError(f"{source}: training.{key} must be a positive integer, got {training[key]!r}")
    for key in ("lr", "weight_decay", "align_weight", "grad_clip"):
        if not isinstance(training[key], (int, float)) or isinstance(training[key], bool) or training[key] < 0:
            raise GridConfigError(f"{source}: training.{key} must be a non-negative number, got {training[key]!r}")
    seeds_raw = raw.get("seeds", 3)
    seeds = list(range(seeds_raw)) if isinstance(seeds_raw, int) else [int(s) for s in _list(seeds_raw, "seeds")]
    if not seeds:
        raise GridConfigError(f"{source}: seeds must be a count (e.g. 3) or a non-empty list")
    families = _list(raw.get("families"), "families") or list(FAMILIES)
    for fam in families:
        if fam not in FAMILIES:
            raise GridConfigError(f"{source}: unknown family {fam!r}{_close(str(fam), FAMILIES)}")
    device = raw.get("device", "auto")
    if device not in ("auto", "cpu", "cuda") and not str(device).startswith("cuda:"):
        raise GridConfigError(f"{source}: device must be auto, cpu or cuda, got {device!r}")
    encoders_raw = raw.get("encoders") or {}
    if not isinstance(encoders_raw, dict):
        raise GridConfigError(f"{source}: encoders must map modality names to encoder choices")
    dataset = raw.get("dataset", "digits")
    if not isinstance(dataset, (str, dict)):
        raise GridConfigError(f"{source}: dataset must be a registered name or an embedded spec mapping")
    robustness = raw.get("robustness")
    if robustness is True:
        robustness = {}
    if robustness is False:
        robustness = None
    if robustness is not None and not isinstance(robustness, dict):
        raise GridConfigError(f"{source}: robustness must be true, false or a mapping of settings (docs/robustness.md)")
    if robustness is not None:
        from mmbench.robustness.settings import RobustnessSettingsError, parse_settings

        try:
            parse_settings(robustness)  # fail before any training, not after it
        except RobustnessSettingsError as exc:
            raise GridConfigError(f"{source}: {exc}") from None
    tuning = None
    if raw.get("tuning") not in (None, False):
        from mmbench.grid.tuning_spec import TuningSpecError, parse_tuning

        try:
            tuning = parse_tuning(raw["tuning"], training)
        except TuningSpecError as exc:
            raise GridConfigError(f"{source}: {exc}") from None
    split_seeds = raw.get("split_seeds", False)
    if not isinstance(split_seeds, bool):
        raise GridConfigError(f"{source}: split_seeds must be true or false, got {split_seeds!r}")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    plugins = []
    for spec in _list(raw.get("plugins"), "plugins"):
        if not isinstance(spec, str) or not spec:
            raise GridConfigError(f"{source}: plugins must be a list of .py files or module names, got {spec!r}")
        if spec.endswith(".py") or "/" in spec:
            path = (base / spec).resolve()
            if not path.is_file():
                raise GridConfigError(f"{source}: plugin file {spec!r} does not exist (looked for {str(path)!r})")
            spec = str(path)
        plugins.append(spec)
    return GridConfig(
        name=str(raw.get("name") or _dataset_label(dataset)),
        dataset=dataset,
        modalities=[str(m) for m in _list(raw.get("modalities"), "modalities")] or None,
        tasks=[str(t) for t in _list(raw.get("tasks"), "tasks")] or None,
        encoders={m: [parse_choice(c, f"{source}: encoders.{m}") for c in _list(v, m)] for m, v in encoders_raw.items()},
        aligners=[parse_choice(c, f"{source}: aligners") for c in _list(raw.get("aligners", ["none"]), "aligners")],
        fusers=[parse_choice(c, f"{source}: fusers") for c in _list(raw.get("fusers", ["concat"]), "fusers")],
        weightings=[parse_choice(c, f"{source}: weightings") for c in _list(raw.get("weightings", ["ew"]), "weightings")],
        seeds=seeds,
        families=families,
        training=training,
        device=str(device),
        robustness=robustness,
        architectures=[parse_choice(c, f"{source}: architectures") for c in _list(raw.get("architectures", ["hps"]), "architectures")],
        tuning=tuning,
        split_seeds=split_seeds,
        plugins=plugins,
    )


def _dataset_label(dataset: Any) -> str:
    """A registered name, or an embedded spec's ``name`` — else its source's last path part, as the spec does."""
    if isinstance(dataset, str):
        return Path(dataset).stem if dataset.endswith((".yaml", ".yml")) else dataset
    if dataset.get("name"):
        return str(dataset["name"])
    source = dataset.get("source")
    return Path(str(source)).name if source else "custom"


def load_config(path: str | Path) -> GridConfig:
    """Read and validate a YAML grid config."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise GridConfigError(f"grid config {str(path)!r} does not exist") from None
    except yaml.YAMLError as exc:
        raise GridConfigError(f"grid config {str(path)!r} is not valid YAML: {exc}") from None
    return parse_config(raw or {}, source=str(path), base_dir=path.parent)


def default_config_path() -> Path:
    """The built-in default grid (``digits``, image + text)."""
    return Path(__file__).with_name("default.yaml")
