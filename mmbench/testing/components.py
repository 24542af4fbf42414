"""Contract checks for encoders, aligners and fusers (call them from a plugin's own tests)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
from torch import Tensor

from mmbench.components.base import Aligner, AlignerOutput, Encoder, Fuser, ModalityInfo
from mmbench.testing.common import (
    ContractError,
    check_deterministic,
    check_device_move,
    check_dtype_move,
    check_gradients_flow,
    check_parameters_registered,
    fail,
)
from mmbench.train.inputs import num_rows, take

DEFAULT_DIMS = {"image": 12, "text": 8}


def _features(in_dims: Mapping[str, int], batch: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {m: torch.randn(batch, d, generator=g).to(dtype) for m, d in sorted(in_dims.items())}


def check_fuser(factory: Callable[..., Fuser], in_dims: Mapping[str, int] | None = None, batch: int = 5, **options: Any) -> None:
    """Check a fuser factory: type, output shape, order stability, registration, gradients, moves, seeding.

    Runs with the given ``in_dims`` and also with three modalities, since fusers must handle 2 or more.
    """
    for dims in ([dict(in_dims)] if in_dims else [dict(DEFAULT_DIMS), {"a": 6, "b": 4, "c": 5}]):
        torch.manual_seed(0)
        fuser = factory(dims, **options)
        if not isinstance(fuser, Fuser):
            raise ContractError(f"{factory!r} returned {type(fuser).__name__}, not an mmbench Fuser")
        check_parameters_registered(fuser)
        feats = _features(dims, batch)
        if fuser.late:
            preds = {m: torch.randn(batch, 3, generator=torch.Generator().manual_seed(i), requires_grad=True)
                     for i, m in enumerate(sorted(dims))}
            out = fuser.combine(preds)
            if tuple(out.shape) != (batch, 3):
                fail(fuser, f"combine returned shape {tuple(out.shape)}, expected {(batch, 3)}", "Return [B, C].")
            partial = fuser.combine({m: preds[m] for m in sorted(dims)[:1]})
            if tuple(partial.shape) != (batch, 3):
                fail(fuser, "combine fails with one modality present", "Renormalise over the modalities present.")
            loss = out.square().mean() + sum(p.sum() * 0 for p in fuser.parameters())
            if list(fuser.parameters()):
                check_gradients_flow(fuser, loss)
            continue
        if not isinstance(getattr(fuser, "out_dim", None), int):
            fail(fuser, "has no integer out_dim", "Set self.out_dim in __init__ to the width forward returns.")
        out = fuser(feats)
        if tuple(out.shape) != (batch, fuser.out_dim):
            fail(fuser, f"returned shape {tuple(out.shape)}, expected {(batch, fuser.out_dim)}", "Set out_dim to the real width.")
        fuser.eval()
        ordered = fuser(feats)
        reordered = fuser({m: feats[m] for m in reversed(list(feats))})
        fuser.train()
        if not torch.allclose(ordered, reordered, atol=1e-6):
            fail(fuser, "output depends on the order of the features dict", "Visit modalities in sorted name order.")
        leaves = {m: t.clone().requires_grad_(True) for m, t in feats.items()}
        fused = fuser(leaves)
        if list(fuser.parameters()):
            check_gradients_flow(fuser, fused.square().mean())
        else:
            fused.square().mean().backward()
        for m, leaf in leaves.items():
            if leaf.grad is None or not leaf.grad.abs().sum() > 0:
                fail(fuser, f"no gradient reaches modality {m!r}", "Every modality's features must feed the output.")
        check_dtype_move(fuser, lambda mod, dt: mod(_features(dims, batch, dtype=dt)))
        check_device_move(fuser, lambda mod, dev: mod({m: t.to(dev) for m, t in feats.items()}))

        def run(seed: int, dims: dict[str, int] = dims) -> Tensor:
            torch.manual_seed(seed)
            return factory(dims, **options).eval()(_features(dims, batch)).detach()

        check_deterministic(run, f"fuser {type(fuser).__name__}")


def check_aligner(factory: Callable[..., Aligner], in_dims: Mapping[str, int] | None = None, batch: int = 16, **options: Any) -> None:
    """Check an aligner factory: output type and shapes, a finite scalar loss, registration, gradients, moves."""
    dims = dict(in_dims or DEFAULT_DIMS)
    torch.manual_seed(0)
    aligner = factory(dims, **options)
    if not isinstance(aligner, Aligner):
        raise ContractError(f"{factory!r} returned {type(aligner).__name__}, not an mmbench Aligner")
    check_parameters_registered(aligner)
    feats = _features(dims, batch)
    out = aligner(feats)
    if not isinstance(out, AlignerOutput):
        fail(aligner, f"returned {type(out).__name__}", "Return mmbench.components.base.AlignerOutput.")
    if set(out.features) != set(dims):
        fail(aligner, f"returned modalities {sorted(out.features)}, expected {sorted(dims)}", "Return every modality.")
    for m, t in out.features.items():
        if tuple(t.shape) != (batch, aligner.out_dims[m]):
            fail(aligner, f"modality {m!r} has shape {tuple(t.shape)}, expected {(batch, aligner.out_dims[m])}", "Fix out_dims.")
    if out.loss is not None and (out.loss.dim() != 0 or not torch.isfinite(out.loss)):
        fail(aligner, "alignment loss is not a finite scalar", "Return a 0-dim tensor or None.")
    total = sum(t.square().mean() for t in out.features.values()) + (out.loss if out.loss is not None else 0)
    if list(aligner.parameters()):
        check_gradients_flow(aligner, total)
    check_dtype_move(aligner, lambda mod, dt: mod(_features(dims, batch, dtype=dt)))
    check_device_move(aligner, lambda mod, dev: mod({m: t.to(dev) for m, t in feats.items()}))

    def run(seed: int) -> Tensor:
        torch.manual_seed(seed)
        res = factory(dims, **options).eval()(_features(dims, batch))
        return torch.cat([res.features[m].detach() for m in sorted(res.features)], dim=1)

    check_deterministic(run, f"aligner {type(aligner).__name__}")


def check_encoder(factory: Callable[..., Encoder], info: ModalityInfo, values: Any, **options: Any) -> None:
    """Check an encoder factory on decoded ``values`` of one modality (a tensor, or a list of str).

    Checks: ``preprocess`` once then batched ``forward`` gives ``[B, out_dim]``; registration; a frozen
    encoder has no trainable parameter and a fingerprint; a trainable one gets gradients; determinism.
    """
    torch.manual_seed(0)
    encoder = factory(info, **options)
    if not isinstance(encoder, Encoder):
        raise ContractError(f"{factory!r} returned {type(encoder).__name__}, not an mmbench Encoder")
    check_parameters_registered(encoder)
    inputs = encoder.preprocess(values)
    encoder.fit(inputs)
    n = num_rows(inputs)
    out = encoder(take(inputs, slice(0, n)))
    if tuple(out.shape) != (n, encoder.out_dim):
        fail(encoder, f"returned shape {tuple(out.shape)}, expected {(n, encoder.out_dim)}", "Set out_dim to the real width.")
    trainable = [p for p in encoder.parameters() if p.requires_grad]
    if encoder.frozen:
        if trainable:
            fail(encoder, "is frozen but has trainable parameters", "Call requires_grad_(False) on frozen weights.")
        if not encoder.fingerprint():
            fail(encoder, "is frozen but has no fingerprint", "Return a stable string naming weights and preprocessing.")
    else:
        check_gradients_flow(encoder, encoder(take(inputs, slice(0, n))).square().mean())

    def run(seed: int) -> Tensor:
        torch.manual_seed(seed)
        enc = factory(info, **options).eval()
        x = enc.preprocess(values)
        enc.fit(x)
        with torch.no_grad():
            return enc(x)

    check_deterministic(run, f"encoder {type(encoder).__name__}")
