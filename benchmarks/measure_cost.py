"""What it costs to measure a candidate (params, MACs, shapes) before a trial trains it.

inas measures on the meta device: shapes and counts without allocating or computing anything. The
reference in the same run builds the real network on the CPU and counts FLOPs over a real forward
pass, as a straightforward implementation would. Prints both, per candidate, and their ratio.

    python benchmarks/measure_cost.py [--n 5] [--spaces googlenet_depth,seed_variants]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from inas.model import build, count_macs, count_params, measure
from inas.space import list_spaces, load_space, sample_many


def reference(cfg) -> tuple[int, int]:
    model = build(cfg).eval()
    with torch.no_grad():
        macs = count_macs(model, torch.randn(1, cfg.in_channels, cfg.input_size, cfg.input_size))
    return count_params(model), macs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="candidates per space")
    parser.add_argument("--spaces", default=",".join(list_spaces()))
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print(f"{'space':<20} {'n':>3} {'inas meta ms':>13} {'real CPU ms':>12} {'ratio':>7}")
    for name in args.spaces.split(","):
        cands = sample_many(load_space(name), args.n, seed=0)
        ours, ref = [], []
        for c in cands:
            t = time.perf_counter()
            stats = measure(c.arch)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            params, macs = reference(c.arch)
            ref.append(time.perf_counter() - t)
            if (params, macs) != (stats.params, stats.macs):  # both paths must agree before timing means anything
                raise SystemExit(f"{name}: meta and real measurements differ for {c.arch.hash()}")
        a, b = statistics.median(ours) * 1e3, statistics.median(ref) * 1e3
        print(f"{name:<20} {len(cands):>3} {a:>13.1f} {b:>12.1f} {b / a:>6.1f}x")


if __name__ == "__main__":
    main()
