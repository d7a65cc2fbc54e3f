"""Does the supernet rank like stand-alone training? Its validation errors of the networks of stand-alone
tables (`search_quality.py table`), with the rank correlation against each table.

Trains nothing: give the folder `inas supernet train` wrote. Each network of the tables is scored as
`inas search --evaluator supernet:DIR` scores it (`inas.supernet.score`: BatchNorm recalibrated on a
fixed sample of the training split, then the validation split the supernet never trained on), once per
calibration size (0: the supernet's own BatchNorm statistics, no recalibration). Prints Spearman and
Kendall per table and size, and the seconds a candidate took; `--out` writes the errors as a CSV.

`--extra-val N` also scores every network on N training images outside the supernet's data fraction
(never trained on by it, nor part of the search's validation split): far more images than the split a
proxy-fidelity supernet holds (500), so that a ranking can be told from the noise of a small split.

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
from inas.data.datasets import load_dataset, stratified_split, subset
from inas.data.loader import DeviceLoader
from inas.space.sampling import resolve
from inas.supernet.bundle import load_supernet
from inas.supernet.score import recalibrated, scoring_data, validation_error
from inas.train.loop import EVAL_BATCH
from inas.train.normalise import normalisation


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
    ap.add_argument(
        "--truth", default="val_top1,test_top1", help="the tables' columns to rank against (test: 10,000 images)"
    )
    ap.add_argument("--extra-val", type=int, default=0, help="also score on N images outside the supernet's data")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.calibration.split(",")]
    supernet, info = load_supernet(args.supernet)
    layout = supernet.layout
    full = load_dataset(args.dataset or info.dataset)
    data = subset(full, info.data_fraction, info.recipe.seed)
    calibration = {n: scoring_data(data, info.recipe, layout.widest, torch.device("cpu"), n)[0] for n in sizes}
    val = scoring_data(data, info.recipe, layout.widest, torch.device("cpu"), 0)[1]
    splits = {"val": val}
    if args.extra_val:
        outside = stratified_split(full.train_y, info.data_fraction, info.recipe.seed)[1]  # what subset() left
        pick = outside[torch.randperm(len(outside), generator=torch.Generator().manual_seed(7))[: args.extra_val]]
        mean, std = normalisation(data, info.recipe)
        image = info.recipe.image_size or layout.widest.input_size
        splits["extra"] = DeviceLoader(
            full.train_x[pick], full.train_y[pick], batch_size=EVAL_BATCH, mean=mean, std=std, size=image,
            device=torch.device("cpu"), channels_last=val.channels_last,
        )  # fmt: skip
    print(
        f"# {' '.join(sys.argv)}\n# {dt.date.today()}; {platform.platform()}, {torch.get_num_threads()} threads; "
        f"inas {__version__}, torch {torch.__version__}\n# supernet {info.hash}: {info.space}, {info.epochs_done} epochs, "
        f"{sum(h['seconds'] for h in info.history) / 3600:.2f} h of training; {len(val.labels)} validation images"
        + (f", {len(splits['extra'].labels)} extra images" if "extra" in splits else ""),
        flush=True,
    )
    truths = args.truth.split(",")
    rows: dict[str, dict[tuple[str, str], float]] = {}
    for table in args.table:
        for row in read_table(table):
            for column in truths:
                rows.setdefault(row["params_json"], {})[table.stem, column] = float(row[column])
    scored: dict[str, dict[tuple[int, str], float]] = {}
    seconds: dict[int, list[float]] = {n: [] for n in sizes}
    for i, params in enumerate(rows):
        full_arch, _ = resolve(layout.space, json.loads(params), info.recipe, info.classes, layout.widest.in_channels)
        arch = layout.trained(full_arch)
        scored[params] = {}
        for n in sizes:
            start = time.perf_counter()
            buffers = recalibrated(supernet, arch, calibration[n]) if n else None
            scored[params][n, "val"] = validation_error(supernet, arch, val, buffers)[0]
            seconds[n].append(time.perf_counter() - start)  # what a search's scorer spends on a candidate
            if "extra" in splits:
                scored[params][n, "extra"] = validation_error(supernet, arch, splits["extra"], buffers)[0]
        print(
            f"{i + 1}/{len(rows)} {params}: "
            + ", ".join(f"{n} {split}: {e:.4f}" for (n, split), e in scored[params].items()),
            flush=True,
        )
    for table in args.table:
        for column in truths:
            keys = [p for p in rows if (table.stem, column) in rows[p]]
            truth = [rows[p][table.stem, column] for p in keys]
            for n in sizes:
                for split in splits:
                    mine = [scored[p][n, split] for p in keys]
                    rho, tau = spearmanr(mine, truth).statistic, kendalltau(mine, truth).statistic
                    print(
                        f"{table.stem} {column} ({len(keys)} networks), calibration {n}, {split} "
                        f"({len(splits[split].labels)} images): Spearman {rho:.3f}, Kendall {tau:.3f}; "
                        f"{sum(seconds[n]) / len(seconds[n]):.2f} s a candidate"
                    )
    if args.out:
        with open(args.out, "w", newline="") as f:
            w = csv.writer(f)
            keys = list(next(iter(scored.values())))
            w.writerow(["params_json", *(f"supernet_{split}_top1_cal{n}" for n, split in keys)])
            for p, errs in scored.items():
                w.writerow([p, *(f"{errs[k]:.4f}" for k in keys)])


if __name__ == "__main__":
    main()
