"""Checks of the metadata a plugin passes to ``register(name, factory, **metadata)``, at registration.

- ``need`` (weightings, optional): one of ``losses``, ``param_jacobian``, ``repr_jacobian``. The class
  attribute ``need`` (``mmbench.Need``) is the declaration; given here it must agree with it (checked
  when the grid builds the component, :func:`mmbench.components.checks.weighting_need_problem`).
- ``modality``: a modality kind (``image``, ``text``, ``tabular``, ``audio``); encoders may give a list of
  the kinds they accept.
- ``search_space``: ``{option: {"low": a, "high": b[, "log": true][, "int": true]} | {"choices": [...]}}``,
  either with ``"per_task": true`` for an option taking one value per task (a list); read by tuning
  (``docs/grids.md``).
"""

from __future__ import annotations

from typing import Any

from mmbench.vocabulary import MODALITY_KINDS

NEEDS = ("losses", "param_jacobian", "repr_jacobian")


def check_search_space(space: Any, where: str = "search_space") -> str | None:
    """``None`` when ``space`` is a valid search space, else what is wrong with it."""
    if not isinstance(space, dict):
        return f"{where} must be a mapping of option name -> range, got {type(space).__name__}"
    for option, spec in space.items():
        if not isinstance(spec, dict):
            return f"{where}[{option!r}] must be {{low:, high:[, log:][, int:]}} or {{choices: [...]}}, got {spec!r}"
        if not isinstance(spec.get("per_task", False), bool):
            return f"{where}[{option!r}]: per_task must be true or false, got {spec['per_task']!r}"
        if "choices" in spec:
            if set(spec) - {"per_task"} != {"choices"} or not isinstance(spec["choices"], list) or not spec["choices"]:
                return f"{where}[{option!r}]: `choices` must be a non-empty list and come alone (per_task aside)"
            continue
        unknown = set(spec) - {"low", "high", "log", "int", "per_task"}
        if unknown:
            return f"{where}[{option!r}]: unknown key(s) {sorted(unknown)}; use low, high, log, int, per_task (or choices)"
        low, high = spec.get("low"), spec.get("high")
        if not isinstance(low, (int, float)) or not isinstance(high, (int, float)) or isinstance(low, bool) or not low < high:
            return f"{where}[{option!r}]: needs numbers low < high, got low={low!r}, high={high!r}"
        if spec.get("log") and low <= 0:
            return f"{where}[{option!r}]: a log range needs low > 0, got {low!r}"
    return None


def check_metadata(kind: str, meta: dict[str, Any]) -> str | None:
    """``None`` when the registration metadata of a ``kind`` component is valid, else the problem."""
    need = meta.get("need")
    if kind == "weightings" and need is not None and need not in NEEDS:
        return f"need={need!r} is not one of {', '.join(NEEDS)}"
    modality = meta.get("modality")
    if kind == "perturbations" and modality is not None and not isinstance(modality, str):
        return f"modality={modality!r}: a perturbation acts on one modality kind; give one string (register one per kind)"
    if kind in ("encoders", "perturbations") and modality is not None:
        kinds = modality if isinstance(modality, (list, tuple)) else [modality]
        bad = [k for k in kinds if k not in MODALITY_KINDS]
        if bad:
            return f"modality={modality!r}: {bad[0]!r} is not one of {', '.join(MODALITY_KINDS)}"
    if "search_space" in meta:
        return check_search_space(meta["search_space"])
    return None
