"""How fast does a search score candidates on a supernet, and how much of its time is not scoring?

Runs `inas search --evaluator supernet:DIR` through the real path (`run_search`: the plan, Ray, the
study, `StudySearcher`, the scorers) for `--candidates` trials, then reads the study back and prints:
candidates scored (copies of repeated proposals apart), candidates a second over the scoring span
(the first candidate's start to the last one's end), and the share of the scorers' time spent outside
scoring (1 - the records' `eval_seconds`, BatchNorm recalibration and validation, summed, over the span
times the scorers): asking and telling the study, Ray's calls, measuring each candidate's size. The
whole run's wall clock (Ray's start, the data, the scorers' start) is printed beside it.

Without `--supernet` a tiny one is trained first (`inas supernet train`, 1 epoch of synthetic data at
the smoke budget): enough for the mechanics, not for the figures, which the real data gives:

    python benchmarks/supernet_search.py                                       # tiny, a minute or two
    python benchmarks/supernet_search.py --supernet runs/sn --data-dir ~/data --candidates 300 --scorers 2
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from inas.search.batched import supernet_budget
from inas.search.runner import run_search
from inas.search.settings import SUPERNET_OBJECTIVES, SearchSettings
from inas.study.keys import DUPLICATE_KEY, EVALUATOR
from inas.study.record import TrialRecord
from inas.supernet.bundle import read_info

TINY = ["--space", "googlenet_depth_width", "--dataset", "synthetic:300", "--budget", "smoke", "--epochs", "1"]


def tiny_supernet(folder: Path) -> Path:
    out = folder / "supernet"
    print(f"training a tiny supernet ({' '.join(TINY)}) into {out} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "inas", "supernet", "train", *TINY, "--out", str(out)], check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--supernet", type=Path, help="a folder `inas supernet train` wrote (default: train a tiny one)")
    ap.add_argument("--space", help="default: the space the supernet was trained on")
    ap.add_argument("--data-dir")
    ap.add_argument("--candidates", type=int, default=40)
    ap.add_argument("--calibration-images", type=int, default=2000)
    ap.add_argument("--scorers", type=int, default=1, help="scorers at once (--max-concurrent)")
    ap.add_argument("--cpus-per-scorer", type=float, default=1.0)
    ap.add_argument("--gpus-per-scorer", type=float, default=None)
    ap.add_argument("--sampler", default="random", help="random: no sampler cost in the figures (tpe: a search's)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="inas-supernet-bench-") as tmp:
        folder = args.supernet or tiny_supernet(Path(tmp))
        info = read_info(folder)
        url = f"sqlite:///{tmp}/bench.db"
        settings = SearchSettings(
            space=args.space or info.space,
            trials=args.candidates,
            study="bench",
            storage=url,
            dataset=info.dataset,
            data_dir=args.data_dir,
            budget=supernet_budget(info),
            objectives=SUPERNET_OBJECTIVES,
            sampler=args.sampler,
            cpus_per_trial=args.cpus_per_scorer,
            gpus_per_trial=args.gpus_per_scorer,
            max_concurrent=args.scorers,
            evaluator=f"supernet:{folder}",
            calibration_images=args.calibration_images,
        )
        start = time.perf_counter()
        summary = run_search(settings, view="log")
        wall = time.perf_counter() - start
        study = optuna.load_study(study_name="bench", storage=url)
        scored = [
            TrialRecord.from_attrs(t.user_attrs)
            for t in study.get_trials(deepcopy=False)
            if EVALUATOR in t.user_attrs and DUPLICATE_KEY not in t.user_attrs
        ]
    timed = [r for r in scored if r.started_at and r.finished_at]
    if not timed:
        sys.exit(f"no candidate was scored: {summary.failure or summary.tally.words()}")
    span = max(r.finished_at for r in timed) - min(r.started_at for r in timed)
    scoring = sum(r.eval_seconds or 0.0 for r in timed)
    scorers = min(args.scorers, len(timed))
    per = [r.eval_seconds for r in timed if r.eval_seconds]
    inside = [r.finished_at - r.started_at for r in timed]
    print(
        f"supernet {info.hash} ({info.dataset}, width x{info.width:g}), {args.calibration_images:,} calibration images"
    )
    print(
        f"scorers: {scorers} x {args.cpus_per_scorer:g} CPU, {args.gpus_per_scorer or 0:g} GPU; sampler {args.sampler}"
    )
    print(f"candidates scored: {len(timed)} ({summary.tally.words()})")
    print(f"candidates per second: {len(timed) / span:.3f} (over the scoring span, {span:.1f} s)")
    busy = span * scorers
    print(
        f"share of the scorers' time outside scoring: {1 - scoring / busy:.1%} (in the scorer, measuring each "
        f"candidate's size and latency: {(sum(inside) - scoring) / busy:.1%}; between candidates, the driver "
        f"asking and telling the study and Ray's calls: {1 - sum(inside) / busy:.1%})"
    )
    print(
        f"a candidate: scoring (recalibration + validation) median {statistics.median(per):.3f} s; "
        f"in its scorer from start to end median {statistics.median(inside):.3f} s"
    )
    print(f"whole run (Ray, data, scorers' start, the study): {wall:.1f} s")


if __name__ == "__main__":
    main()
