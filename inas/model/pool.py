"""The Inception pool branch's 3x3 / stride 1 / pad 1 max-pool, with an opt-in fused Triton kernel.

PyTorch's kernel writes an int64 index per output, which its backward reads back. The fused
version stores one int8 window position per output instead (an eighth of the index's bytes) and
computes the backward as a gather (each input sums the gradients of the up to 9 outputs that chose
it): no atomics, deterministic. Same values and gradients as `F.max_pool2d` (first maximum in scan
order wins a tie, NaN propagates), checked in tests under Triton's CPU interpreter. The pool's share
of a training step is what `benchmarks/step_profile.py` measures, the kernel against PyTorch's what
`benchmarks/pool_kernel.py` does; benchmarks/RESULTS.md holds no GPU figure of either yet.

Off by default until a GPU measurement says it wins: `INAS_FUSED_POOL=1` (read at each forward pass;
Ray's trial processes inherit it) or `use_fused_pool(True)` turns it on for CUDA tensors.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

ENV = "INAS_FUSED_POOL"
_fused: bool | None = None  # None: read ENV on first use


def use_fused_pool(on: bool | None) -> None:
    """Turn the fused kernel on or off for networks run from now on (None: back to $INAS_FUSED_POOL)."""
    global _fused
    _fused = on


def fused_pool_enabled() -> bool:
    return _fused if _fused is not None else os.environ.get(ENV, "") == "1"


class MaxPool3x3(nn.Module):
    """`nn.MaxPool2d(3, stride=1, padding=1)`, through the fused kernel where it is on and can run."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if fused_pool_enabled() and (x.is_cuda or _interpreted()) and not torch.compiler.is_compiling():
            return FusedMaxPool3x3.apply(x)
        return F.max_pool2d(x, 3, stride=1, padding=1)


def _interpreted() -> bool:
    """Triton's interpreter runs the kernels on CPU tensors (how the tests check them)."""
    return os.environ.get("TRITON_INTERPRET", "") == "1"


class FusedMaxPool3x3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        from inas.model import pool_triton as k

        y, where = k.forward(x)
        ctx.save_for_backward(where)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        from inas.model import pool_triton as k

        (where,) = ctx.saved_tensors
        return k.backward(grad, where)
