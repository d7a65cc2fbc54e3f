"""The fused max-pool against F.max_pool2d, run by Triton's CPU interpreter in a child process
(TRITON_INTERPRET must be set before Triton is imported)."""

import importlib.util
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from inas.model import pool

CHECK = r"""
import torch, torch.nn.functional as F
from inas.model.pool import FusedMaxPool3x3
torch.manual_seed(0)
for dtype in (torch.float32, torch.bfloat16):
    for channels_last in (False, True):
        for shape in [(2, 5, 7, 6), (3, 70, 4, 4), (1, 1, 1, 1)]:
            x = torch.randn(shape).to(dtype)
            x[0, 0, : min(2, shape[2]), :] = 0.5  # ties: the first in scan order must win
            if shape[2] > 2:
                x[-1, -1, 2, 1] = float("nan")  # NaN propagates, and takes the gradient
            if channels_last:
                x = x.to(memory_format=torch.channels_last)
            ref, ours = x.clone().requires_grad_(), x.clone().requires_grad_()
            want, got = F.max_pool2d(ref, 3, 1, 1), FusedMaxPool3x3.apply(ours)
            # Small integers: every sum of up to 9 of them is exact in bf16, so routing must match exactly.
            g = torch.randint(-4, 5, want.shape).to(dtype)
            want.backward(g)
            got.backward(g)
            case = (dtype, channels_last, shape)
            assert got.dtype == dtype and got.stride() == want.stride(), case
            assert torch.equal(want.nan_to_num(9.0), got.nan_to_num(9.0)), case
            assert ours.grad.stride() == x.stride(), case
            assert torch.equal(ref.grad, ours.grad), case
print("ok")
"""


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
def test_fused_pool_matches_torch_values_and_gradients():
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    run = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-3000:]


def test_pool_is_torchs_unless_turned_on(monkeypatch):
    monkeypatch.delenv(pool.ENV, raising=False)
    assert not pool.fused_pool_enabled()
    monkeypatch.setenv(pool.ENV, "1")
    assert pool.fused_pool_enabled()
    pool.use_fused_pool(False)
    try:
        assert not pool.fused_pool_enabled()
        x = torch.randn(2, 3, 5, 5)
        assert torch.equal(pool.MaxPool3x3()(x), F.max_pool2d(x, 3, 1, 1))  # CPU: never the kernel
    finally:
        pool.use_fused_pool(None)
