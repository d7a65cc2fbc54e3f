"""Large studies (issue 25): `inas trials`, `inas report` and optuna-dashboard's API on a study of
10,000 trials shaped like a search's, for this tree and a reference revision (a temporary git
worktree), in one run and on the same study file.

The study is what `inas search` leaves in `studies/NAME.db`: three objectives (top1_error, params,
train_time), the study's settings, and per trial the full record a trial keeps (its network and recipe
as dicts, every measured value, the learning curve) and the 36 sampled choices of
`googlenet_channels`; about 60% complete, 30% pruned (at a rung of their curve), 5% failed (a few
reasons), 3% copies of earlier trials, 2% broke a constraint. It is written through Optuna's public
API (`Study.add_trials`) in seconds.

Each command runs as a fresh `python -m inas` process (what a user waits for); the figure is the
median of `--repeats` runs, interleaved (reference, this tree, reference, ...), and the ratio is
reference / this tree. The dashboard is each tree's `inas dashboard NAME` on a free port; `/api/studies` and `/api/studies/ID` are timed cold (first request: the
server reads every trial), warm (the next requests, within optuna-dashboard's trial cache of 10 s)
and 11 s later (past it).

    python benchmarks/large_study.py [--trials 10000] [--reference REV] [--repeats 3] [--keep DIR] [--via-optuna]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "large"
SPACE = "googlenet_channels"
EPOCHS = 14
FAILURES = (
    "CUDA out of memory: Tried to allocate 2.00 GiB (GPU 0; 79.19 GiB total capacity)",
    "FloatingPointError: loss is NaN at epoch 3",
    "RuntimeError: DataLoader worker (pid 4121) is killed by signal: Killed.",
)


def make_study(folder: Path, n: int = 10_000, seed: int = 0, via_optuna: bool = False) -> str:
    """Write the study `large` in folder/studies/large.db; its storage URL. `via_optuna`: every trial
    through `Study.add_trials` (minutes: about 0.1 s a trial on this machine, loaded)."""
    import optuna
    from optuna.trial import TrialState, create_trial

    from inas import __version__
    from inas.search.plan import space_fingerprint
    from inas.space.registry import load_space
    from inas.space.sampling import sample_many
    from inas.study.keys import CURVE_KEY, DATASET_KEY, DUPLICATE_KEY, SETTINGS_KEY, VERSION_KEY
    from inas.study.record import TrialRecord
    from inas.study.storage import open_storage
    from inas.train.recipe import TrainRecipe

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    (folder / "studies").mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'studies' / f'{NAME}.db'}"
    storage = open_storage(url, create=True)
    space = load_space(SPACE)
    recipe = TrainRecipe().to_dict() | {"epochs": EPOCHS}
    study = optuna.create_study(study_name=NAME, storage=storage, directions=["minimize"] * 3)
    study.set_metric_names(["top1_error", "params", "train_time"])
    study.set_user_attr(
        SETTINGS_KEY,
        {
            "space": SPACE,
            "space_fingerprint": space_fingerprint(space),
            "objectives": ["top1_error", "params", "train_time"],
            DATASET_KEY: "cifar10",
            "recipe": recipe,
            "min_epochs": 2,
            "data_fraction": 1.0,
            "width": 1.0,
            "fidelity": f"{EPOCHS} epochs, 100% of the training set, full-size images, batch 128, full width",
            "sampler": "tpe",
            "constraint": [["macs", "<", 1.5e9]],
            "prescreen": None,
        },
    )
    study.set_user_attr(VERSION_KEY, __version__)

    rng = random.Random(seed)
    # One sampler pass for the distributions; each trial then draws its own values from them.
    cands = sample_many(space, 64, seed=seed)
    probe = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed))
    from inas.space.sampling import sample

    first = probe.ask()
    sample(space, first)
    dists = first.distributions
    base_arch = cands[0].arch.to_dict()
    trials, done = [], []
    started = time.time() - 86_400 * 3
    for number in range(n):
        params = {k: rng.choice(d.choices) for k, d in dists.items()}
        width = statistics.fmean(params.values())
        size = int(6.2e6 * width**2 * rng.uniform(0.9, 1.1))
        macs = int(size * 250 * rng.uniform(0.9, 1.1))
        seconds = 60.0 * (0.3 + 0.7 * width) * rng.uniform(0.8, 1.25)
        error = 0.07 + 0.05 / width + rng.gauss(0, 0.012)
        curve = [[e, error + 0.5 / e] for e in range(1, EPOCHS + 1)]
        arch = base_arch | {"note": f"trial {number}"}  # as big as a real one, and never the same
        record = TrialRecord(
            epochs_done=EPOCHS,
            epochs_total=EPOCHS,
            arch=arch,
            recipe=recipe,
            arch_hash=f"{rng.getrandbits(64):016x}",
            params=size,
            macs=macs,
            train_width=1.0,
            train_seconds=seconds,
            eval_seconds=seconds / 12,
            images_per_second=45_000 / seconds * EPOCHS,
            val_top1=error,
            val_top5=error / 6,
            test_top1=error + 0.004,
            test_top5=error / 6 + 0.001,
            peak_memory_bytes=int(size * 900),
            device="NVIDIA H100 80GB HBM3",
            precision="bf16",
            memory_format="channels_last",
            torch_version="2.11.0+cu128",
            inas_version=__version__,
            started_at=started + 60 * number,
            finished_at=started + 60 * number + seconds,
            node=f"node-{number % 4}",
        )
        roll = rng.random()
        state, values, attrs = TrialState.COMPLETE, [error, size, seconds], None
        if roll < 0.30:  # stopped by ASHA at a rung
            rung = rng.choice((2, 4, 8))
            state, values, curve = TrialState.PRUNED, None, curve[:rung]
            record = record.replace(epochs_done=rung, val_top1=curve[-1][1], train_seconds=seconds * rung / EPOCHS)
        elif roll < 0.35:
            state, values, curve = TrialState.FAIL, None, curve[:1]
            record = record.replace(epochs_done=1, fail_reason=rng.choice(FAILURES))
        elif roll < 0.37:  # broke --constraint: measured, never trained
            state, values, curve = TrialState.PRUNED, None, []
            record = record.replace(
                epochs_done=0, val_top1=None, infeasible=f"macs {macs:,.4g} is not < 1.5e+09", train_seconds=None
            )
        elif roll < 0.40 and done:  # a repeated proposal that reused an earlier trial's outcome
            twin = rng.choice(done)
            attrs = {**twin.user_attrs, DUPLICATE_KEY: twin.number}
            state, values, params = TrialState.COMPLETE, list(twin.values), twin.params
        if attrs is None:
            attrs = record.user_attrs()
            if curve:
                attrs[CURVE_KEY] = curve
        trial = create_trial(state=state, values=values, params=params, distributions=dists, user_attrs=attrs)
        trial.number = number  # only to look a twin up here; add_trials numbers them itself
        if state == TrialState.COMPLETE and DUPLICATE_KEY not in attrs:
            done.append(trial)
        trials.append(trial)
    if via_optuna:
        study.add_trials(trials)  # one transaction a trial, a query a value: about 0.1 s a trial here
    else:
        study.add_trial(trials[0])  # Optuna writes the first: the rows below copy its formats
        bulk_insert(folder / "studies" / f"{NAME}.db", storage.get_study_id_from_name(NAME), trials[1:], 1)
    storage.engine.dispose()
    check_study(url, trials)
    return url


def bulk_insert(db: Path, study_id: int, trials: list, first: int) -> None:
    """The trials as rows of Optuna's tables (schema v12, Optuna 4-5), in one transaction: what
    `Study.add_trials` writes, without its ORM round-trip a value. `check_study` reads them back."""
    import sqlite3

    from optuna.distributions import distribution_to_json

    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        (last,) = conn.execute("SELECT MAX(trial_id) FROM trials").fetchone()
        rows = {"trials": [], "trial_values": [], "trial_params": [], "trial_user_attributes": []}
        for i, t in enumerate(trials):
            tid = last + 1 + i
            rows["trials"].append((tid, first + i, study_id, t.state.name, stamp, stamp))
            rows["trial_values"] += [(tid, k, v, "FINITE") for k, v in enumerate(t.values or [])]
            rows["trial_params"] += [
                (tid, k, t.distributions[k].to_internal_repr(v), distribution_to_json(t.distributions[k]))
                for k, v in t.params.items()
            ]
            rows["trial_user_attributes"] += [(tid, k, json.dumps(v)) for k, v in t.user_attrs.items()]
        conn.executemany("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?)", rows["trials"])
        conn.executemany(
            "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?)",
            rows["trial_values"],
        )
        conn.executemany(
            "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)",
            rows["trial_params"],
        )
        conn.executemany(
            "INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (?, ?, ?)",
            rows["trial_user_attributes"],
        )


def check_study(url: str, trials: list) -> None:
    """Optuna reads back the trials that were written, number for number."""
    import optuna

    got = optuna.load_study(study_name=NAME, storage=url).get_trials(deepcopy=False)
    assert len(got) == len(trials), (len(got), len(trials))
    for a, b in zip(got, trials, strict=True):
        same = (a.state, a.values, a.params, a.user_attrs) == (b.state, b.values, b.params, b.user_attrs)
        assert same, f"trial {a.number} does not read back as written"


def run_inas(tree: Path, args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one `python -m inas ARGS` process: on a shared,
    loaded machine the wall clock also counts the neighbours' time."""
    import resource

    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "100"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "inas", *args], cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[float, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as answer:
        size = len(answer.read())
    return time.perf_counter() - start, size


def time_dashboard(tree: Path, cwd: Path) -> dict[str, float]:
    """`inas dashboard NAME` of `tree` (optuna-dashboard on the study): seconds of each API request."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    server = subprocess.Popen(
        [sys.executable, "-m", "inas", "dashboard", NAME, "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(OSError):
                get(f"{base}/api/meta")
                break
            time.sleep(0.1)
        studies_s, _ = get(f"{base}/api/studies")
        with urllib.request.urlopen(f"{base}/api/studies", timeout=60) as answer:
            study_id = json.loads(answer.read())["study_summaries"][0]["study_id"]
        cold, size = get(f"{base}/api/studies/{study_id}")
        warm = statistics.median(get(f"{base}/api/studies/{study_id}")[0] for _ in range(3))
        time.sleep(11)  # past the dashboard's own cache of the trials (10 s): what a page open a while asks
        later, _ = get(f"{base}/api/studies/{study_id}")
        importances, _ = get(f"{base}/api/studies/{study_id}/param_importances?objective_id=0")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "GET /api/studies": studies_s,
        "GET /api/studies/ID (cold)": cold,
        "GET /api/studies/ID (warm)": warm,
        "GET /api/studies/ID (11 s later)": later,
        "GET .../param_importances": importances,
        "detail bytes": size,
    }


def versions() -> str:
    from importlib.metadata import version

    names = ("optuna", "optuna-dashboard", "pandas", "plotly", "numpy", "SQLAlchemy")
    return ", ".join(f"{n} {version(n)}" for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--reference", default=None, help="Git revision to compare with (default: none).")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="Write the study here and keep it.")
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument("--via-optuna", action="store_true", help="Write every trial with Study.add_trials (slow).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        work = args.keep or tmp / "work"
        trees = {"this tree": ROOT}
        if args.reference:
            ref = tmp / "reference"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(ref), args.reference],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            trees = {f"reference {args.reference}": ref, **trees}
        try:
            db = work / "studies" / f"{NAME}.db"
            start = time.perf_counter()
            if db.exists():
                print(f"study: {db} (kept from an earlier run)")
            else:
                make_study(work, args.trials, via_optuna=args.via_optuna)
                print(
                    f"study: {args.trials:,} trials written in {time.perf_counter() - start:.1f} s, {db.stat().st_size / 1e6:.1f} MB"
                )
            print(f"command: python benchmarks/large_study.py {' '.join(sys.argv[1:])}")
            print(f"date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; load average {os.getloadavg()}")
            print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
            print(versions())
            commands = {
                "inas trials": ["trials", NAME],
                "inas trials --format csv": ["trials", NAME, "--format", "csv", "--out", "t.csv"],
                "inas report": ["report", NAME, "--out", "r.html"],
            }
            times: dict[str, dict[str, list[tuple[float, float]]]] = {c: {t: [] for t in trees} for c in commands}
            sizes = {}
            for _ in range(args.repeats):
                for cmd, argv in commands.items():
                    for label, tree in trees.items():
                        times[cmd][label].append(run_inas(tree, argv, work))
                        if cmd == "inas report":
                            sizes[label] = (work / "r.html").stat().st_size
            header = "".join(f"{label:>22}" for label in trees)
            print(f"\n{'median of ' + str(args.repeats):<34}{header}{'ratio':>8}")
            for cmd in commands:
                for what, i in (("wall", 0), ("CPU", 1)):
                    med = [statistics.median(r[i] for r in times[cmd][t]) for t in trees]
                    ratio = f"{med[0] / med[-1]:>7.1f}x" if len(med) > 1 else ""
                    print(f"{cmd + ' (' + what + ')':<34}" + "".join(f"{m:>20.2f} s" for m in med) + ratio)
            print(f"{'report HTML size':<34}" + "".join(f"{sizes[t] / 1e6:>19.2f} MB" for t in trees))
            if not args.no_dashboard:
                print()
                found = {label: time_dashboard(tree, work) for label, tree in trees.items()}
                for key in next(iter(found.values())):
                    cells = "".join(
                        f"{v[key]:>20,.0f} B" if key.endswith("bytes") else f"{v[key]:>20.2f} s" for v in found.values()
                    )
                    print(f"{'dashboard ' + key:<40}{cells}")
            print(f"load average after: {os.getloadavg()}")
        finally:
            if args.reference:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(tmp / "reference")],
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                )


if __name__ == "__main__":
    main()
