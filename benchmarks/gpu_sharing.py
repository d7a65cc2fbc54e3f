"""Aggregate throughput of k trials sharing one device, as `--gpus-per-trial 1/k` runs them.

Each trial is a process (as a Ray Tune trial is) that trains `--preset` with `inas.train.train`; all
k start together (a barrier after data loading and building) and the aggregate is k x images over the
wall time from the barrier to the last one's end. Prints each k's aggregate and its ratio to k = 1.

    python benchmarks/gpu_sharing.py                                              # CPU: small settings
    python benchmarks/gpu_sharing.py --data imagefolder:PATH --images 20000 --epochs 2   # GPU
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date

import torch
import torch.multiprocessing as mp


def trial(args: argparse.Namespace, barrier, ends) -> None:
    from inas.data import load_dataset
    from inas.model import get_preset
    from inas.train import TrainRecipe, pick_device, train

    torch.set_num_threads(max(1, torch.get_num_threads() // args.k))
    data = load_dataset(args.data)
    data = data.head(args.images, 10)
    arch = get_preset(args.preset, data.num_classes)
    recipe = TrainRecipe(epochs=args.epochs, batch_size=args.batch_size, val_fraction=0.0, augment="flip")
    device = pick_device(args.device)
    barrier.wait()
    train(arch, recipe, data, device=device, evaluate_test=False)
    ends.put(time.perf_counter())


def aggregate(args: argparse.Namespace, k: int) -> float:
    ctx = mp.get_context("spawn")
    barrier, ends = ctx.Barrier(k + 1), ctx.Queue()
    procs = [
        ctx.Process(target=trial, args=(argparse.Namespace(**{**vars(args), "k": k}), barrier, ends)) for _ in range(k)
    ]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    last = max(ends.get() for _ in procs)
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"a trial process failed (exit {p.exitcode})")
    return k * args.epochs * (args.images // args.batch_size) * args.batch_size / (last - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seed/short4")
    parser.add_argument("--data", default="synthetic:512")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=None, help="default: GPU 512, CPU 32")
    parser.add_argument("--ks", default="1,2,4", help="trials at once, comma-separated")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    gpu = torch.cuda.is_available() and args.device != "cpu"
    args.batch_size = args.batch_size or (512 if gpu else 32)

    name = torch.cuda.get_device_name() if gpu else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{date.today()}, {name}, torch {torch.__version__}, Python {platform.python_version()}")
    print(f"{args.preset}, batch {args.batch_size}, {args.images} images x {args.epochs} epochs a trial, {args.data}")
    one = None
    for k in map(int, args.ks.split(",")):
        rate = aggregate(args, k)
        one = one or rate
        print(f"{k} at once: {rate:10,.0f} img/s together, {rate / one:.2f}x one")


if __name__ == "__main__":
    main()
