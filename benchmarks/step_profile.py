"""Where a training step's time goes: torch.profiler over steps of `inas.train.train` as trials run it.

Groups the device time (CPU time where there is no GPU) of the operators by kind: pooling, batch norm,
convolution, concatenation, other elementwise, optimizer, and prints each kind's share, the top
operators, and the throughput of the unprofiled steps before the profile window.

    python benchmarks/step_profile.py                                      # CPU: small settings
    python benchmarks/step_profile.py --data imagefolder:PATH --batch-size 512   # GPU
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import defaultdict
from datetime import date

import torch
from torch.profiler import ProfilerActivity, profile, schedule

from inas.data import load_dataset
from inas.model import get_preset
from inas.model.pool import use_fused_pool
from inas.train import TrainRecipe, pick_device, train

# Operator name fragments -> kind; the first match wins (backward ops share their forward's kind).
KINDS = (
    ("pool", ("max_pool", "avg_pool", "adaptive_avg")),
    ("batch norm", ("batch_norm", "native_batch_norm")),
    ("convolution", ("convolution", "conv2d", "cudnn_conv", "mkldnn_conv")),
    ("concatenation", ("aten::cat",)),
    ("optimizer", ("_foreach", "_fused_", "optimizer", "Optimizer")),
    ("matmul", ("addmm", "aten::mm", "linear")),
)
SKIP = ("ProfilerStep", "autograd::engine", "Optimizer.step", "Optimizer.zero_grad")


def kind_of(name: str) -> str:
    for kind, fragments in KINDS:
        if any(f in name for f in fragments):
            return kind
    return "other (elementwise, loss, copies)"


def self_time_us(event, gpu: bool) -> float:
    """The operator's own time on the device (GPU), else on the CPU, in microseconds."""
    if gpu:
        return getattr(event, "self_device_time_total", None) or getattr(event, "self_cuda_time_total", 0.0)
    return event.self_cpu_time_total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seed/googlenet")
    parser.add_argument("--data", default="synthetic:2000")
    parser.add_argument("--batch-size", type=int, default=None, help="default: GPU 512, CPU 32")
    parser.add_argument("--warmup-steps", type=int, default=20, help="unprofiled steps, timed for throughput")
    parser.add_argument("--steps", type=int, default=5, help="profiled steps")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--fused-pool", action="store_true", help="the pool branch through inas/model/pool_triton.py")
    args = parser.parse_args()
    use_fused_pool(args.fused_pool)

    device = pick_device(args.device)
    gpu = device.type == "cuda"
    batch = args.batch_size or (512 if gpu else 32)
    data = load_dataset(args.data)
    n = batch * (args.warmup_steps + args.steps + 1)
    if len(data.train_y) < n:
        parser.error(f"--data has {len(data.train_y)} training images; {n} needed for these steps")
    data = data.head(n, 10)
    arch = get_preset(args.preset, data.num_classes)
    recipe = TrainRecipe(epochs=1, batch_size=batch, val_fraction=0.0, augment="flip")

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    # wait: the unprofiled (timed) steps; warmup 1: the profiler's own start-up stays out of the window.
    window = schedule(wait=args.warmup_steps - 1, warmup=1, active=args.steps, repeat=1)
    marks: dict[int, float] = {}

    def on_batch(step: int, _total: int) -> None:
        if step in (2, args.warmup_steps - 1):  # step 1 pays for cuDNN's algorithm search
            if gpu:
                torch.cuda.synchronize(device)
            marks[step] = time.perf_counter()
        prof.step()

    with profile(activities=activities, schedule=window) as prof:
        result = train(arch, recipe, data, device=device, evaluate_test=False, on_batch=on_batch)
    timed = (args.warmup_steps - 1 - 2) * batch
    rate = timed / (marks[args.warmup_steps - 1] - marks[2])

    totals: dict[str, float] = defaultdict(float)
    ops: list[tuple[float, str]] = []
    for event in prof.key_averages():
        if event.key.startswith(SKIP):
            continue
        t = self_time_us(event, gpu)
        if t > 0:
            totals[kind_of(event.key)] += t
            ops.append((t, event.key))
    whole = sum(totals.values())

    name = torch.cuda.get_device_name(device) if gpu else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{date.today()}, {name}, torch {torch.__version__}, Python {platform.python_version()}")
    pool = "fused Triton max-pool" if args.fused_pool else "torch max-pool"
    print(
        f"{args.preset}, batch {batch}, {data.name}; {result.precision}, {result.memory_format} (--precision auto); {pool}"
    )
    print(f"throughput of unprofiled steps 3..{args.warmup_steps - 1}: {rate:,.0f} img/s")
    print(f"{'device' if gpu else 'CPU'} time of {args.steps} profiled steps: {whole / 1e3:,.1f} ms")
    for kind, t in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:34} {100 * t / whole:5.1f}%  {t / 1e3 / args.steps:8.2f} ms/step")
    print(f"top {args.top} operators (self time):")
    for t, op in sorted(ops, reverse=True)[: args.top]:
        print(f"  {100 * t / whole:5.1f}%  {op}")


if __name__ == "__main__":
    main()
