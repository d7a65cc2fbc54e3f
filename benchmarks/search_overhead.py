"""Overhead of a search per trial (scheduling, sampling, building, data hand-off) beside the trial's
own training and evaluation time, measured on the CPU in one run.

One trial at a time (`--max-concurrent 1`), so the search's wall time divides cleanly by trials:
overhead per trial = search wall time / trials - (training + evaluation seconds of the trial).

    python benchmarks/search_overhead.py [--trials 8] [--space googlenet_depth] [--dataset synthetic:200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import optuna
import ray

from inas.search import Budget, SearchSettings, run_search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="googlenet_depth")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--dataset", default="synthetic:200")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=16)
    args = parser.parse_args()

    start = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray_start = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        settings = SearchSettings(
            space=args.space,
            trials=args.trials,
            storage=url,
            dataset=args.dataset,
            budget=Budget(args.epochs, args.epochs, 1.0, args.image_size, 32),
            max_concurrent=1,
            sampler="random",
        )
        start = time.perf_counter()
        summary = run_search(settings)
        wall = time.perf_counter() - start
        trials = optuna.load_study(study_name=summary.study, storage=url).trials
    ray.shutdown()

    # Copies of repeated proposals carry their twin's record but trained nothing: the wall time is
    # spent on the trials that trained (a copy's own cost, asking the sampler again, is overhead).
    copies = [t for t in trials if "duplicate_of" in t.user_attrs]
    done = [t for t in trials if t.state.is_finished() and "train_seconds" in t.user_attrs and t not in copies]
    compute = [t.user_attrs["train_seconds"] + t.user_attrs["eval_seconds"] for t in done]
    inside = [t.user_attrs["finished_at"] - t.user_attrs["started_at"] for t in done]
    per_trial = wall / len(done)
    mean_compute = statistics.mean(compute)
    print(
        f"space {args.space}, {len(trials)} trials ({len(done)} trained, {len(copies)} copies of repeated "
        f"proposals), one at a time, {args.dataset}, "
        f"{args.epochs} epoch(s) at {args.image_size}x{args.image_size}"
    )
    print(f"Ray start-up (once a search):           {ray_start:7.2f} s")
    print(f"search wall time / trained trial:       {per_trial:7.2f} s")
    print(f"  training + evaluation / trial:        {mean_compute:7.2f} s")
    print(
        f"  inside the trial, around training:    {statistics.mean(inside) - mean_compute:7.2f} s (sample, build, measure)"
    )
    print(f"  outside the trial (Ray, data, study): {per_trial - statistics.mean(inside):7.2f} s")
    print(
        f"overhead / trial: {per_trial - mean_compute:.2f} s = {(per_trial - mean_compute) / mean_compute:.2f}x the trial's training"
    )


if __name__ == "__main__":
    main()
