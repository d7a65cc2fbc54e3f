"""How fast the CLI answers: `inas --version`, `inas --help` and `inas trials` on a 50-trial study, and
how fast it refuses a bad option (issue 26: each under 1 s, before torch, Ray or the data load), for this
tree and for a reference revision of the repository (checked out in a temporary worktree), in one run.

Each command runs as a fresh `python -m inas` process (what a user waits for); the figure is the median
wall time of `--repeats` runs, and the ratio is reference / this tree. A refusal must exit with 2 (a tree
where it exits otherwise shows `other exit`); the startup commands with 0.

    python benchmarks/cli_startup.py [--reference REV] [--repeats 5] [--only refusals]
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


# Bad options a user types, one per command family: each must be refused (exit 2) without loading torch,
# Ray or the data. `bench` is the 50-trial study made in studies/ of the working folder.
REFUSALS = {
    "search --budget smok": ["search", "--space", "googlenet_depth", "--study", "fresh", "--budget", "smok"],
    "search, study exists": ["search", "--space", "googlenet_depth", "--study", "bench", "--dataset", "synthetic"],
    "search --dataset cifar11": ["search", "--space", "googlenet_depth", "--study", "fresh", "--dataset", "cifar11"],
    "train --device gpu": ["train", "--preset", "seed/short4", "--dataset", "synthetic", "--device", "gpu"],
    "export, no such study": ["export", "nosuch", "--out", "model"],
    "trials, no such study": ["trials", "nosuch"],
    "reproduce --variants Foo": ["reproduce", "seed-table", "--variants", "Foo"],
}


def run_once(tree: Path, args: list[str], cwd: Path) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k != "INAS_HOME"} | {"PYTHONPATH": str(tree)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "inas", *args], cwd=cwd, env=env, capture_output=True)
    return time.perf_counter() - start, proc.returncode


def timed(trees: tuple[Path, Path], args: list[str], cwd: Path, repeats: int, code: int = 0) -> list[float | None]:
    """Median seconds of `repeats` runs of each tree, interleaved (a load that comes and goes weighs on
    both alike); None for a tree where the command exits otherwise than with `code`."""
    times: list[list[float]] = [[], []]
    codes: list[set[int]] = [set(), set()]
    for _ in range(repeats):
        for i, tree in enumerate(trees):
            seconds, rc = run_once(tree, args, cwd)
            times[i].append(seconds)
            codes[i].add(rc)
    return [statistics.median(t) if c == {code} else None for t, c in zip(times, codes, strict=True)]


def row(name: str, before: float | None, now: float | None) -> str:
    def cell(t: float | None) -> str:
        return "other exit" if t is None else f"{t:.2f} s"

    ratio = f"{before / now:.1f}x" if before and now else "-"
    return f"{name:<26} {cell(before):>20} {cell(now):>11} {ratio:>7}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="8c84e56", help="Git revision to compare with (before the redesign).")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=("startup", "refusals"), help="Time only these commands.")
    args = parser.parse_args()
    commands = {"--version": ["--version"], "--help": ["--help"], "trials (50)": ["trials", "bench.db"]}
    if args.only == "refusals":
        commands = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref = tmp / "reference"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(ref), args.reference], cwd=ROOT, check=True, capture_output=True
        )
        try:
            make_study(tmp)
            (tmp / "studies").mkdir()
            (tmp / "studies" / "bench.db").write_bytes((tmp / "bench.db").read_bytes())  # the default storage
            print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
            print(f"{'command':<26} {'reference ' + args.reference:>20} {'this tree':>11} {'ratio':>7}")
            for name, argv in commands.items():
                print(row(name, *timed((ref, ROOT), argv, tmp, args.repeats)), flush=True)
            if args.only != "startup":
                for name, argv in REFUSALS.items():
                    print(row(name, *timed((ref, ROOT), argv, tmp, args.repeats, code=2)), flush=True)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(ref)], cwd=ROOT, check=True, capture_output=True
            )


if __name__ == "__main__":
    main()
