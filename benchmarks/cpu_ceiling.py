"""A CPU training step against the machine's ceiling: fp32 NCHW, channels_last, bf16, bf16 + channels_last.

The ceiling: a 2048x2048 matrix product in fp32 and in bf16 on all the CPUs this process may use. The
step: `inas.train.loop.train_step` (the function every run calls for a batch) on `seed/googlenet` at
the proxy fidelity (quarter width, 16 px, batch 64) and at full width (32 px, batch 32), with the
recipe's optimizer. Achieved FLOP/s = images/s x 3 x 2 x MACs (forward MACs from `inas.model.measure`;
backward ~2x forward). Every case runs once in each repeat, in turn (interleaved, so a neighbour's load
falls on all alike); the table shows min / median / max, ratios to the case's ceiling (fp32 or bf16)
and, paired by repeat, to fp32 NCHW.

`--placement`: the same total work as 1 process x N threads (N trials one after the other) against
N processes x 1 thread (trials side by side), N = the CPUs usable here.

    python benchmarks/cpu_ceiling.py                 # the table (minutes on 2 cores with native bf16; far longer without)
    python benchmarks/cpu_ceiling.py --placement     # trial placement
    python benchmarks/cpu_ceiling.py --fp32-only     # NCHW against channels_last in fp32 (a CPU without bf16)
    python benchmarks/cpu_ceiling.py --quick         # a smoke of both: 1 repeat, 1 step, proxy at batch 16, 512x512

On a CPU without native bf16 the bf16 cases run emulated, and slowly (a 3x3 convolution in bf16 NCHW
took 22x its fp32 time on an AVX2 EPYC, a matrix product 30x): `--fidelity proxy` keeps such a run short.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date

import torch

from inas.model import get_preset, measure
from inas.model.config import scale_width
from inas.model.network import build
from inas.train import TrainRecipe
from inas.train.loop import make_optimizer, train_step
from inas.train.precision import Numerics, resolve
from inas.train.threads import set_threads, usable_cpus

PRESET = "seed/googlenet"
VARIANTS = {
    "fp32 NCHW": Numerics("fp32", "contiguous"),
    "fp32 channels_last": Numerics("fp32", "channels_last"),
    "bf16 NCHW": Numerics("bf16", "contiguous"),
    "bf16 channels_last": Numerics("bf16", "channels_last"),
}


@dataclass(frozen=True)
class Fidelity:
    name: str
    width: float
    size: int
    batch: int


class Case:
    """One network, optimizer and batch, ready to step in one precision and memory format."""

    def __init__(self, f: Fidelity, numerics: Numerics, warmup: int):
        arch = scale_width(get_preset(PRESET), f.width)
        self.fidelity, self.numerics, self.batch = f, numerics, f.batch
        self.flops_per_image = 6 * measure(arch, input_size=f.size).macs
        torch.manual_seed(0)
        self.model = build(arch)
        x = torch.randn(f.batch, arch.in_channels, f.size, f.size)
        if numerics.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        self.x, self.y = x, torch.randint(0, arch.num_classes, (f.batch,))
        self.opt = make_optimizer(self.model, TrainRecipe())
        self.model.train()
        self.step(warmup)

    def step(self, n: int) -> float:
        """Seconds for `n` training steps."""
        start = time.perf_counter()
        for _ in range(n):
            train_step(self.model, self.model.forward_train, self.opt, self.x, self.y, self.numerics)
        return time.perf_counter() - start  # the CPU runs each step to its end: no sync needed


def matmul_seconds(dtype: torch.dtype, n: int, reps: int) -> float:
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b  # warm-up: oneDNN picks its kernel
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return (time.perf_counter() - start) / reps


def spread(values: list[float], fmt: str = "{:,.1f}") -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return platform.processor() or "?"
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?")


def header(threads: int) -> None:
    print(f"command: python {shlex.join(sys.argv)}")
    print(
        f"{date.today()}, {cpu_model()}, {threads} threads ({usable_cpus()} usable CPUs), torch {torch.__version__}, "
        f"Python {platform.python_version()}"
    )
    auto = resolve("auto", torch.device("cpu"))
    print(f"inas's choice here (--precision auto): {auto.precision}, {auto.memory_format} ({auto.reason})")


def ceiling_table(args: argparse.Namespace) -> None:
    threads = set_threads(usable_cpus())
    header(threads)
    proxy = Fidelity(f"proxy (1/4 width, 16 px, batch {args.proxy_batch})", 0.25, 16, args.proxy_batch)
    fidelities = [proxy] if args.fidelity == "proxy" else [proxy, Fidelity("full width (32 px, batch 32)", 1.0, 32, 32)]
    auto = resolve("auto", torch.device("cpu"))
    if auto.precision != "bf16":
        print(f"note: bf16 runs emulated here ({auto.reason}): its figures say nothing of a CPU with bf16")
    variants = {k: v for k, v in VARIANTS.items() if not (args.fp32_only and v.precision == "bf16")}
    cases = [(f, name, Case(f, n, args.warmup)) for f in fidelities for name, n in variants.items()]
    n = args.matmul
    peak: dict[str, list[float]] = {"fp32": [], "bf16": []}
    seconds: dict[tuple[str, str], list[float]] = {(f.name, name): [] for f, name, _ in cases}
    for _ in range(args.repeats):
        for key, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            if args.fp32_only and key == "bf16":
                continue
            peak[key].append(2 * n**3 / matmul_seconds(dtype, n, args.matmul_reps))
        for f, name, case in cases:
            seconds[f.name, name].append(case.step(args.steps) / args.steps)
    print(f"\nceiling, {n}x{n} matrix product, GFLOP/s (min / median / max of {args.repeats}):")
    for key, v in peak.items():
        if v:
            print(f"  {key}: {spread([x / 1e9 for x in v])}")
    if peak["bf16"]:
        print(f"  bf16 / fp32: {statistics.median(peak['bf16']) / statistics.median(peak['fp32']):.2f}x")
    print(f"\ntraining step ({args.steps} steps a repeat, {args.repeats} repeats; min / median / max):")
    print(f"{'fidelity':<38} {'variant':<19} {'img/s':>24} {'GFLOP/s':>9} {'of ceiling':>15} {'vs fp32 NCHW':>24}")
    for f, name, case in cases:
        s = seconds[f.name, name]
        ips = [case.batch / t for t in s]
        gflops = statistics.median(ips) * case.flops_per_image / 1e9
        ceiling = statistics.median(peak[case.numerics.precision]) / 1e9
        base = seconds[f.name, "fp32 NCHW"]
        paired = [b / t for b, t in zip(base, s, strict=True)]
        print(
            f"{f.name:<38} {name:<19} {spread(ips):>24} {gflops:>9,.1f} "
            f"{gflops / ceiling:>6.0%} of {case.numerics.precision:<4} {spread(paired, '{:.2f}x'):>24}"
        )


def _trial(numerics: Numerics, fidelity: Fidelity, threads: int, steps: int, warmup: int, trials: int, go, out) -> None:
    """A placement worker: `trials` trials one after the other on `threads` threads; puts (start, end)."""
    torch.set_num_threads(threads)
    cases = [Case(fidelity, numerics, warmup) for _ in range(trials)]  # set-up is not what is timed
    out.put("ready")
    go.wait()  # every worker is built and warm
    start = time.perf_counter()
    for case in cases:
        case.step(steps)
    out.put((start, time.perf_counter()))


def placement(args: argparse.Namespace) -> None:
    """1 process x N threads against N processes x 1 thread, N trials of `steps` steps each."""
    n = max(2, usable_cpus())
    header(n)
    numerics = resolve("auto", torch.device("cpu"))
    fidelity = Fidelity("proxy", 0.25, 16, args.proxy_batch)
    steps = args.steps if args.quick else args.steps * 5
    ctx = mp.get_context("spawn")  # no forked OpenMP pools
    layouts = {f"1 process x {n} threads": (1, n, n), f"{n} processes x 1 thread": (n, 1, 1)}
    walls: dict[str, list[float]] = {k: [] for k in layouts}
    for _ in range(args.repeats):
        for label, (procs, threads, trials) in layouts.items():
            go, out = ctx.Event(), ctx.Queue()
            work = (numerics, fidelity, threads, steps, args.warmup, trials, go, out)
            workers = [ctx.Process(target=_trial, args=work) for _ in range(procs)]
            for w in workers:
                w.start()
            for _ in workers:
                assert out.get() == "ready"
            go.set()
            times = [out.get() for _ in workers]
            for w in workers:
                w.join()
            walls[label].append(max(e for _, e in times) - min(s for s, _ in times))
    images = n * steps * fidelity.batch
    print(
        f"\nplacement: {n} trials of {steps} steps ({numerics.precision}, {numerics.memory_format}, "
        f"seed/googlenet at 1/4 width, 16 px, batch {args.proxy_batch}), {args.repeats} repeats, interleaved"
    )
    for label, w in walls.items():
        print(f"  {label:<24} img/s {spread([images / t for t in w])}   wall s {spread(w, '{:.2f}')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="timed steps of each case in each repeat")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps when a case is built")
    parser.add_argument("--matmul", type=int, default=2048, help="side of the matrix product")
    parser.add_argument("--matmul-reps", type=int, default=10)
    parser.add_argument("--proxy-batch", type=int, default=64)
    parser.add_argument("--fidelity", choices=("both", "proxy"), default="both", help="proxy: skip full width")
    parser.add_argument(
        "--fp32-only", action="store_true", help="skip the bf16 cases (emulated, slow, on a CPU without it)"
    )
    parser.add_argument("--placement", action="store_true", help="trial placement instead of the table")
    parser.add_argument("--quick", action="store_true", help="a smoke: 1 repeat, 1 step, both modes")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.steps, args.warmup, args.matmul_reps, args.fidelity = 1, 1, 1, 2, "proxy"
        args.proxy_batch, args.matmul = 16, 512  # emulated bf16 multiplies at 0.3 GFLOP/s a thread
        ceiling_table(args)
        print()
        placement(args)
    elif args.placement:
        placement(args)
    else:
        ceiling_table(args)


if __name__ == "__main__":
    main()
