"""Does the search beat chance? A tabular benchmark of a small space on real CIFAR-10, and sampler replays on it.

`table`: train every point of a finite space (default `googlenet_depth`, 63 networks) once at a budget,
on real CIFAR-10 from the shared tarball, exactly as a search trial would (a reduced-width copy where the
budget says so; params and MACs of the full network), and write one CSV row per network. Rows already in
the CSV are kept, so an interrupted run continues.

`replay`: run Optuna's samplers against the table, as Syne Tune and NAS-Bench-201 simulate searches:
inas's own `StudySearcher` and `SearchPlan` propose, screen and handle repeats exactly as in `inas
search`, and a trial looks its network up in the table instead of training it (no Ray). Hypervolume of
(val error, params, train seconds) after every trained trial, against one reference point (1.1 x the
table's worst value of each objective), as a fraction of the table's own front; the size of that front
is printed beside it.

`table --pick N --from TABLE` trains only N networks of an existing table, spread over it (its 2-D
front of val error and params first, then evenly by error), and `--epochs/--data-fraction/--width/
--image-size` lengthen the budget; `compare CHEAP LONG` prints the rank correlation of their errors: how
far the cheap fidelity can be trusted.

    python benchmarks/search_quality.py table --budget proxy --workers 2
    python benchmarks/search_quality.py table --budget proxy --epochs 6 --data-fraction 0.3 --label long \\
        --from benchmarks/tables/googlenet_depth-proxy.csv --pick 12
    python benchmarks/search_quality.py compare benchmarks/tables/googlenet_depth-proxy.csv \\
        benchmarks/tables/googlenet_depth-long.csv
    python benchmarks/search_quality.py replay benchmarks/tables/googlenet_depth-proxy.csv --seeds 50
    python benchmarks/search_quality.py proxies benchmarks/tables/googlenet_depth-proxy.csv \\
        --out benchmarks/tables/googlenet_depth-proxy-scores.csv
    python benchmarks/search_quality.py replay benchmarks/tables/googlenet_depth-proxy.csv --samplers random,tpe \\
        --prescreen 4 --scores benchmarks/tables/googlenet_depth-proxy-scores.csv
    python benchmarks/search_quality.py constrained benchmarks/tables/googlenet_depth-proxy.csv --constraint 'params<5e6'
    python benchmarks/search_quality.py table --space googlenet_depth_width --sample 20 --epochs 6 --data-fraction 0.3 \\
        --label long --workers 2
    python benchmarks/search_quality.py cost --space googlenet_channels --sampler gp
    python benchmarks/search_quality.py cost --space googlenet_depth_width --sampler tpe --storage sqlite,mirror \\
        --in-flight 32 --marks 100,200,400,600,800,1000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARBALL = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"
OBJECTIVES = ("val_top1", "params", "train_seconds")  # inas's default objectives, as recorded
COLUMNS = [
    "config_hash",
    "params_json",
    "val_top1",
    "test_top1",
    "params",
    "macs",
    "train_seconds",
    "budget",
    "fidelity",
]


# -- the table ------------------------------------------------------------------------------


def all_points(space) -> list[dict]:
    """Every assignment of a space whose dimensions are all unconditional and discrete."""
    from inas.space.dims import dimensions

    dims = [d for d in dimensions(space) if d.dim.varies]
    if any(d.condition for d in dims):
        raise SystemExit(f"{space.name}: conditional dimensions; the table needs a space without them")
    return [
        dict(zip((d.name for d in dims), values, strict=True))
        for values in itertools.product(*(d.dim.values() for d in dims))
    ]


_JOB: dict = {}  # what each worker process trains on (inherited through fork)


def _train_point(params: dict) -> dict:
    import torch

    from inas.model.config import scale_width
    from inas.model.stats import measure
    from inas.space.sampling import resolve
    from inas.train.loop import train

    torch.set_num_threads(1)
    space, recipe, data, budget = _JOB["space"], _JOB["recipe"], _JOB["data"], _JOB["budget"]
    arch, rec = resolve(space, params, recipe, data.num_classes, data.channels)
    stats = measure(arch, input_size=rec.image_size or None)
    _, result = train(scale_width(arch, budget.width), rec, data, device="cpu")
    return {
        "config_hash": arch.hash(),
        "params_json": json.dumps(params, sort_keys=True),
        "val_top1": result.val_top1,
        "test_top1": result.test_top1,
        "params": stats.params,
        "macs": stats.macs,
        "train_seconds": round(result.train_seconds, 3),
        "budget": _JOB["budget_name"],
        "fidelity": budget.fidelity(),
    }


def spread(frame, n: int) -> list[str]:
    """`n` rows of a table spread over it: its 2-D front (val error, params) first, then evenly by error."""
    ordered = frame.sort_values(["params", "val_top1"])
    front = ordered[ordered["val_top1"] < ordered["val_top1"].cummin().shift(fill_value=float("inf"))]
    picked = list(front["params_json"])[:n]
    rest = frame[~frame["params_json"].isin(picked)].sort_values("val_top1")
    need = n - len(picked)
    if need > 0:
        step = (len(rest) - 1) / max(need - 1, 1)
        picked += [rest["params_json"].iloc[round(i * step)] for i in range(need)]
    return [json.dumps(json.loads(p), sort_keys=True) for p in picked]


def table(args: argparse.Namespace) -> None:
    import dataclasses

    import torch

    from inas.data.datasets import load_dataset, subset
    from inas.search.settings import BUDGETS
    from inas.space.registry import load_space
    from inas.train.precision import resolve as resolve_numerics
    from inas.train.recipe import TrainRecipe

    space, budget = load_space(args.space), BUDGETS.get(args.budget, "--budget")
    longer = {k: v for k in ("epochs", "data_fraction", "width", "image_size") if (v := getattr(args, k)) is not None}
    budget = dataclasses.replace(budget, **longer)
    label = args.label or args.budget
    out = Path(args.out or ROOT / "benchmarks" / "tables" / f"{space.name}-{label}.csv")
    done = set()
    if out.exists():
        with open(out) as f:
            done = {r["params_json"] for r in csv.DictReader(line for line in f if not line.startswith("#"))}
    if args.sample:  # a space too large (or conditional) to train whole: networks drawn at random, seeded
        from inas.space.sampling import sample_many

        drawn = [c.params for c in sample_many(space, args.sample, seed=args.seed)]
    elif args.points:  # chosen networks: a CSV with a params_json column (supernet_rank.py's, a table)
        drawn = [json.loads(p) for p in read_table(Path(args.points))[1]["params_json"]]
    else:
        drawn = all_points(space)
    points = [p for p in drawn if json.dumps(p, sort_keys=True) not in done]
    if args.pick:
        wanted = set(spread(read_table(Path(args.source))[1], args.pick))
        points = [p for p in points if json.dumps(p, sort_keys=True) in wanted]
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(args.data) as tar:
            tar.extractall(tmp, filter="data")
        data = subset(load_dataset(f"imagefolder:{tmp}"), budget.data_fraction, args.seed)
    data = dataclasses.replace(data, name="cifar10-jpg")
    recipe = dataclasses.replace(
        TrainRecipe(), epochs=budget.epochs, batch_size=budget.batch_size, image_size=budget.image_size, seed=args.seed
    )
    _JOB.update(space=space, recipe=recipe, data=data, budget=budget, budget_name=label)
    new = not out.exists()
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"{len(points)} networks to train ({len(done)} in {out} already), {args.workers} workers", flush=True)
    start = time.time()
    with open(out, "a", newline="") as f:
        # Rows added to a table later say which command added them (readers skip `#` lines).
        f.write(
            f"# {'command' if new else 'added by'}: python benchmarks/search_quality.py table {' '.join(sys.argv[2:])}\n"
        )
        f.write(f"# date: {dt.date.today()}; machine: {platform.platform()}, {os.cpu_count()} CPUs, no GPU\n")
        f.write(f"# data: {Path(args.data).name}, {len(data.train_y)} training images; {budget.fidelity()}\n")
        numerics = resolve_numerics(recipe.precision, torch.device("cpu"))
        f.write(
            f"# numerics: {numerics.precision}, {numerics.memory_format} ({numerics.reason}); torch {torch.__version__}\n"
        )
        writer = csv.DictWriter(f, COLUMNS)
        if new:
            writer.writeheader()
        with mp.get_context("fork").Pool(args.workers) as pool:
            for i, row in enumerate(pool.imap_unordered(_train_point, points), 1):
                writer.writerow(row)
                f.flush()
                print(
                    f"{i}/{len(points)} {row['params_json']} val {row['val_top1']:.4f} "
                    f"{row['train_seconds']:.0f} s ({time.time() - start:.0f} s so far)",
                    flush=True,
                )


# -- zero-cost proxies ----------------------------------------------------------------------


def proxies(args: argparse.Namespace) -> None:
    """Score every network of a table with the zero-cost proxies as `inas search --proxies` and
    `--prescreen` score a candidate (the budget's width and image size, one batch of the training split
    of the budget's share of the data), print each score's Spearman correlation with the trained errors,
    beside that of the parameter count, and write the scores (`--out`) for `replay --prescreen`."""
    import dataclasses

    import torch

    from inas.data.datasets import load_dataset, subset
    from inas.model.config import scale_width
    from inas.search.prescreen import score_proxies
    from inas.search.settings import BUDGETS
    from inas.space.registry import load_space
    from inas.space.sampling import resolve
    from inas.train.recipe import TrainRecipe

    header, frame = read_table(Path(args.table))
    budget = BUDGETS.get(args.budget, "--budget")
    space = load_space(args.space)
    recipe = dataclasses.replace(TrainRecipe(), image_size=budget.image_size, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(args.data) as tar:
            tar.extractall(tmp, filter="data")
        data = subset(load_dataset(f"imagefolder:{tmp}"), budget.data_fraction, args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    rows = []
    for params_json in frame["params_json"]:
        arch, _ = resolve(space, json.loads(params_json), recipe, data.num_classes, data.channels)
        rows.append(score_proxies(scale_width(arch, budget.width), recipe, data))
    names = [k for k in rows[0] if not k.endswith("_seconds")]
    for name in names:
        frame[name] = [r[name] for r in rows]
    size = budget.image_size or data.train_x.shape[-1]
    print(
        f"table {args.table}: {len(frame)} networks, scored at width x{budget.width:g}, {size} px, "
        f"on one batch of 64 training images of {data.name}, seed {args.seed}"
    )
    print(f"{'score':10} {'Spearman vs val_top1':>21} {'vs test_top1':>13} {'seconds / network':>18}")
    for name in (*names, "params"):
        val = frame[name].corr(frame["val_top1"], method="spearman")
        test = frame[name].corr(frame["test_top1"], method="spearman")
        cost = f"{sum(r[name + '_seconds'] for r in rows) / len(rows):.3f}" if name in names else "0 (known)"
        print(f"{name:10} {val:>21.3f} {test:>13.3f} {cost:>18}")
    print("(a proxy meant to be higher-is-better ranks well when its correlation with the error is negative)")
    if args.out:
        frame[["params_json", *names]].to_csv(args.out, index=False)
        print(f"scores written to {args.out}")


# -- the replay -----------------------------------------------------------------------------


def read_table(path: Path):
    import pandas as pd

    frame = pd.read_csv(path, comment="#")
    return {
        json.dumps(json.loads(p), sort_keys=True): row
        for p, row in zip(frame["params_json"], frame.to_dict("records"), strict=True)
    }, frame


def table_plan(space_name: str, budget: str, constraint: str | None = None, prescreen: int = 1):
    """The `SearchPlan` a search of the table's space would make (its define, resolve and screen are
    the ones the search runs), on a stand-in dataset of CIFAR-10's shape: the table holds the errors."""
    import dataclasses

    from inas.data.datasets import load_dataset
    from inas.search.plan import CONSTRAINED_BEFORE_TRAINING, SearchPlan
    from inas.search.settings import BUDGETS, SearchSettings
    from inas.space.registry import load_space
    from inas.study.choose import parse_constraints
    from inas.train.recipe import TrainRecipe

    b = BUDGETS.get(budget, "--budget")
    settings = SearchSettings(space=space_name, budget=b, constraint=constraint, prescreen=prescreen)
    recipe = dataclasses.replace(TrainRecipe(), epochs=b.epochs, batch_size=b.batch_size, image_size=b.image_size)
    data = load_dataset("synthetic:20")  # 10 classes of 3-channel images, as CIFAR-10
    constraints = (
        parse_constraints(constraint, list(CONSTRAINED_BEFORE_TRAINING), "--constraint", "use") if constraint else []
    )
    space = load_space(space_name)
    return SearchPlan(settings, space, "replay", "sqlite://", recipe, data, (), tuple(constraints))


