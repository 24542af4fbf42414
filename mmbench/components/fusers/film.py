"""Feature-wise linear modulation (FiLM; Perez et al. 2018, AAAI), adapted to feature vectors."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from mmbench.components.base import Fuser

#: scale of the FiLM generator's initial weights: Δγ and β start near 0, so γ ≈ 1 and β ≈ 0
GENERATOR_INIT_SCALE = 0.1


class FiLMFuser(Fuser):
    """FiLM (Perez et al. 2018, "FiLM: Visual Reasoning with a General Conditioning Layer").

    One modality's features predict a feature-wise scale ``γ`` and shift ``β`` for another's:
    ``FiLM(h) = γ ⊙ h + β``. Adapted to feature vectors ``[B, D_m]``, each modulated modality ``m`` gets
    the paper's residual block shape on vectors::

        h_m = ReLU(W_m x_m)                                      # stem to width ``dim``
        h_m = h_m + ReLU(γ_{m,k} ⊙ norm(V_{m,k} h_m) + β_{m,k})  # k = 1 .. blocks

    where ``norm`` is a layer norm without affine parameters (the paper's affine-free batch norm; a layer
    norm keeps the output independent of the batch) and ``(Δγ, β)`` for every block come from one linear
    FiLM generator on the conditioning features, with ``γ = 1 + Δγ`` and small initial generator weights
    (zero bias), so ``γ ≈ 1`` and ``β ≈ 0`` at initialisation.

    Which modality conditions which (``conditioning``):

    - ``"others"`` (default, any number of modalities): every modality is modulated by ``γ, β`` predicted
      from the concatenation of all the *other* modalities' features (sorted order); the output is the mean
      of the modulated modalities' ``h_m``;
    - a modality name, e.g. ``"text"``: that modality only conditions (the paper's question → image
      direction); every other modality is modulated by it, and the output is the mean of their ``h_m``.

    ``forward`` needs every modality it was built for (missing ones arrive as zero features).
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64, blocks: int = 1, conditioning: str = "others"):
        super().__init__()
        dims = dict(sorted(in_dims.items()))
        if len(dims) < 2:
            raise ValueError(f"FiLM needs two or more modalities, got {list(dims)}")
        if conditioning != "others" and conditioning not in dims:
            raise ValueError(f"conditioning must be 'others' or one of the modalities {list(dims)}, got {conditioning!r}")
        if blocks < 1:
            raise ValueError(f"blocks must be positive, got {blocks}")
        self.modalities = list(dims)
        self.conditioning, self.blocks, self.dim = conditioning, blocks, dim
        self.targets = [m for m in dims if m != conditioning]
        self.stem = nn.ModuleDict({m: nn.Linear(dims[m], dim) for m in self.targets})
        self.residual = nn.ModuleList(nn.ModuleDict({m: nn.Linear(dim, dim) for m in self.targets}) for _ in range(blocks))
        self.film = nn.ModuleDict({m: nn.Linear(sum(dims[c] for c in self.conditioners(m)), 2 * blocks * dim)
                                   for m in self.targets})
        with torch.no_grad():
            for generator in self.film.values():
                generator.weight.mul_(GENERATOR_INIT_SCALE)
                generator.bias.zero_()
        self.out_dim = dim

    def conditioners(self, target: str) -> list[str]:
        """The modalities whose features predict ``target``'s ``γ, β``, in sorted order."""
        if self.conditioning == "others":
            return [m for m in self.modalities if m != target]
        return [self.conditioning]

    def modulation(self, features: Mapping[str, Tensor], target: str) -> tuple[Tensor, Tensor]:
        """``(γ, β)`` for ``target``, each ``[B, blocks, dim]``."""
        condition = torch.cat([features[c] for c in self.conditioners(target)], dim=-1)
        params = self.film[target](condition).view(condition.shape[0], self.blocks, 2, self.dim)
        return 1.0 + params[:, :, 0], params[:, :, 1]

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        outputs = []
        for m in self.targets:
            gamma, beta = self.modulation(features, m)
            h = torch.relu(self.stem[m](features[m]))
            for k, layers in enumerate(self.residual):
                z = nn.functional.layer_norm(layers[m](h), (self.dim,))
                h = h + torch.relu(gamma[:, k] * z + beta[:, k])
            outputs.append(h)
        return torch.stack(outputs, dim=0).mean(dim=0)
