"""Does the supernet rank like stand-alone training? Its validation errors of the networks of stand-alone
tables (`search_quality.py table`), with the rank correlation against each table.

Trains nothing: give the folder `inas supernet train` wrote. Each network of the tables is scored as
`inas search --evaluator supernet:DIR` scores it (`inas.supernet.score`: BatchNorm recalibrated on a
fixed sample of the training split, then the validation split the supernet never trained on), once per
calibration size (0: the supernet's own BatchNorm statistics, no recalibration). Prints Spearman and
Kendall per table and size, and the seconds a candidate took; `--out` writes the errors as a CSV.

    python -m inas supernet train --space googlenet_depth --dataset imagefolder:CIFAR --budget proxy \\
        --epochs 20 --out /tmp/sn
    python benchmarks/supernet_rank.py /tmp/sn --table benchmarks/tables/googlenet_depth-long.csv \\
        --table benchmarks/tables/googlenet_depth-proxy.csv --calibration 0,250,500,2000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

import torch
from scipy.stats import kendalltau, spearmanr

from inas import __version__
from inas.data.datasets import load_dataset, subset
from inas.space.sampling import resolve
from inas.supernet.bundle import load_supernet
from inas.supernet.score import calibration_batches, recalibrated, validation_error
from inas.train.loop import data_loaders


def read_table(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("supernet", type=Path)
    ap.add_argument("--table", type=Path, action="append", required=True)
    ap.add_argument("--calibration", default="0,2000", help="comma-separated image counts (0: no recalibration)")
    ap.add_argument("--dataset", default=None, help="default: the supernet's")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.calibration.split(",")]
    supernet, info = load_supernet(args.supernet)
    layout = supernet.layout
    data = subset(load_dataset(args.dataset or info.dataset), info.data_fraction, info.recipe.seed)
    _, val, _ = data_loaders(data, layout.widest, info.recipe, torch.device("cpu"))
    image = info.recipe.image_size or layout.widest.input_size
    calibration = {n: calibration_batches(data, info.recipe, image, torch.device("cpu"), n) for n in sizes if n}
    print(
        f"# {' '.join(sys.argv)}\n# {dt.date.today()}; {platform.platform()}, {torch.get_num_threads()} threads; "
        f"inas {__version__}, torch {torch.__version__}\n# supernet {info.hash}: {info.space}, {info.epochs_done} epochs, "
        f"{sum(h['seconds'] for h in info.history) / 3600:.2f} h of training; {len(val.labels)} validation images",
        flush=True,
    )
    rows = {}
    for table in args.table:
        for row in read_table(table):
            rows.setdefault(row["params_json"], {})[table.stem] = float(row["val_top1"])
    scored: dict[str, dict[int, float]] = {}
    seconds: dict[int, list[float]] = {n: [] for n in sizes}
    for i, params in enumerate(rows):
        full, _ = resolve(layout.space, json.loads(params), info.recipe, info.classes, layout.widest.in_channels)
        arch = layout.trained(full)
        scored[params] = {}
        for n in sizes:
            start = time.perf_counter()
            buffers = recalibrated(supernet, arch, calibration[n]) if n else None
            scored[params][n] = validation_error(supernet, arch, val, buffers)[0]
            seconds[n].append(time.perf_counter() - start)
        print(
            f"{i + 1}/{len(rows)} {params}: " + ", ".join(f"{n}: {e:.4f}" for n, e in scored[params].items()),
            flush=True,
        )
    for table in args.table:
        keys = [p for p in rows if table.stem in rows[p]]
        truth = [rows[p][table.stem] for p in keys]
        for n in sizes:
            mine = [scored[p][n] for p in keys]
            rho, tau = spearmanr(mine, truth).statistic, kendalltau(mine, truth).statistic
            print(
                f"{table.stem} ({len(keys)} networks), calibration {n}: Spearman {rho:.3f}, Kendall {tau:.3f}; "
                f"{sum(seconds[n]) / len(seconds[n]):.2f} s a candidate"
            )
    if args.out:
        with open(args.out, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["params_json", *(f"supernet_val_top1_cal{n}" for n in sizes)])
            for p, errs in scored.items():
                w.writerow([p, *(f"{errs[n]:.4f}" for n in sizes)])


if __name__ == "__main__":
    main()