class TableCandidates:
    """The searcher's `Candidates` of a replay: the search's own plan, with --prescreen's scores read
    from the table of proxies instead of computed."""

    def __init__(self, plan, scores: dict | None = None):
        self.plan, self.scores = plan, scores

    def define(self, trial) -> None:
        self.plan.define(trial)

    def resolve(self, params: dict):
        return self.plan.resolve(params)

    def screen(self, cand):
        return self.plan.screen(cand)

    def score(self, cand) -> tuple[float, dict[str, float]]:
        score = float(self.scores[params_key(cand.params)])
        return score, {}


def params_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True)


def table_record(row: dict):
    """What a trial of the table's network reports, fully trained."""
    from inas.study.record import TrialRecord, TrialStatus

    return TrialRecord(
        status=TrialStatus.OK, epochs_done=1, epochs_total=1, **{k: float(row[k]) for k in OBJECTIVES}
    ).to_report()


def front_sizes(values, objectives: tuple[str, ...]) -> str:
    """How many networks lie on the table's front of the objectives, and of each pair of them."""
    from inas.report.data import non_dominated

    parts = [f"{'+'.join(objectives)}: {int(non_dominated(values).sum())}"]
    for i, j in itertools.combinations(range(len(objectives)), 2):
        parts.append(f"{objectives[i]}+{objectives[j]}: {int(non_dominated(values[:, [i, j]]).sum())}")
    return "; ".join(parts)


