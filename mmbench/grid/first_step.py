"""One training step of a configuration on a tiny batch of the grid's own data, before any cell trains.

The preflight (:mod:`mmbench.grid.preflight`) runs it once per distinct configuration, on the CPU, through
the trainer's own code (:func:`~mmbench.train.cell_runner.build_model`, the model's forward pass,
:func:`~mmbench.train.loop.losses_of`, :func:`~mmbench.train.step.backward` with its finiteness checks), so
what would fail a cell's first step fails here in seconds. Each component's output is checked against its
contract as it is produced — before the next component would fail on it and take the blame:

- an encoder's features ``[B, out_dim]`` (a frozen encoder is stood in for by random features of its
  ``out_dim``: its weights are never loaded here; a trainable one is fitted on the batch);
- an aligner's :class:`~mmbench.components.base.AlignerOutput`: every modality at ``out_dims[m]``, and a
  0-dim loss or ``None``;
- an early fuser's ``[B, out_dim]``; a late fuser's combined predictions ``[B, classes]``;
- an architecture's representation per task ``[B, out_dim]``;
- every output finite; then the weighting's objective, task weights and update (the trainer's checks).

The same rules, on synthetic inputs and in more situations (two and three modalities, dtype moves,
determinism), are the contract checks of :mod:`mmbench.testing`. A broken rule — or any error a component
raises — becomes a :class:`StepProblem` holding the component behind it.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import Tensor

from mmbench.components.base import Aligner, AlignerOutput, Architecture, ArchitectureOutput, Encoder, Fuser, Weighting
from mmbench.data.spec import LoadedDataset
from mmbench.train.cell import Cell

#: training rows the step runs on
BATCH = 16


class StepProblem(RuntimeError):
    """A component broke its contract on the tiny batch; ``component`` is the instance, ``slot`` its place in
    the cell (``encoders.<modality>``, ``aligner``, ``fuser``, ``architecture``, ``weighting``)."""

    def __init__(self, slot: str, component: Any, message: str):
        super().__init__(message)
        self.slot, self.component = slot, component


def _shape(value: Any) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, Tensor) else None


def _tensor_problem(value: Any, expected: tuple[int, ...], what: str) -> str | None:
    from mmbench.train.step import all_finite

    if not isinstance(value, Tensor):
        return f"{what} is a {type(value).__name__}, not a tensor {list(expected)}"
    if _shape(value) != expected:
        return (f"{what} has shape {list(value.shape)}, expected {list(expected)}; set out_dim (out_dims) to the "
                "width forward really returns")
    if not all_finite(value):
        return f"{what} holds non-finite values on a batch of the grid's training data"
    return None


def _width(component: Any, slot: str, attribute: str = "out_dim") -> int:
    value = getattr(component, attribute, None)
    if not isinstance(value, int) or isinstance(value, bool):
        raise StepProblem(slot, component, f"{type(component).__name__} has no integer {attribute} "
                          f"(it is {value!r}); set self.{attribute} in __init__ to the width forward returns")
    return value


def _slot(component: Any) -> str:
    for base, slot in ((Encoder, "encoders"), (Aligner, "aligner"), (Fuser, "fuser"), (Architecture, "architecture"),
                       (Weighting, "weighting")):
        if isinstance(component, base):
            return slot
    return "component"


def _checker(slot: str, rows: int) -> Any:
    """A forward hook raising :class:`StepProblem` when a component's output breaks its contract."""

    def hook(module: Any, _inputs: Any, output: Any) -> None:
        problems: list[str | None] = []
        if isinstance(module, Aligner):
            if not isinstance(output, AlignerOutput):
                problems.append(f"forward returned {type(output).__name__}, not an AlignerOutput")
            else:
                dims = {m: _width_of(module.out_dims, m, module) for m in output.features}
                problems += [_tensor_problem(t, (rows, dims[m]), f"aligned modality {m!r}") for m, t in output.features.items()]
                loss = output.loss
                if loss is not None and (not isinstance(loss, Tensor) or loss.dim() != 0):
                    problems.append(f"the alignment loss has shape {_shape(loss)}, expected a 0-dim tensor or None")
        elif isinstance(module, Architecture):
            if not isinstance(output, ArchitectureOutput):
                problems.append(f"forward returned {type(output).__name__}, not an ArchitectureOutput")
            else:
                width = _width(module, slot)
                problems += [_tensor_problem(t, (rows, width), f"task {name!r}'s representation")
                             for name, t in output.tasks.items()]
        else:  # an encoder or an early fuser
            problems.append(_tensor_problem(output, (rows, _width(module, slot)), "its output"))
        found = [p for p in problems if p]
        if found:
            raise StepProblem(slot, module, f"{type(module).__name__}: " + "; ".join(found))

    return hook


def _width_of(out_dims: Any, modality: str, aligner: Any) -> int:
    value = out_dims.get(modality) if isinstance(out_dims, dict) else None
    if not isinstance(value, int):
        raise StepProblem("aligner", aligner, f"{type(aligner).__name__}: out_dims has no integer width for modality "
                          f"{modality!r} (out_dims = {out_dims!r}); set self.out_dims in __init__")
    return value


def encoder_batch(encoder: Encoder, modality: str, data: LoadedDataset) -> tuple[Encoder, Any]:
    """What the model gets for ``modality`` on the tiny batch: a trainable encoder fitted on it and its
    inputs, or — for a frozen one — a stand-in of its ``out_dim`` and random features (no weights load)."""
    from mmbench.train.inputs import take
    from mmbench.train.model import CachedFeatures

    rows = min(BATCH, len(data.splits["train"]))
    width = _width(encoder, f"encoders.{modality}")
    if encoder.frozen:
        return CachedFeatures(width), torch.randn(rows, width, generator=torch.Generator().manual_seed(0))
    inputs = encoder.preprocess(take(data.splits["train"].modalities[modality], slice(0, rows)))
    encoder.fit(inputs)
    return encoder, inputs


