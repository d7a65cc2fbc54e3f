"""Is the `train_time` objective steadier than the wall clock on a busy machine?

Trains one small candidate (`--preset` at `--width`: the proxy budget's 16 px, batch 64, quarter width) `--repeats`
times in each of three conditions, interleaved: `idle` (whatever else the machine runs), `busy` (one
competing `python -c 'while True: pass'` process for the whole run) and `bursts` (that process
stopped and started every `--burst` seconds: a neighbour that comes and goes). For each run it
prints the wall clock of the training epochs (`train_seconds`), the robust figure the objective
reads (`robust_train_seconds`: the median step after the warm-up x the steps) and, for comparison,
the process's CPU seconds over the whole run (evaluation and warm-up included), then, per condition,
each figure's median and spread (max/min - 1 and the coefficient of variation), and how far the
competing load moved each figure's median from the idle one.

    python benchmarks/time_objective.py                  # 2-core CPU: 15 runs of 18 steps, minutes
    python benchmarks/time_objective.py --repeats 3 --threads 2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import torch

from inas.data import synthetic
from inas.model import get_preset
from inas.model.config import scale_width
from inas.train import TrainRecipe, train

SPIN = [sys.executable, "-c", "while True: pass"]


@contextlib.contextmanager
def load(kind: str, burst: float) -> Iterator[None]:
    """`idle`: nothing more; `busy`: a spinning process throughout; `bursts`: the spinning process
    paused (SIGSTOP) and resumed (SIGCONT) every `burst` seconds."""
    if kind == "idle":
        yield
        return
    proc = subprocess.Popen(SPIN)
    stop = threading.Event()

    def toggle() -> None:
        on = True
        while not stop.wait(burst):
            on = not on
            proc.send_signal(signal.SIGCONT if on else signal.SIGSTOP)

    thread = threading.Thread(target=toggle, daemon=True) if kind == "bursts" else None
    if thread is not None:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread is not None:
            thread.join()
        proc.send_signal(signal.SIGCONT)
        proc.kill()
        proc.wait()


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, max/min - 1, coefficient of variation)."""
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if len(values) > 1 else 0.0
    return statistics.median(values), max(values) / min(values) - 1, cv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="seed/short4")
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--images", type=int, default=704, help="synthetic training images (a tenth held out)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="runs in each condition")
    ap.add_argument("--burst", type=float, default=1.0, help="seconds on / off of the bursty load")
    ap.add_argument("--threads", type=int, default=1, help="as a trial with --cpus-per-trial 1")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    arch = scale_width(get_preset(args.preset), args.width)
    recipe = TrainRecipe(epochs=args.epochs, batch_size=64, image_size=16, lr=0.05)
    data = synthetic(n_train=args.images, n_test=64, size=16)
    print(
        f"{args.preset} x{args.width:g}, {args.images} images at 16 px, batch 64, {args.epochs} epochs, "
        f"{args.threads} threads; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}; load average before: {os.getloadavg()[0]:.1f}"
    )
    train(arch, TrainRecipe(epochs=1, batch_size=64, image_size=16), data, device="cpu", evaluate_test=False)
    kinds = ("idle", "busy", "bursts")
    runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in kinds}
    for i in range(args.repeats):
        for kind in kinds:  # interleaved: a drift of the machine's other load falls on each condition alike
            with load(kind, args.burst):
                cpu = time.process_time()
                _, r = train(arch, recipe, data, device="cpu", evaluate_test=False)
                cpu = time.process_time() - cpu
            runs[kind].append((r.train_seconds, r.robust_train_seconds, cpu))
            print(
                f"  run {i + 1} {kind:6s}  wall {r.train_seconds:6.2f} s  robust {r.robust_train_seconds:6.2f} s  "
                f"cpu {cpu:6.2f} s  ({r.train_steps} steps, median {r.step_seconds * 1000:.0f} ms)",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(f"{'condition':9s} {'figure':7s} {'median s':>9s} {'max/min-1':>10s} {'CV':>6s} {'vs idle':>8s}")
    figures = ("wall", "robust", "cpu")
    idle = {name: spread([run[j] for run in runs["idle"]])[0] for j, name in enumerate(figures)}
    for kind in kinds:
        for j, name in enumerate(figures):
            med, rng, cv = spread([run[j] for run in runs[kind]])
            print(f"{kind:9s} {name:7s} {med:9.2f} {rng:10.1%} {cv:6.1%} {med / idle[name]:7.2f}x")


if __name__ == "__main__":
    main()
