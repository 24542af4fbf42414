"""Grid configs: YAML in, a validated :class:`GridConfig` out, with clear errors for bad input."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mmbench.plugins.choice import ComponentChoice
from mmbench.vocabulary import FAMILIES

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
            "seeds", "families", "training", "device", "robustness", "tuning", "split_seeds", "plugins", "claims")


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
    #: the declared families of claims (``mmbench.grid.claims_spec.ClaimsSpec``), stored in the run's meta
    claims: Any = None


def _close(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; valid: {', '.join(options)}"


def _list(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, (list, tuple)) else [raw]


def parse_config(raw: dict[str, Any], source: str = "grid config", base_dir: str | Path | None = None) -> GridConfig:
    """Validate a grid config dict (as loaded from YAML), reporting every problem found in one
    :class:`GridConfigError` (two typos need one run, not two). Component names are checked later, against
    the registries, by :func:`mmbench.grid.cells.expand` (which reports all of its problems together too)."""
    if not isinstance(raw, dict):
        raise GridConfigError(f"{source}: the top level must be a mapping, got {type(raw).__name__}")
    problems: list[str] = [f"unknown key {key!r}{_close(key, TOP_KEYS)}" for key in raw if key not in TOP_KEYS]
    training = dict(DEFAULT_TRAINING)
    training_raw = raw.get("training") or {}
    if not isinstance(training_raw, dict):
        problems.append(f"training must be a mapping of settings, got {training_raw!r}")
        training_raw = {}
    for key, value in training_raw.items():
        if key not in DEFAULT_TRAINING:
            problems.append(f"unknown training setting {key!r}{_close(key, tuple(DEFAULT_TRAINING))}")
        else:
            training[key] = value
    if training["optimizer"] not in OPTIMIZERS:
        problems.append(f"training.optimizer {training['optimizer']!r}{_close(str(training['optimizer']), OPTIMIZERS)}")
    for key in ("epochs", "batch_size", "patience"):
        if not isinstance(training[key], int) or isinstance(training[key], bool) or training[key] < 1:
            problems.append(f"training.{key} must be a positive integer, got {training[key]!r}")
    for key in ("lr", "weight_decay", "align_weight", "grad_clip"):
        if not isinstance(training[key], (int, float)) or isinstance(training[key], bool) or training[key] < 0:
            problems.append(f"training.{key} must be a non-negative number, got {training[key]!r}")
    seeds_raw = raw.get("seeds", 3)
    try:
        seeds = list(range(seeds_raw)) if isinstance(seeds_raw, int) else [int(s) for s in _list(seeds_raw)]
    except (TypeError, ValueError):
        seeds = []
    if not seeds:
        problems.append(f"seeds must be a count (e.g. 3) or a non-empty list of integers, got {seeds_raw!r}")
    families = _list(raw.get("families")) or list(FAMILIES)
    problems += [f"unknown family {fam!r}{_close(str(fam), FAMILIES)}" for fam in families if fam not in FAMILIES]
    device = raw.get("device", "auto")
    if device not in ("auto", "cpu", "cuda") and not str(device).startswith("cuda:"):
        problems.append(f"device must be auto, cpu or cuda, got {device!r}")
    encoders_raw = raw.get("encoders") or {}
    if not isinstance(encoders_raw, dict):
        problems.append("encoders must map modality names to encoder choices")
        encoders_raw = {}
    dataset = raw.get("dataset", "digits")
    if not isinstance(dataset, (str, dict)):
        problems.append("dataset must be a registered name or an embedded spec mapping")
        dataset = "digits"
    robustness = raw.get("robustness")
    if robustness is True:
        robustness = {}
    if robustness is False:
        robustness = None
    if robustness is not None and not isinstance(robustness, dict):
        problems.append("robustness must be true, false or a mapping of settings (docs/robustness.md)")
    elif robustness is not None:
        from mmbench.robustness.settings import RobustnessSettingsError, parse_settings

        try:
            parse_settings(robustness)  # fail before any training, not after it
        except RobustnessSettingsError as exc:
            problems.append(str(exc))
    tuning = None
    if raw.get("tuning") not in (None, False):
        from mmbench.grid.tuning_spec import TuningSpecError, parse_tuning

        try:
            tuning = parse_tuning(raw["tuning"])
        except TuningSpecError as exc:
            problems.append(str(exc))
    split_seeds = raw.get("split_seeds", False)
    if not isinstance(split_seeds, bool):
        problems.append(f"split_seeds must be true or false, got {split_seeds!r}")
    from mmbench.grid.claims_spec import ClaimsSpecError, parse_claims

    claims = None
    try:
        claims = parse_claims(raw.get("claims"))
    except ClaimsSpecError as exc:
        problems.append(str(exc))
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    plugins = []
    for spec in _list(raw.get("plugins")):
        if not isinstance(spec, str) or not spec:
            problems.append(f"plugins must be a list of .py files or module names, got {spec!r}")
            continue
        if spec.endswith(".py") or "/" in spec:
            path = (base / spec).resolve()
            if not path.is_file():
                problems.append(f"plugin file {spec!r} does not exist (looked for {str(path)!r})")
            spec = str(path)
        plugins.append(spec)

    def choices(value: Any, where: str) -> list[ComponentChoice]:
        out = []
        for c in _list(value):
            try:
                out.append(parse_choice(c, where))
            except GridConfigError as exc:
                problems.append(str(exc))
        return out

    encoders = {m: choices(v, f"encoders.{m}") for m, v in encoders_raw.items()}
    aligners, fusers = choices(raw.get("aligners", ["none"]), "aligners"), choices(raw.get("fusers", ["concat"]), "fusers")
    weightings = choices(raw.get("weightings", ["ew"]), "weightings")
    architectures = choices(raw.get("architectures", ["hps"]), "architectures")
    if problems:
        raise GridConfigError(f"{source}: {problems[0]}" if len(problems) == 1 else
                              f"{source}: {len(problems)} problems:\n  - " + "\n  - ".join(problems))
    return GridConfig(
        name=str(raw.get("name") or dataset_label(dataset)),
        dataset=dataset,
        modalities=[str(m) for m in _list(raw.get("modalities"))] or None,
        tasks=[str(t) for t in _list(raw.get("tasks"))] or None,
        encoders=encoders,
        aligners=aligners,
        fusers=fusers,
        weightings=weightings,
        seeds=seeds,
        families=families,
        training=training,
        device=str(device),
        robustness=robustness,
        architectures=architectures,
        tuning=tuning,
        split_seeds=split_seeds,
        plugins=plugins,
        claims=claims,
    )


def dataset_label(dataset: Any) -> str:
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
