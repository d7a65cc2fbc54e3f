"""The pool branch's max-pool alone: the fused Triton kernel against PyTorch's, on every pool input shape
of a network, checked then timed (forward + backward), beside the memory-traffic floor.

For each shape (batch, channels, side) of the network's 3x3/s1 pools: the fused kernel's output and
gradient are compared with PyTorch's (integer upstream gradients, so every sum is exact; a row says
DIFFERS with the counts where any differ), then both are timed
with CUDA events (median of `--reps` after warm-up). Floor: the fewest bytes a forward + backward must
move (read x, write y; read dy, write dx; plus PyTorch's int64 or our int8 index, written then read)
over `--bandwidth`.

    python benchmarks/pool_kernel.py --batch-size 512                 # GPU
    TRITON_INTERPRET=1 python benchmarks/pool_kernel.py --batch-size 1 --reps 1 --warmup 0  # CPU: the check
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date

import torch
import torch.nn.functional as F

from inas.model import get_preset
from inas.model.network import build
from inas.model.pool import FusedMaxPool3x3, MaxPool3x3


def pool_shapes(preset: str, batch: int) -> list[tuple[int, int, int, int]]:
    """(N, C, H, W) of every MaxPool3x3 input of the network, in order (found on the meta device)."""
    arch = get_preset(preset)
    with torch.device("meta"):
        model = build(arch)
    shapes: list[tuple[int, int, int, int]] = []
    for m in model.modules():
        if isinstance(m, MaxPool3x3):
            m.register_forward_hook(lambda _m, inputs, _out: shapes.append(tuple(inputs[0].shape)))
    size = arch.input_size
    model(torch.empty(batch, arch.in_channels, size, size, device="meta"))
    return shapes


def step(fn, x: torch.Tensor, g: torch.Tensor) -> None:
    x.grad = None
    fn(x).backward(g)


def timed_ms(fn, x: torch.Tensor, g: torch.Tensor, reps: int, warmup: int) -> float:
    for _ in range(warmup):
        step(fn, x, g)
    times = []
    for _ in range(reps):
        if x.is_cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step(fn, x, g)
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t = time.perf_counter()
            step(fn, x, g)
            times.append(1e3 * (time.perf_counter() - t))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seed/googlenet")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--shapes", type=int, default=None, help="only the first N shapes (a rehearsal)")
    parser.add_argument("--bandwidth", type=float, default=4.3e12, help="bytes/s (H200 copy measured: 4.3e12)")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16  # as trials train on a GPU

    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU (Triton interpreter)"
    print(f"{date.today()}, {name}, torch {torch.__version__}, Python {platform.python_version()}")
    print(f"{args.preset} pools at batch {args.batch_size}, bf16, channels_last; forward + backward, ms (median)")
    print(f"{'N x C x H x W':>22} {'torch':>8} {'fused':>8} {'ratio':>6} {'floor t/f':>10}")
    total = {"torch": 0.0, "fused": 0.0}
    for shape in pool_shapes(args.preset, args.batch_size)[: args.shapes]:
        x = torch.randn(shape, device=device).to(dtype).to(memory_format=torch.channels_last).requires_grad_()
        g = torch.randint(-4, 5, shape, device=device).to(dtype).to(memory_format=torch.channels_last)
        step(lambda t: F.max_pool2d(t, 3, 1, 1), x, g)
        want_y, want_dx = F.max_pool2d(x, 3, 1, 1).detach(), x.grad.clone()
        step(FusedMaxPool3x3.apply, x, g)
        wrong_y = int((FusedMaxPool3x3.apply(x).detach() != want_y).sum())
        wrong_dx = int((x.grad != want_dx).sum())
        ms = {
            "torch": timed_ms(lambda t: F.max_pool2d(t, 3, 1, 1), x, g, args.reps, args.warmup),
            "fused": timed_ms(FusedMaxPool3x3.apply, x, g, args.reps, args.warmup),
        }
        n = x.numel()
        floor = {k: 1e3 * n * (4 * 2 + 2 * b) / args.bandwidth for k, b in (("torch", 8), ("fused", 1))}
        for k in total:
            total[k] += ms[k]
        dims = " x ".join(map(str, shape))
        print(
            f"{dims:>22} {ms['torch']:8.3f} {ms['fused']:8.3f} {ms['torch'] / ms['fused']:5.2f}x "
            f"{floor['torch']:4.2f}/{floor['fused']:4.2f}"
            + (f"  DIFFERS: {wrong_y} outputs, {wrong_dx} gradients of {n}" if wrong_y or wrong_dx else "")
        )
    print(
        f"{'all pools of a step':>22} {total['torch']:8.3f} {total['fused']:8.3f} {total['torch'] / total['fused']:5.2f}x"
    )


if __name__ == "__main__":
    main()