def replay_one(
    plan,
    lookup: dict,
    sampler_name: str,
    seed: int,
    trials: int,
    reference,
    best_hv: float,
    prescreen: int = 1,
    scores: dict | None = None,
) -> list[float]:
    """Hypervolume fraction after each trained trial of one simulated search: inas's own
    `StudySearcher` (repeats, --prescreen) drives the study; a trial looks its network up in the table
    instead of training it (one at a time, as with --max-concurrent 1)."""
    import numpy as np
    import optuna

    from inas.report.data import hypervolume
    from inas.search.searcher import StudySearcher
    from inas.search.settings import make_sampler
    from inas.search.trial import CANDIDATE

    study = optuna.create_study(directions=["minimize"] * len(OBJECTIVES), sampler=make_sampler(sampler_name, seed))
    searcher = StudySearcher(study, TableCandidates(plan, scores), OBJECTIVES, prescreen=prescreen)
    trained: set[str] = set()
    curve: list[float] = []
    points: list[list[float]] = []
    while len(curve) < trials and len(trained) < len(lookup):
        trial_id = f"t{len(curve)}"
        config = searcher.suggest(trial_id)
        if not isinstance(config, dict):
            break  # the searcher has nothing left to propose
        key = params_key(config[CANDIDATE].params)
        row = lookup[key]
        searcher.on_trial_complete(trial_id, table_record(row))
        trained.add(key)
        points.append([float(row[o]) for o in OBJECTIVES])
        curve.append(hypervolume(np.array(points), reference) / best_hv)
    curve += [curve[-1]] * (trials - len(curve))  # the space ran out: the front stays
    return curve