def first_step(cell: Cell, data: LoadedDataset, batch: dict[str, tuple[Encoder, Any]]) -> None:
    """Build ``cell``'s model on the CPU and take one training step on the tiny batch (``batch``: per modality,
    :func:`encoder_batch`). Any failure is raised as a :class:`StepProblem` naming the component behind it
    (:func:`_culprit`), or as it is when no component can be told."""
    from mmbench.train.cell_runner import build_model
    from mmbench.train.loop import losses_of
    from mmbench.train.prepare import split_targets
    from mmbench.train.step import backward, checked_weights

    rows = min(BATCH, len(data.splits["train"]))
    encoders = {m: batch[m][0] for m, _ in cell.encoders}
    built: list[tuple[str, Any]] = [(f"encoders.{m}", e) for m, e in encoders.items()]
    hooks: list[Any] = []
    with torch.random.fork_rng(devices=[]):
        try:
            torch.manual_seed(cell.seed)
            model, weighting = build_model(cell, data, encoders, torch.device("cpu"))
            built += [("aligner", model.aligner), ("fuser", model.fuser), ("weighting", weighting)]
            built += [("architecture", a) for a in model.architectures.values()]
            if weighting is not None:
                _check_need(cell, weighting)
                weighting.combine = _checked_combine(weighting)  # this throwaway instance only
            hooks += [model.encoders[m].register_forward_hook(_checker(f"encoders.{m}", rows))
                      for m in model.modalities if not encoders[m].frozen]
            if model.aligner is not None:
                hooks.append(model.aligner.register_forward_hook(_checker("aligner", rows)))
            if model.fuser is not None and not model.late:
                hooks.append(model.fuser.register_forward_hook(_checker("fuser", rows)))
            hooks += [a.register_forward_hook(_checker("architecture", rows)) for a in model.architectures.values()]
            tasks = [data.task_info[t] for t in cell.tasks]
            targets = {t: y[:rows] for t, y in split_targets(cell.tasks, data)[0]["train"].items()}
            model.train()
            fwd = model({m: batch[m][1] for m, _ in cell.encoders})
            for t in tasks if model.late else []:
                problem = _tensor_problem(fwd.predictions[t.name], (rows, t.out_dim), f"combine's prediction for {t.name!r}")
                if problem:
                    raise StepProblem("fuser", model.fuser, f"{type(model.fuser).__name__}: {problem}")
            losses = losses_of(fwd, targets, tasks)
            backward(model, fwd, losses, weighting, float(cell.effective_training()["align_weight"]))
            if weighting is not None:
                checked_weights(weighting)
        except StepProblem:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever a component raises, blamed on it
            found = _culprit(exc, built)
            if found is None:
                raise
            width = re.search(r"has no attribute '(out_dims?)'", str(exc)) if isinstance(exc, AttributeError) else None
            message = (f"{type(found[1]).__name__} has no integer {width.group(1)}; set self.{width.group(1)} in "
                       "__init__ to the width forward returns" if width else f"{type(exc).__name__}: {exc}")
            raise StepProblem(found[0], found[1], message) from exc
        finally:
            for hook in hooks:
                hook.remove()


def _checked_combine(weighting: Weighting) -> Any:
    """The weighting's ``combine``, raising :class:`StepProblem` unless it returns a 0-dim tensor (the trainer
    checks that it is finite): a Python float, even a NaN one, is named here, not as a confusing error later."""
    import math

    original = weighting.combine

    def combine(losses: Tensor) -> Tensor:
        out = original(losses)
        if not isinstance(out, Tensor) or out.dim() != 0:
            value = out if isinstance(out, (int, float)) else None
            what = (f"a non-finite objective ({value})" if value is not None and not math.isfinite(value)
                    else f"{type(out).__name__} {list(_shape(out) or [])}")
            raise StepProblem("weighting", weighting, f"{type(weighting).__name__}.combine returned {what}, not a 0-dim "
                                                      "tensor; return the scalar objective built from the losses tensor")
        return out

    return combine


def _check_need(cell: Cell, weighting: Weighting) -> None:
    """The weighting's ``need`` agrees with its class (and the registration's ``need=``), and the class
    implements what that need calls (:func:`mmbench.components.checks.weighting_need_problem`)."""
    from mmbench.components.checks import weighting_need_problem
    from mmbench.plugins import get_registry

    assert cell.weighting is not None
    problem = weighting_need_problem(weighting, get_registry("weightings").get(cell.weighting.name).metadata.get("need"))
    if problem:
        raise StepProblem("weighting", weighting, problem)


def _culprit(exc: BaseException, built: list[tuple[str, Any]]) -> tuple[str, Any] | None:
    """``(slot, instance)`` of the component behind ``exc``: the weighting for the trainer's strategy checks,
    else the innermost traceback frame running a method of a component (``built``: slot and instance; a
    component missing an attribute counts, its ``__getattr__`` runs), else ``None``."""
    from mmbench.train.step import StrategyError

    slots = {id(c): slot for slot, c in built if c is not None}
    weighting = next((c for slot, c in built if slot == "weighting" and c is not None), None)
    if isinstance(exc, StrategyError) and weighting is not None:
        return "weighting", weighting
    found = None
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if id(owner) in slots:
            found = (slots[id(owner)], owner)
        elif isinstance(owner, (Encoder, Aligner, Fuser, Architecture, Weighting)):
            found = (_slot(owner), owner)  # being built by build_model, not in the model yet
        tb = tb.tb_next
    return found


__all__ = ["BATCH", "StepProblem", "encoder_batch", "first_step"]
