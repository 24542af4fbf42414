"""The model a cell trains: encoders → aligner → fuser → architecture → one head per task.

The architecture (``mmbench_register_architectures``; hard parameter sharing by default, Caruana 1997)
maps the fused representation to one representation per task, and a linear head per task predicts from
it. Late fusion (``fuser.late``) gives every modality its own architecture and heads, and the fuser
combines the per-modality predictions. Missing modalities (robustness) are zero features after
alignment; late fusion combines only the modalities present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from mmbench.components.base import Aligner, Architecture, Encoder, Fuser
from mmbench.data.spec import TaskInfo

#: ``make(in_dim) -> Architecture`` for the model's task names (one call per stream)
ArchitectureFactory = Callable[[int], Architecture]


@dataclass
class Forward:
    """One forward pass: predictions per task, the shared representation(s) (empty when the architecture
    has none) and the alignment loss."""

    predictions: dict[str, Tensor]
    representation: list[Tensor]
    align_loss: Tensor | None
    aligned: dict[str, Tensor]


def hard_sharing(tasks: Sequence[str], width: int) -> ArchitectureFactory:
    """The default architecture factory: :class:`~mmbench.components.architectures.hps.HardSharing`."""
    from mmbench.components.architectures.hps import HardSharing

    return lambda in_dim: HardSharing(in_dim, tasks, width)


class CellModel(nn.Module):
    """Encoders, optional aligner and fuser, an architecture per stream, and per-task heads."""

    def __init__(self, encoders: Mapping[str, Encoder], tasks: Sequence[TaskInfo], aligner: Aligner | None = None,
                 fuser: Fuser | None = None, trunk_dim: int = 64, architecture: ArchitectureFactory | None = None):
        super().__init__()
        self.modalities = sorted(encoders)
        if len(self.modalities) > 1 and fuser is None:
            raise ValueError("a model over several modalities needs a fuser")
        self.encoders = nn.ModuleDict({m: encoders[m] for m in self.modalities})
        self.aligner = aligner
        self.fuser = fuser
        self.task_names = [t.name for t in tasks]
        make = architecture or hard_sharing(self.task_names, trunk_dim)
        dims = aligner.out_dims if aligner is not None else {m: self.encoders[m].out_dim for m in self.modalities}
        self.late = bool(fuser is not None and fuser.late)
        streams = self.modalities if self.late else ["fused"]
        stream_dims = dims if self.late else {"fused": fuser.out_dim if fuser is not None else dims[self.modalities[0]]}
        self.architectures = nn.ModuleDict({s: make(int(stream_dims[s])) for s in streams})
        self.heads = nn.ModuleDict({
            t.name: nn.ModuleDict({s: nn.Linear(self.architectures[s].out_dim, t.out_dim) for s in streams}) for t in tasks
        })

    @property
    def has_shared_representation(self) -> bool:
        return all(a.has_shared_representation for a in self.architectures.values())

    def _task_owned(self) -> set[int]:
        own = {id(p) for p in self.heads.parameters()}
        for arch in self.architectures.values():
            own |= {id(p) for t in self.task_names for p in arch.task_parameters(t)}
        return own

    def shared_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters more than one task's loss reaches: encoders, aligner, fuser and the
        architecture's shared parameters (what parameter-Jacobian strategies aggregate over)."""
        own = self._task_owned()
        return [p for p in self.parameters() if p.requires_grad and id(p) not in own]

    def task_parameters(self) -> list[nn.Parameter]:
        """Trainable task-specific parameters: the heads and the architecture's per-task parameters."""
        own = self._task_owned()
        return [p for p in self.parameters() if p.requires_grad and id(p) in own]

    def upstream_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters that lie before the shared representation (encoders, aligner, an early
        fuser, the architecture's shared part). Everything else — heads, per-task layers, a late fuser's
        combination weights — lies after it."""
        mods: list[nn.Module] = [self.encoders] + ([self.aligner] if self.aligner is not None else [])
        if self.fuser is not None and not self.late:
            mods.append(self.fuser)
        ids = {id(p) for m in mods for p in m.parameters()}
        ids |= {id(p) for a in self.architectures.values() for p in a.shared_parameters()}
        return [p for p in self.parameters() if p.requires_grad and id(p) in ids]

    def forward(self, inputs: Mapping[str, object], missing: Sequence[str] = ()) -> Forward:
        """Run the model. ``inputs`` maps each modality to its encoder's inputs (or cached features,
        when the encoder is swapped for :class:`CachedFeatures`); ``missing`` modalities are zeroed."""
        feats = {m: self.encoders[m](inputs[m]) for m in self.modalities}
        align_loss = None
        if self.aligner is not None:
            out = self.aligner(feats)
            feats, align_loss = dict(out.features), out.loss
        for m in missing:
            feats[m] = torch.zeros_like(feats[m])
        if self.late:
            present = [m for m in self.modalities if m not in missing] or self.modalities
            reps = {m: self.architectures[m](feats[m]) for m in self.modalities}
            preds = {t: self.fuser.combine({m: self.heads[t][m](reps[m].tasks[t]) for m in present}) for t in self.task_names}
            shared = [reps[m].shared for m in self.modalities]
            return Forward(preds, [s for s in shared if s is not None] if None not in shared else [], align_loss, feats)
        fused = self.fuser(feats) if self.fuser is not None else feats[self.modalities[0]]
        rep = self.architectures["fused"](fused)
        preds = {t: self.heads[t]["fused"](rep.tasks[t]) for t in self.task_names}
        return Forward(preds, [rep.shared] if rep.shared is not None else [], align_loss, feats)


class CachedFeatures(Encoder):
    """Stands in for a frozen encoder whose features were computed once: passes them through."""

    frozen = True

    def __init__(self, out_dim: int):
        super().__init__()
        self.out_dim = out_dim

    def forward(self, features: Tensor) -> Tensor:
        return features