def replay(args: argparse.Namespace) -> None:
    import numpy as np
    import optuna
    import pandas as pd

    from inas.report.data import hypervolume

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    lookup, frame = read_table(Path(args.table))
    values = frame[list(OBJECTIVES)].to_numpy(dtype=float)
    reference = list(values.max(axis=0) * 1.1)
    best = hypervolume(values, reference)
    budgets = [int(t) for t in args.trials.split(",")]
    scores = None
    if args.prescreen > 1:
        table = pd.read_csv(args.scores)
        scores = {params_key(json.loads(p)): v for p, v in zip(table["params_json"], table[args.proxy], strict=True)}
    print(
        f"table {args.table}: {len(frame)} networks; reference {[f'{r:.4g}' for r in reference]}; "
        f"{args.seeds} seeds; hypervolume as a fraction of the table's front"
        + (f"; prescreen {args.prescreen} by {args.proxy} ({args.scores})" if scores else "")
    )
    print(f"front sizes (networks): {front_sizes(values, OBJECTIVES)}")
    curves = {}
    for name in args.samplers.split(","):
        for n in (1, args.prescreen) if scores else (1,):
            label = name if n == 1 else f"{name}+pre{n}"
            plan = table_plan(args.space, args.budget, prescreen=n)
            start = time.time()
            curves[label] = np.array(
                [
                    replay_one(plan, lookup, name, seed, max(budgets), reference, best, n, scores)
                    for seed in range(args.seeds)
                ]
            )
            print(f"  {label}: {time.time() - start:.0f} s", flush=True)
    rand = curves.get("random")
    print(
        f"{'sampler':<12} "
        + " ".join(f"{'HV@' + str(t) + ' median [IQR]':>26}" for t in budgets)
        + " "
        + " ".join(f"{'AUC@' + str(t) + ' / random':>16}" for t in budgets)
    )
    for name, c in curves.items():
        cells = []
        for t in budgets:
            final = c[:, t - 1]
            q1, med, q3 = np.percentile(final, [25, 50, 75])
            cells.append(f"{med:>10.4f} [{q1:.4f}, {q3:.4f}]")
        ratios = [c[:, :t].mean() / rand[:, :t].mean() if rand is not None else float("nan") for t in budgets]
        print(f"{name:<12} " + " ".join(f"{x:>26}" for x in cells) + " " + " ".join(f"{r:>16.3f}" for r in ratios))


