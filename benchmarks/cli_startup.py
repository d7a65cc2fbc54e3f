"""How fast the CLI answers: `inas --version`, `inas --help` and `inas trials` on a 50-trial study, for
this tree and for a reference revision of the repository (checked out in a temporary worktree), in one run.

Each command runs as a fresh `python -m inas` process (what a user waits for); the figure is the median
wall time of `--repeats` runs, and the ratio is reference / this tree.

    python benchmarks/cli_startup.py [--reference REV] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_study(folder: Path, n: int = 50) -> Path:
    """A study as `inas search` leaves it: three objectives, the trial record, sampled choices."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    path = folder / "bench.db"
    study = optuna.create_study(
        study_name="bench",
        storage=f"sqlite:///{path}",
        directions=["minimize"] * 3,
        sampler=optuna.samplers.RandomSampler(0),
    )
    study.set_metric_names(["top1_error", "params", "train_time"])
    for i in range(n):
        t = study.ask()
        depth = [t.suggest_int(f"depth.{s}", 1, 5) for s in (3, 4, 5)]
        err, params, seconds = 0.1 + 0.8 / (1 + sum(depth)), 1e6 * sum(depth), 10.0 * sum(depth)
        for key, value in dict(val_top1=err, params=params, train_seconds=seconds, arch_hash=f"{i:012x}").items():
            t.set_user_attr(key, value)
        t.set_user_attr("val_top1_curve", [[1, err + 0.1], [2, err]])
        study.tell(t, [err, params, seconds])
    return path


def timed(tree: Path, args: list[str], cwd: Path, repeats: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "inas", *args], cwd=cwd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="8c84e56", help="Git revision to compare with (before the redesign).")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    commands = {"--version": ["--version"], "--help": ["--help"], "trials (50)": ["trials", "bench.db"]}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref = tmp / "reference"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(ref), args.reference], cwd=ROOT, check=True, capture_output=True
        )
        try:
            make_study(tmp)
            print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
            print(f"{'command':<14} {'reference ' + args.reference:>20} {'this tree':>10} {'ratio':>7}")
            for name, argv in commands.items():
                before = timed(ref, argv, tmp, args.repeats)
                now = timed(ROOT, argv, tmp, args.repeats)
                print(f"{name:<14} {before:>18.2f} s {now:>8.2f} s {before / now:>6.1f}x")
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(ref)], cwd=ROOT, check=True, capture_output=True
            )


if __name__ == "__main__":
    main()
