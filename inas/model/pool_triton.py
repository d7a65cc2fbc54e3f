"""Triton kernels of the fused 3x3 / stride 1 / pad 1 max-pool (see pool.py for why and when).

Both kernels take any strides (channels_last is the layout that matters: channels are the contiguous
axis there, so a block of channels is one wide load). A program handles BLOCK_P pixels (over N*H*W)
by BLOCK_C channels. `where` holds each output's winning window position, 0..8 row-major, as int8.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

BLOCK_P = 32


@triton.jit
def _tile(P, C, H, W, BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr):
    """This program's pixels (flat over N*H*W) and channels, their masks, and each pixel's n, h, w."""
    p = tl.program_id(0) * BLOCK_P + tl.arange(0, BLOCK_P)
    c = (tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)).to(tl.int64)
    n = (p // (H * W)).to(tl.int64)
    return p < P, c, c < C, n, (p % (H * W)) // W, p % W


@triton.jit
def _forward(
    x_ptr, y_ptr, w_ptr, P, C, H, W,
    sxn, sxc, sxh, sxw, syn, syc, syh, syw,
    BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr,
):  # fmt: skip
    pm, c, cm, n, h, w = _tile(P, C, H, W, BLOCK_P, BLOCK_C)
    best = tl.full([BLOCK_P, BLOCK_C], float("-inf"), tl.float32)
    code = tl.zeros([BLOCK_P, BLOCK_C], tl.int32)
    have = tl.zeros([BLOCK_P, BLOCK_C], tl.int32)
    for i in tl.static_range(3):
        for j in tl.static_range(3):
            hh, ww = h + (i - 1), w + (j - 1)
            ok = (pm & (hh >= 0) & (hh < H) & (ww >= 0) & (ww < W))[:, None] & cm[None, :]
            off = n[:, None] * sxn + c[None, :] * sxc + hh.to(tl.int64)[:, None] * sxh + ww.to(tl.int64)[:, None] * sxw
            v = tl.load(x_ptr + off, mask=ok, other=float("-inf")).to(tl.float32)
            # As PyTorch's kernel: the first in-window value, then any larger one or any NaN, wins.
            take = ok & ((v > best) | (v != v) | (have == 0))
            best = tl.where(take, v, best)
            code = tl.where(take, i * 3 + j, code)
            have = tl.where(ok, 1, have)
    out = n[:, None] * syn + c[None, :] * syc + h.to(tl.int64)[:, None] * syh + w.to(tl.int64)[:, None] * syw
    m = pm[:, None] & cm[None, :]
    tl.store(y_ptr + out, best.to(y_ptr.dtype.element_ty), mask=m)
    tl.store(w_ptr + out, code.to(tl.int8), mask=m)


@triton.jit
def _backward(
    g_ptr, w_ptr, dx_ptr, P, C, H, W,
    sgn, sgc, sgh, sgw, swn, swc, swh, sww,
    BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr,
):  # fmt: skip
    pm, c, cm, n, h, w = _tile(P, C, H, W, BLOCK_P, BLOCK_C)
    acc = tl.zeros([BLOCK_P, BLOCK_C], tl.float32)
    for i in tl.static_range(3):
        for j in tl.static_range(3):
            # The output whose window holds this input at position (i, j) sits at (h + 1 - i, w + 1 - j).
            ho, wo = h + (1 - i), w + (1 - j)
            ok = (pm & (ho >= 0) & (ho < H) & (wo >= 0) & (wo < W))[:, None] & cm[None, :]
            ho64, wo64 = ho.to(tl.int64)[:, None], wo.to(tl.int64)[:, None]
            chosen = tl.load(w_ptr + n[:, None] * swn + c[None, :] * swc + ho64 * swh + wo64 * sww, mask=ok, other=-1)
            g = tl.load(g_ptr + n[:, None] * sgn + c[None, :] * sgc + ho64 * sgh + wo64 * sgw, mask=ok, other=0.0)
            acc += tl.where(chosen == i * 3 + j, g.to(tl.float32), 0.0)
    out = n[:, None] * swn + c[None, :] * swc + h.to(tl.int64)[:, None] * swh + w.to(tl.int64)[:, None] * sww
    tl.store(dx_ptr + out, acc.to(dx_ptr.dtype.element_ty), mask=pm[:, None] & cm[None, :])


def _grid(x: torch.Tensor) -> tuple[tuple[int, int], int]:
    n, c, h, w = x.shape
    block_c = min(64, triton.next_power_of_2(c))
    return (triton.cdiv(n * h * w, BLOCK_P), triton.cdiv(c, block_c)), block_c


def forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(pooled, where): both laid out as `x` (empty_like keeps a dense tensor's strides)."""
    n, c, h, w = x.shape
    y = torch.empty_like(x)
    where = torch.empty_like(x, dtype=torch.int8)
    assert y.stride() == where.stride()
    grid, block_c = _grid(x)
    _forward[grid](x, y, where, n * h * w, c, h, w, *x.stride(), *y.stride(), BLOCK_P=BLOCK_P, BLOCK_C=block_c)
    return y, where


def backward(grad: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """The input's gradient, laid out as `where` (that is, as the input)."""
    n, c, h, w = where.shape
    dx = torch.empty_like(where, dtype=grad.dtype)
    grid, block_c = _grid(where)
    _backward[grid](
        grad, where, dx, n * h * w, c, h, w, *grad.stride(), *where.stride(), BLOCK_P=BLOCK_P, BLOCK_C=block_c
    )
    return dx
