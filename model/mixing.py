"""The strength mix in PyTorch: one network run over two weight sets blended as the engine
blends them (engine/strength.py), so training can see what a user's strength slider gives.

At strength s the engine runs the fidelity file's graph with every float initializer replaced
by (1 - s) * fidelity + s * detail. Export writes parameters as initializers one for one (no
folding of one parameter into another), so blending the parameters here is the same network;
tests/model/test_model_mixing.py holds the two to each other.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.func import functional_call


def partner_weights(path: Path, model: nn.Module, device: torch.device) -> dict[str, torch.Tensor]:
    """The partner checkpoint's EMA parameters, frozen, checked against the model's shape."""
    ck = torch.load(path, map_location=device, weights_only=False)
    weights = ck["ema"]
    own = dict(model.named_parameters())
    missing = sorted(set(own) - set(weights))
    wrong = sorted(k for k in own if k in weights and weights[k].shape != own[k].shape)
    if missing or wrong:
        raise SystemExit(
            f"The partner {path} is not the same network as the one being trained "
            f"(missing {missing[:3]}, other shapes {wrong[:3]})."
        )
    return {k: weights[k].detach().to(device) for k in own}


def mixed_forward(
    model: nn.Module, partner: dict[str, torch.Tensor], strength: float, x: torch.Tensor
) -> torch.Tensor:
    """The model run with its parameters blended toward the partner's (0 = its own)."""
    blended = {name: torch.lerp(p, partner[name], strength) for name, p in model.named_parameters()}
    return functional_call(model, blended, (x,))
