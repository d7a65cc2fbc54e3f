"""Inference latency of a model on a device: median of repeats after a warm-up."""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the report quotes WARMUP and REPEATS without loading torch
    import torch

WARMUP = 3
REPEATS = 20


def latency_ms(model: torch.nn.Module, shape: tuple[int, ...], device: torch.device, repeats: int = REPEATS) -> float:
    """Median milliseconds of one forward pass of a batch of `shape` (N x C x H x W) on `device`, in
    eval mode without gradients, after WARMUP passes. On CUDA each pass is timed with CUDA events (the
    GPU's own clock, not the host's); elsewhere with `time.perf_counter`."""
    import torch

    model.eval()
    x = torch.randn(*shape, device=device)
    times = []
    with torch.no_grad():
        for _ in range(WARMUP):
            model(x)
        for _ in range(repeats):
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(x)
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
            else:
                begin = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - begin) * 1e3)
    return statistics.median(times)


def method(device: torch.device, repeats: int = REPEATS) -> str:
    """How `latency_ms` timed on `device`, in words, for the record."""
    timer = "CUDA events" if device.type == "cuda" else "the wall clock"
    return f"median of {repeats} forward passes after {WARMUP} warm-up passes, timed with {timer}"