def constrained_one(plan, lookup: dict, sampler_name: str, seed: int, proposals: int) -> list[bool]:
    """Whether each of the first `proposals` proposals of one simulated search broke the constraints:
    inas's own `StudySearcher` screens them as `inas search --constraint` does (PRUNED with their
    violations, never trained); the others look their values up in the table."""
    import optuna

    from inas.search.searcher import StudySearcher
    from inas.search.settings import make_sampler
    from inas.search.trial import CANDIDATE
    from inas.study.keys import INFEASIBLE_KEY

    study = optuna.create_study(directions=["minimize"] * len(OBJECTIVES), sampler=make_sampler(sampler_name, seed))
    searcher = StudySearcher(study, TableCandidates(plan), OBJECTIVES, constraints=plan.constraint_names())
    n = 0
    while len(study.trials) < proposals:
        config = searcher.suggest(f"t{n}")
        if not isinstance(config, dict):
            break  # MAX_INFEASIBLE in a row broke the constraint
        searcher.on_trial_complete(f"t{n}", table_record(lookup[params_key(config[CANDIDATE].params)]))
        n += 1
    return [INFEASIBLE_KEY in t.user_attrs for t in study.trials[:proposals]]


def constrained(args: argparse.Namespace) -> None:
    """Does the sampler learn where the feasible candidates lie? The share of proposals that break
    --constraint in the first and the second half of each simulated search."""
    import numpy as np
    import optuna

    from inas.study.choose import violation

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    lookup, frame = read_table(Path(args.table))
    plan = table_plan(args.space, args.budget, constraint=args.constraint)
    infeasible = np.mean(
        [any(violation(float(r[n]), op, lim) > 0 for n, op, lim in plan.constraints) for r in lookup.values()]
    )
    print(
        f"table {args.table}: {len(frame)} networks, {infeasible:.0%} of them break {args.constraint!r}; "
        f"{args.seeds} seeds x {args.proposals} proposals"
    )
    print(f"{'sampler':<8} {'broke, 1st half: median [IQR]':>30} {'2nd half: median [IQR]':>26}")
    half = args.proposals // 2
    for name in args.samplers.split(","):
        runs = np.array([constrained_one(plan, lookup, name, s, args.proposals) for s in range(args.seeds)])
        cells = []
        for part in (runs[:, :half], runs[:, half:]):
            q1, med, q3 = np.percentile(part.mean(axis=1), [25, 50, 75])
            cells.append(f"{med:.2f} [{q1:.2f}, {q3:.2f}]")
        print(f"{name:<8} {cells[0]:>30} {cells[1]:>26}")


