"""Issue 25 (c): three whole search pipelines at equal wall time, judged by stand-alone errors only.

(i)   `standalone`: a TPE search that trains every candidate at the budget, stopped after `--minutes`;
(ii)  `supernet` with TPE: train a supernet, a TPE search of `--candidates` over it, its `--retrain` best
      (a greedy hypervolume subset of its (error, params) points) trained stand-alone at the budget;
(iii) the same with a random search over the same supernet (trained once per seed: both pipelines
      count its training in their wall time).

Every step is the `inas` command a user runs (as a subprocess, its wall clock recorded in
`DIR/sS/steps.json`); a step already recorded there is not run again, so a pipeline stopped between
steps goes on. Each pipeline gets one core (`OMP_NUM_THREADS=1`, one trial or scorer at a time), so two
run side by side on the 2-core machine: (ii) on one core and (i) on the other (`--match` stops it, as
Ctrl-C would, once it has run as long as (ii) took), then (iii) over (ii)'s supernet. `hv` compares
what each found: the hypervolume of the complete stand-alone trials' (val error, params), against one
reference point for every seed.

    python benchmarks/pipelines.py run supernet --seed 0 --dir /work/pipe --data-dir /work/cifar --samplers tpe
    python benchmarks/pipelines.py run standalone --match --seed 0 --dir /work/pipe --data-dir /work/cifar
    python benchmarks/pipelines.py run supernet --seed 0 --dir /work/pipe --data-dir /work/cifar --samplers random
    python benchmarks/pipelines.py hv --dir /work/pipe
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna

from inas.files import write_atomic
from inas.limits import MAX_TIMEOUT_S
from inas.report.data import hypervolume, pareto_info
from inas.search.settings import BUDGETS

SPACE = "googlenet_depth_width"
OBJECTIVES = ("top1_error", "params")
PIPELINES = {"standalone": "(i) stand-alone TPE", "tpe": "(ii) supernet + TPE", "random": "(iii) supernet + random"}
# The reference point of every hypervolume: chance error on CIFAR-10 (a network that learned nothing),
# and more parameters than the widest network of the space (6.67M; a study records full-width counts).
REFERENCE = (0.9, 7.5e6)
BOX = REFERENCE[0] * REFERENCE[1]  # hypervolumes are printed as a share of the box below the reference


def inas(*args: str) -> list[str]:
    return [sys.executable, "-m", "inas", *args]


def url(folder: Path, name: str) -> str:
    return f"sqlite:///{folder / name}.db"


class Steps:
    """The steps of one seed's pipelines, their commands and wall clocks, kept in steps.json."""

    def __init__(self, folder: Path):
        self.path = folder / "steps.json"

    @property
    def done(self) -> dict:
        # Read afresh each time: another pipeline of the seed may record steps meanwhile (side by side).
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def run(self, name: str, command: list[str], stop: Callable[[float], bool] | None = None) -> None:
        """Run `command` as step `name` unless recorded; `stop(seconds)` true: Ctrl-C it (exit 130 is then its end)."""
        done = self.done
        if name in done:
            print(f"{name}: done before ({done[name]['seconds']:,.0f} s)", flush=True)
            return
        print(f"{name}: {' '.join(command)}", flush=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        start = time.time()
        stopped = False
        with open(self.path.parent / f"{name}.log", "w") as log:
            child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            while child.poll() is None:
                time.sleep(2)
                if stop is not None and not stopped and stop(time.time() - start):
                    child.send_signal(signal.SIGINT)  # the user's Ctrl-C: the search keeps what finished
                    stopped = True
            rc = child.wait()
        seconds = time.time() - start
        if rc != 0 and not (stopped and rc == 130):
            raise SystemExit(f"{name} failed (exit {rc}); see {self.path.parent / name}.log")
        done = {**self.done, name: {"command": command, "start": start, "seconds": seconds, "rc": rc}}
        write_atomic(self.path, json.dumps(done, indent=1), option="steps.json")
        print(f"{name}: {seconds:,.0f} s (exit {rc})", flush=True)


def search_args(folder: Path, study: str, args: argparse.Namespace) -> list[str]:
    """The options every search of a pipeline shares: one trial (or scorer) at a time, (error, params)."""
    return (
        f"search --space {SPACE} --study {study} --storage {url(folder, study)} --seed {args.seed} "
        f"--objectives {','.join(OBJECTIVES)} --max-concurrent 1 --quiet"
    ).split()  # the folders hold no spaces


def pick(storage: str, study: str, n: int) -> list[dict]:
    """The `n` complete trials that together dominate the most (error, params), chosen greedily, best first."""
    loaded = optuna.load_study(study_name=study, storage=storage)
    frame = pareto_info(loaded)
    points = frame[list(OBJECTIVES)].to_numpy(dtype=float)
    chosen: list[int] = []
    for _ in range(min(n, len(frame))):
        gains = [-1.0 if i in chosen else hypervolume(points[[*chosen, i]], REFERENCE) for i in range(len(points))]
        chosen.append(int(np.argmax(gains)))
    params = {t.number: t.params for t in loaded.get_trials(deepcopy=False)}
    return [params[int(frame["number"].iloc[i])] for i in chosen]


def pipeline_seconds(done: dict, pipeline: str) -> float | None:
    """The wall clock of a pipeline's recorded steps (the supernet's training counted in both), None if unfinished."""
    names = (
        ["standalone"]
        if pipeline == "standalone"
        else ["supernet_train", f"supernet_{pipeline}", f"retrain_{pipeline}"]
    )
    return sum(done[n]["seconds"] for n in names) if all(n in done for n in names) else None


def run(args: argparse.Namespace) -> None:
    folder = (args.dir / f"s{args.seed}").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    steps = Steps(folder)
    data = ["--dataset", args.dataset or f"imagefolder:{args.data_dir}", "--budget", args.budget]
    if args.pipeline == "standalone":
        # --match: no --timeout; Ctrl-C once the search has run as long as (ii) took on this seed.
        timeout_s = MAX_TIMEOUT_S if args.match else args.minutes * 60
        endless = f"--sampler tpe --trials 100000 --timeout {timeout_s:.0f}"
        stop = (
            (lambda seconds: seconds >= (pipeline_seconds(steps.done, "tpe") or float("inf"))) if args.match else None
        )
        steps.run("standalone", inas(*search_args(folder, "standalone", args), *data, *endless.split()), stop)
        return
    supernet = folder / "supernet"
    train = f"supernet train --space {SPACE} --epochs {args.supernet_epochs} --seed {args.seed} --out {supernet}"
    steps.run("supernet_train", inas(*train.split(), *data))
    for sampler in args.samplers.split(","):
        study = f"supernet_{sampler}"
        scoring = f"--evaluator supernet:{supernet} --sampler {sampler} --trials {args.candidates}"
        steps.run(
            study,
            inas(*search_args(folder, study, args), *scoring.split(), "--calibration-images", str(args.calibration)),
        )
        shortlist = folder / f"{study}-best.json"
        if not shortlist.exists():
            shortlist.write_text(json.dumps(pick(url(folder, study), study, args.retrain), indent=1))
        retrain = f"retrain_{sampler}"
        # ASHA off (--min-epochs = the budget's epochs): each pick is trained whole, as it would be deployed.
        epochs = args.epochs or BUDGETS.get(args.budget, "--budget").epochs
        whole = (
            f"--sampler random --warm-start {shortlist} --trials {args.retrain} --epochs {epochs} --min-epochs {epochs}"
        )
        steps.run(retrain, inas(*search_args(folder, retrain, args), *data, *whole.split()))


def hv(args: argparse.Namespace) -> None:
    """The hypervolume of each pipeline's stand-alone trials, a row a seed, and their mean and spread."""
    rows: dict[str, list[float]] = {p: [] for p in PIPELINES}
    print(
        f"hypervolume of (val error, params) of the complete stand-alone trials, a share of the box below {REFERENCE}"
    )
    print(f"{'seed':<6}" + "".join(f"{PIPELINES[p]:>28}" for p in PIPELINES))
    for folder in sorted(args.dir.glob("s[0-9]*")):
        steps = json.loads((folder / "steps.json").read_text())
        line = f"{folder.name[1:]:<6}"
        for p in PIPELINES:
            study = "standalone" if p == "standalone" else f"retrain_{p}"
            if study not in steps:
                line += f"{'-':>28}"
                continue
            frame = pareto_info(optuna.load_study(study_name=study, storage=url(folder, study)))
            volume = hypervolume(frame[list(OBJECTIVES)].to_numpy(dtype=float), REFERENCE) / BOX
            seconds = pipeline_seconds(steps, p)
            best = frame["top1_error"].min()
            rows[p].append(volume)
            trained = int(frame["duplicate_of"].isna().sum())  # a copy of an earlier trial trained nothing
            line += f"{volume:>10.4f} ({trained:>3}, {best:.3f}, {seconds / 60:>3.0f} min)"
        print(line)
    print("(each cell: hypervolume (complete stand-alone trainings, best val error, the pipeline's wall clock))")
    for p, values in rows.items():
        if values:
            sd = np.std(values, ddof=1) if len(values) > 1 else float("nan")
            print(
                f"{PIPELINES[p]}: mean {np.mean(values):.4f}, sd {sd:.4f}, min {min(values):.4f}, "
                f"max {max(values):.4f} over {len(values)} seed(s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one seed's pipeline(s); steps already recorded are skipped")
    r.add_argument("pipeline", choices=["standalone", "supernet"], help="supernet: (ii) and (iii), one supernet")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--dir", type=Path, required=True, help="one folder a seed below it (s0, s1, ...)")
    r.add_argument("--data-dir", type=Path, help="the CIFAR-10 image folder")
    r.add_argument("--dataset", help="instead of --data-dir (synthetic:300 with --budget smoke: a dry run)")
    r.add_argument("--budget", default="proxy")
    r.add_argument("--epochs", type=int, help="of each retraining, ASHA off (default: the budget's)")
    r.add_argument("--minutes", type=float, default=72, help="(i)'s wall clock: (ii)'s, measured on seed 0")
    r.add_argument("--match", action="store_true", help="(i): run as long as (ii) of the seed took, once known")
    r.add_argument("--supernet-epochs", type=int, default=42)
    r.add_argument("--candidates", type=int, default=1000)
    r.add_argument("--calibration", type=int, default=250)
    r.add_argument("--retrain", type=int, default=5)
    r.add_argument(
        "--samplers",
        default="tpe,random",
        choices=["tpe,random", "tpe", "random"],
        help="supernet: which of (ii), (iii) to run (each on its own core once the supernet is trained)",
    )
    h = sub.add_parser("hv", help="compare the pipelines' hypervolumes over the seeds found in --dir")
    h.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    {"run": run, "hv": hv}[args.command](args)


if __name__ == "__main__":
    main()
