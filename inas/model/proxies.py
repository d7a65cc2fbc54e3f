"""Zero-cost proxies: scores of an untrained network that are meant to rank networks as training would.

- `naswot` (Mellor et al., "Neural Architecture Search without Training", ICML 2021): on one batch, the
  binary code of every ReLU unit per image; the kernel K[i, j] counts the units where images i and j
  agree; the score is log |det K|. Higher is meant to be better.
- `synflow` (Tanaka et al. 2020, as a proxy in Abdelfattah et al., "Zero-Cost Proxies for Lightweight
  NAS", ICLR 2021): every weight made positive, an all-ones input, R = sum of the outputs; the score is
  the sum over parameters of theta * dR/dtheta, in float64. Data-free. Higher is meant to be better.

Both work on a copy of the model; the model passed in is left as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn


def naswot(model: nn.Module, images: torch.Tensor) -> float:
    """The NASWOT score of `model` (untrained) on one batch of normalised `images` (N x C x H x W)."""
    net = copy.deepcopy(model).train()
    n = images.shape[0]
    kernel = torch.zeros(n, n, dtype=torch.float64)

    def add(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        codes = (output.detach().reshape(n, -1) > 0).to(torch.float64)
        kernel.add_(codes @ codes.T + (1 - codes) @ (1 - codes).T)

    hooks = [m.register_forward_hook(add) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(images)
    finally:
        for h in hooks:
            h.remove()
    return float(torch.linalg.slogdet(kernel)[1])


def synflow(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """The synflow score of `model` (untrained) for inputs of `input_shape` (C x H x W)."""
    net = copy.deepcopy(model).double().eval()  # eval: BatchNorm's initial statistics, no batch needed
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad()
    out = net(torch.ones(1, *input_shape, dtype=torch.float64))
    logits = out[0] if isinstance(out, tuple) else out
    logits.sum().backward()
    with torch.no_grad():
        return float(sum((p * p.grad).sum() for p in net.parameters() if p.grad is not None))


# Each proxy as a score of (model, one batch of normalised images); higher is meant to be better.
PROXIES: dict[str, Callable[[nn.Module, torch.Tensor], float]] = {
    "naswot": naswot,
    "synflow": lambda model, images: synflow(model, tuple(images.shape[1:])),
}
