"""The model a cell trains: encoders → aligner → fuser → shared trunk → one head per task.

Hard parameter sharing (Caruana 1997): everything up to the trunk is shared across tasks; the heads are
task-specific. Late fusion (``fuser.late``) keeps one trunk and one head per modality and task, and
the fuser combines the per-modality predictions. Missing modalities (robustness) are zero features
after alignment; late fusion combines only the modalities present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
from torch import Tensor, nn

from mmbench.components.base import Aligner, Encoder, Fuser
from mmbench.data.spec import TaskInfo


@dataclass
class Forward:
    """One forward pass: predictions per task, the shared representation(s) and the alignment loss."""

    predictions: dict[str, Tensor]
    representation: list[Tensor]
    align_loss: Tensor | None
    aligned: dict[str, Tensor]


def _trunk(in_dim: int, width: int) -> tuple[nn.Module, int]:
    if width <= 0:
        return nn.Identity(), in_dim
    return nn.Sequential(nn.Linear(in_dim, width), nn.ReLU()), width


class CellModel(nn.Module):
    """Encoders, optional aligner and fuser, a shared trunk, and per-task heads."""

    def __init__(self, encoders: Mapping[str, Encoder], tasks: Sequence[TaskInfo], aligner: Aligner | None = None,
                 fuser: Fuser | None = None, trunk_dim: int = 64):
        super().__init__()
        self.modalities = sorted(encoders)
        if len(self.modalities) > 1 and fuser is None:
            raise ValueError("a model over several modalities needs a fuser")
        self.encoders = nn.ModuleDict({m: encoders[m] for m in self.modalities})
        self.aligner = aligner
        self.fuser = fuser
        self.task_names = [t.name for t in tasks]
        dims = aligner.out_dims if aligner is not None else {m: self.encoders[m].out_dim for m in self.modalities}
        self.late = bool(fuser is not None and fuser.late)
        streams = self.modalities if self.late else ["fused"]
        stream_dims = dims if self.late else {"fused": fuser.out_dim if fuser is not None else dims[self.modalities[0]]}
        trunks, widths = {}, {}
        for s in streams:
            trunks[s], widths[s] = _trunk(stream_dims[s], trunk_dim)
        self.trunks = nn.ModuleDict(trunks)
        self.heads = nn.ModuleDict({
            t.name: nn.ModuleDict({s: nn.Linear(widths[s], t.out_dim) for s in streams}) for t in tasks
        })

    def shared_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters every task's loss reaches (encoders, aligner, fuser, trunk)."""
        return [p for n, p in self.named_parameters() if p.requires_grad and not n.startswith("heads.")]

    def task_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.heads.parameters() if p.requires_grad]

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
            reps = {m: self.trunks[m](feats[m]) for m in self.modalities}
            preds = {t: self.fuser.combine({m: self.heads[t][m](reps[m]) for m in present}) for t in self.task_names}
            return Forward(preds, [reps[m] for m in self.modalities], align_loss, feats)
        fused = self.fuser(feats) if self.fuser is not None else feats[self.modalities[0]]
        rep = self.trunks["fused"](fused)
        preds = {t: self.heads[t]["fused"](rep) for t in self.task_names}
        return Forward(preds, [rep], align_loss, feats)


class CachedFeatures(Encoder):
    """Stands in for a frozen encoder whose features were computed once: passes them through."""

    frozen = True

    def __init__(self, out_dim: int):
        super().__init__()
        self.out_dim = out_dim

    def forward(self, features: Tensor) -> Tensor:
        return features