def cost(args: argparse.Namespace) -> None:
    """Seconds a sampler takes to propose as its study grows (ask and sample; each proposal told random
    values `--in-flight` proposals later, as a search's running trials are), on any space: what a sampler
    costs the search's driver between trials. `--storage` lists where the study lives: `memory`,
    `sqlite` (a search's database, read through Optuna's cache) or `mirror` (that database read from
    memory, as a search reads it: `inas.study.mirror`); the studies propose in turn, so each mark's
    medians (over the proposals since the last mark) come from the same stretch of the machine's time."""
    import shutil
    import tempfile

    import optuna

    from inas.space.registry import load_space

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    space = load_space(args.space)
    kinds = args.storage.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="inas-cost-"))
    try:
        _propose(args, space, kinds, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _propose(args: argparse.Namespace, space, kinds: list[str], tmp: Path) -> None:
    """`cost`'s run: the studies in `kinds` (their databases in `tmp`) proposing in turn."""
    import random

    import optuna

    from inas.search.settings import make_sampler
    from inas.space.sampling import sample
    from inas.study.mirror import MirroredStorage
    from inas.study.storage import open_storage

    directions = ["minimize"] * len(OBJECTIVES)
    studies = []
    for i, kind in enumerate(kinds):
        sampler = make_sampler(args.sampler, 0)
        if kind == "memory":
            studies.append(optuna.create_study(directions=directions, sampler=sampler))
            continue
        storage = open_storage(f"sqlite:///{tmp}/{i}.db", create=True)
        optuna.create_study(study_name="cost", storage=storage, directions=directions)
        if kind == "mirror":
            storage = MirroredStorage(storage, "cost")
        studies.append(optuna.load_study(study_name="cost", storage=storage, sampler=sampler))
    rngs = [random.Random(0) for _ in kinds]
    running: list[list] = [[] for _ in kinds]
    took: list[list[float]] = [[] for _ in kinds]
    marks = {int(m) for m in args.marks.split(",")}
    print(f"{args.space}, {args.sampler}, {args.in_flight} in flight; median seconds a proposal since the last mark:")
    print(
        f"{'proposals':>10} "
        + " ".join(f"{k:>8}" for k in kinds)
        + (f"   speed vs {kinds[0]}" if len(kinds) > 1 else "")
    )
    for n in range(1, max(marks) + 1):
        for i, study in enumerate(studies):
            begin = time.perf_counter()
            trial = study.ask()
            sample(space, trial)
            took[i].append(time.perf_counter() - begin)
            running[i].append(trial)
            if len(running[i]) > args.in_flight:
                rng = rngs[i]
                study.tell(running[i].pop(0), [rng.random(), rng.random() * 1e7, rng.random() * 100])
        if n in marks:
            medians = [statistics.median(t) for t in took]
            ratios = " ".join(f"{medians[0] / m:5.2f}x" for m in medians[1:])
            print(f"{n:>10} " + " ".join(f"{m:8.3f}" for m in medians) + (f"   {ratios}" if ratios else ""))
            took = [[] for _ in kinds]


def compare(args: argparse.Namespace) -> None:
    cheap, long = (read_table(Path(t))[1] for t in (args.cheap, args.long))
    both = cheap.merge(long, on="params_json", suffixes=("_cheap", "_long"))
    print(f"{len(both)} networks in both tables; {cheap['fidelity'].iloc[0]} vs {long['fidelity'].iloc[0]}")
    for col in ("val_top1", "test_top1"):
        a, b = both[f"{col}_cheap"], both[f"{col}_long"]
        print(f"  {col}: Spearman {a.corr(b, method='spearman'):.3f}, Kendall {a.corr(b, method='kendall'):.3f}")
    for col in ("val_top1", "test_top1"):
        print(
            f"  params vs {col}: Spearman cheap {both['params_cheap'].corr(both[col + '_cheap'], method='spearman'):.3f}, "
            f"long {both['params_cheap'].corr(both[col + '_long'], method='spearman'):.3f}"
        )
    print(
        both.sort_values("val_top1_long")[
            ["params_json", "params_cheap", "val_top1_cheap", "val_top1_long", "test_top1_long"]
        ].to_string(index=False)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("table", help="Train every point of the space once.")
    t.add_argument("--space", default="googlenet_depth")
    t.add_argument("--budget", default="proxy")
    t.add_argument("--data", default=str(TARBALL))
    t.add_argument("--workers", type=int, default=2)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out")
    t.add_argument("--label", help="the table's name in its file name and rows (default: the budget's)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--data-fraction", type=float)
    t.add_argument("--width", type=float)
    t.add_argument("--image-size", type=int)
    t.add_argument("--from", dest="source", help="with --pick: the table to pick networks from")
    t.add_argument("--pick", type=int, help="train only this many networks of --from, spread over it")
    chosen = t.add_mutually_exclusive_group()
    chosen.add_argument("--sample", type=int, help="train this many networks drawn at random (seeded by --seed)")
    chosen.add_argument("--points", help="train the networks of this CSV's params_json column")
    c = sub.add_parser("compare", help="Rank correlation of two tables' errors.")
    c.add_argument("cheap")
    c.add_argument("long")
    r = sub.add_parser("replay", help="Simulate searches on a table.")
    r.add_argument("table")
    r.add_argument("--space", default="googlenet_depth")
    r.add_argument("--samplers", default="random,tpe,nsga2,gp")
    r.add_argument("--seeds", type=int, default=50)
    r.add_argument("--trials", default="15,30")
    r.add_argument("--prescreen", type=int, default=1, help="also replay each sampler with this prescreen")
    r.add_argument("--scores", help="with --prescreen: the scores `proxies --out` wrote")
    r.add_argument("--proxy", default="naswot", help="with --prescreen: the score to rank by")
    r.add_argument("--budget", default="proxy", help="the table's budget (the recipe a candidate's key holds)")
    z = sub.add_parser("proxies", help="Zero-cost proxies of a table's networks against their errors.")
    z.add_argument("table")
    z.add_argument("--space", default="googlenet_depth")
    z.add_argument("--budget", default="proxy", help="the table's budget: its width and image size")
    z.add_argument("--data", default=str(TARBALL))
    z.add_argument("--out", help="write each network's scores to this CSV (for replay --prescreen)")
    z.add_argument("--seed", type=int, default=0)
    k = sub.add_parser("constrained", help="Share of proposals that break a constraint, early and late.")
    k.add_argument("table")
    k.add_argument("--constraint", default="params<5e6")
    k.add_argument("--space", default="googlenet_depth")
    k.add_argument("--samplers", default="random,tpe,nsga2")
    k.add_argument("--seeds", type=int, default=20)
    k.add_argument("--proposals", type=int, default=40)
    k.add_argument("--budget", default="proxy", help="the table's budget (its image size: the MACs measured)")
    o = sub.add_parser("cost", help="Seconds a sampler takes a proposal as the study grows.")
    o.add_argument("--space", default="googlenet_channels")
    o.add_argument("--sampler", default="gp")
    o.add_argument("--marks", default="10,20,40,60,80,100")
    o.add_argument("--storage", default="memory", help="comma-separated: memory, sqlite, mirror")
    o.add_argument("--in-flight", type=int, default=0, help="proposals running at once (told this many later)")
    args = parser.parse_args()
    commands = {
        "table": table,
        "replay": replay,
        "compare": compare,
        "proxies": proxies,
        "constrained": constrained,
        "cost": cost,
    }
    commands[args.what](args)


if __name__ == "__main__":
    main()
