"""`inas search`: Ray Tune runs Optuna-proposed candidates and every trial lands in the study.

Order of work, so that bad input leaves nothing behind: check every argument and load the space and
the dataset first; only then open (or create) the study, take its lock, and start Ray.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import socket
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import optuna

from inas import __version__
from inas.data.datasets import ImageData, load_dataset, stratified_split
from inas.errors import ConfigError, DataError, InasError, Interrupted
from inas.search.settings import OBJECTIVES, SAMPLERS, Budget
from inas.search.storage import StudyLock, check_url, default_storage, open_storage, sqlite_path
from inas.search.study import DONE_STATES, counts, fail_stale_trials, trained
from inas.search.trial import TrialSettings, run_trial
from inas.search.warmstart import warm_start_points
from inas.space.registry import load_space
from inas.space.sampling import sample
from inas.space.schema import SearchSpace
from inas.train.recipe import TrainRecipe


@dataclass(frozen=True)
class SearchSettings:
    space: str
    trials: int = 50
    study: str | None = None
    storage: str | None = None
    dataset: str = "cifar10"
    data_dir: str | None = None
    budget: Budget = field(default_factory=lambda: Budget(14, 4, 1.0, 0, 512))
    objectives: tuple[str, ...] = ("top1_error", "params", "train_time")
    sampler: str = "tpe"
    gpus_per_trial: float | None = None  # None: 1 where Ray sees GPUs, else 0
    cpus_per_trial: float = 1.0
    max_concurrent: int | None = None
    address: str | None = None
    seed: int = 0
    warm_start: str | None = None
    resume: bool = False
    num_cpus: int | None = None  # for a local Ray: how many CPUs (and GPUs) to declare
    num_gpus: int | None = None
    enqueue: tuple[dict[str, Any], ...] = ()  # fixed candidates to run first (sampled values)
    recipe: TrainRecipe | None = None  # the base recipe (default: TrainRecipe()); the budget sets its size


@dataclass
class SearchSummary:
    study: str
    storage: str
    counts: dict[str, int]
    pareto_size: int
    best: dict[str, float]
    elapsed_seconds: float
    ran: int


def make_sampler(name: str, seed: int, n_objectives: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "gp":
        try:
            import scipy  # noqa: F401  (GPSampler needs it)
        except ImportError:
            raise ConfigError("--sampler gp needs scipy: pip install scipy (or choose tpe, nsga2, random)") from None
        return optuna.samplers.GPSampler(seed=seed)
    raise ConfigError(f"--sampler {name!r}: choose one of {', '.join(SAMPLERS)}")


def subset(data: ImageData, fraction: float, seed: int) -> ImageData:
    """A stratified fraction of the training set (the test set stays whole)."""
    if fraction < 1:
        keep, _ = stratified_split(data.train_y, fraction, seed)
        data = dataclasses.replace(
            data, name=f"{data.name}[{fraction:g}]", train_x=data.train_x[keep], train_y=data.train_y[keep]
        )
    return data


def check_splits(data: ImageData, recipe: TrainRecipe) -> None:
    """Every trial trains and validates on something: found now, not in every trial."""
    val, train = stratified_split(data.train_y, recipe.val_fraction, recipe.seed)
    if len(val) == 0 or len(train) == 0:
        raise DataError(
            f"{data.name}: {len(data.train_y)} training images leave {len(train)} to train and {len(val)} to "
            "validate on; use more data (or a budget with a larger data fraction)"
        )


def space_fingerprint(space: SearchSpace) -> str:
    """A hash of what a space lets the search choose: comments, layout and description do not count."""
    fields = dataclasses.asdict(space)
    for key in ("source", "description"):
        fields.pop(key)
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def study_settings(s: SearchSettings, space: SearchSpace, recipe: TrainRecipe) -> dict[str, Any]:
    """What a resumed search must share with the one it continues."""
    return {
        "space": space.name,
        "space_fingerprint": space_fingerprint(space),
        "objectives": list(s.objectives),
        "dataset": s.dataset,
        "recipe": recipe.to_dict(),
        "min_epochs": s.budget.min_epochs,
        "data_fraction": s.budget.data_fraction,
        "sampler": s.sampler,
    }


def pending_points(study: optuna.Study, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fixed candidates that no COMPLETE or PRUNED trial has run yet (a resumed search runs the
    rest; a failed one is tried again)."""
    done = [t.params for t in study.get_trials(deepcopy=False, states=DONE_STATES)]
    return [p for p in points if p not in done]


def check_settings(s: SearchSettings) -> None:
    if s.trials < 1:
        raise ConfigError("--trials: must be at least 1")
    if not 1 <= s.budget.min_epochs <= s.budget.epochs:
        raise ConfigError(f"--min-epochs {s.budget.min_epochs}: must be between 1 and --epochs ({s.budget.epochs})")
    if not 0 < s.budget.data_fraction <= 1:
        raise ConfigError("the budget's data fraction must be in (0, 1]")
    if s.gpus_per_trial is not None and s.gpus_per_trial < 0:
        raise ConfigError("--gpus-per-trial: must be >= 0 (a fraction shares a GPU)")
    if s.cpus_per_trial <= 0:
        raise ConfigError("--cpus-per-trial: must be > 0")
    if s.max_concurrent is not None and s.max_concurrent < 1:
        raise ConfigError("--max-concurrent: must be at least 1")
    if s.warm_start not in (None, "seed"):
        raise ConfigError(f"--warm-start {s.warm_start!r}: the only warm start is `seed`")
    for name in s.objectives:
        if name not in OBJECTIVES:
            raise ConfigError(f"--objectives: unknown objective {name!r}; choose from {', '.join(OBJECTIVES)}")
    if s.sampler not in SAMPLERS:
        raise ConfigError(f"--sampler {s.sampler!r}: choose one of {', '.join(SAMPLERS)}")


def check_reachable(address: str) -> None:
    """Fail fast on a HOST:PORT nobody listens on (Ray itself retries for minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", "local" and the like: Ray resolves them
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise InasError(
            f"--address {address}: nothing answers there ({e.strerror or e}); start the cluster with "
            "`ray start --head` and pass the address it prints, or `--address auto` on a cluster node"
        ) from None


@contextlib.contextmanager
def ray_session(s: SearchSettings) -> Iterator[None]:
    """Join the cluster at `--address`, or start a local Ray, unless Ray is already running here."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Ray's own progress tables would fight the live view
    # Ctrl-C raises KeyboardInterrupt out of Tuner.fit (Ray would otherwise stop quietly and return),
    # so the search can say it was interrupted and mark what was running.
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    import ray

    if s.address:
        check_reachable(s.address)
    if ray.is_initialized():
        yield
        return
    kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
    if s.address:
        kwargs["address"] = s.address
    else:
        kwargs.update(num_cpus=s.num_cpus, num_gpus=s.num_gpus)
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at {s.address}" if s.address else "a local Ray"
        raise InasError(
            f"cannot start or join {where} ({str(e).splitlines()[0]}); check --address and, with token "
            "authentication, that RAY_AUTH_TOKEN matches the cluster's"
        ) from None
    try:
        yield
    finally:
        ray.shutdown()


def placement(s: SearchSettings) -> tuple[float, int]:
    """GPUs a trial takes, and how many trials the cluster runs at once; none at all is bad input."""
    import ray

    cluster = ray.cluster_resources()
    cpus, gpus = cluster.get("CPU", 0), s.gpus_per_trial
    if gpus is None:
        gpus = 1.0 if cluster.get("GPU", 0) >= 1 else 0.0
    if gpus > cluster.get("GPU", 0):
        raise InasError(
            f"--gpus-per-trial {gpus:g}: the Ray cluster has {cluster.get('GPU', 0):g} GPUs; "
            "lower it (0 trains on the CPU) or join a cluster with GPUs (--address)"
        )
    if s.cpus_per_trial > cpus:
        raise InasError(f"--cpus-per-trial {s.cpus_per_trial:g}: the Ray cluster has {cpus:g} CPUs; lower it")
    fits = int(cpus // s.cpus_per_trial)
    if gpus > 0:
        fits = min(fits, int(cluster.get("GPU", 0) // gpus))
    if s.max_concurrent:
        fits = min(fits, s.max_concurrent)
    return gpus, fits


def run_search(s: SearchSettings, view: str | None = None, callbacks: tuple = ()) -> SearchSummary:
    """`view`: None (silent), "live" (a live table on stderr) or "log" (a line per finished trial).
    `callbacks`: extra Ray Tune callbacks (logging elsewhere, monitoring)."""
    check_settings(s)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    space = load_space(s.space)
    study_name = s.study or space.name
    url = s.storage or default_storage(study_name)
    check_url(url)
    recipe = dataclasses.replace(
        s.recipe or TrainRecipe(),
        epochs=s.budget.epochs,
        batch_size=s.budget.batch_size,
        image_size=s.budget.image_size,
        seed=s.seed,
    )
    make_sampler(s.sampler, s.seed, len(s.objectives))  # a sampler that cannot be made is bad input, found now
    data = subset(load_dataset(s.dataset, s.data_dir), s.budget.data_fraction, s.seed)
    check_splits(data, recipe)
    enqueue = [dict(p) for p in s.enqueue]
    if s.warm_start == "seed":
        enqueue += [params for _, params in warm_start_points(space, data.num_classes)]
    for params in enqueue:  # a fixed candidate that is not in the space is bad input, found now
        sample(space, optuna.trial.FixedTrial(params), num_classes=data.num_classes)

    db_file = sqlite_path(url)
    if s.resume and db_file is not None and not db_file.exists():
        raise InasError(f"no study {study_name!r} to resume: {db_file} does not exist; drop --resume to start it")
    # Lock, then Ray, then the storage: failing to join Ray leaves no study behind.
    with StudyLock(url, study_name), ray_session(s):
        gpus, fits = placement(s)
        storage = open_storage(url)
        exists = study_name in optuna.get_all_study_names(storage)
        if exists and not s.resume:
            raise InasError(
                f"study {study_name!r} already exists in {url}; add --resume to continue it or choose another --study"
            )
        if s.resume and not exists:
            raise InasError(f"no study {study_name!r} in {url} to resume; drop --resume to start it")
        wanted = study_settings(s, space, recipe)
        if exists:
            study = optuna.load_study(study_name=study_name, storage=storage)
            before = study.user_attrs.get("settings", {})
            changed = [k for k in wanted if k in before and before[k] != wanted[k]]
            if changed:
                raise InasError(
                    f"--resume: study {study_name!r} was run with other {', '.join(changed)}; "
                    "resume with the same options or start a new --study"
                )
            fail_stale_trials(study)
        else:
            study = optuna.create_study(
                study_name=study_name, storage=storage, directions=["minimize"] * len(s.objectives)
            )
            study.set_metric_names(list(s.objectives))  # optuna-dashboard labels its axes with these
            study.set_user_attr("settings", wanted)
            study.set_user_attr("inas_version", __version__)
        trials = study.get_trials(deepcopy=False)
        remaining = s.trials - trained(study)
        # A resumed search must not replay the proposals of the run it continues.
        sampler = make_sampler(s.sampler, s.seed + len(trials), len(s.objectives))
        start = time.time()
        if remaining > 0:
            try:
                _tune(
                    callbacks,
                    s,
                    space,
                    study_name,
                    storage,
                    sampler,
                    recipe,
                    data,
                    pending_points(study, enqueue)[:remaining],
                    remaining,
                    view,
                    gpus,
                    fits,
                )
            except KeyboardInterrupt:
                stopped = fail_stale_trials(study, "interrupted (Ctrl-C)")
                raise Interrupted(
                    f"interrupted; {stopped} running trial(s) marked failed, finished ones are kept in "
                    f"{url}; continue with --resume"
                ) from None
        study = optuna.load_study(study_name=study_name, storage=storage)
        c = counts(study)
        best_trials = study.best_trials if c["complete"] else []
        best = (
            {name: min(t.values[i] for t in best_trials) for i, name in enumerate(s.objectives)} if best_trials else {}
        )
        return SearchSummary(study_name, url, c, len(best_trials), best, time.time() - start, max(0, remaining))


def _tune(
    extra_callbacks: tuple,
    s: SearchSettings,
    space: SearchSpace,
    study_name: str,
    storage: optuna.storages.BaseStorage,
    sampler: optuna.samplers.BaseSampler,
    recipe: TrainRecipe,
    data: ImageData,
    enqueue: list[dict[str, Any]],
    remaining: int,
    view: str | None,
    gpus: float,
    fits: int,
) -> None:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search import ConcurrencyLimiter

    from inas.search.searcher import InasOptunaSearch

    # With a search algorithm Tune keeps one trial pending at a time, so trials start one by one;
    # let as many be pending as the cluster can run at once.
    os.environ["TUNE_MAX_PENDING_TRIALS_PG"] = str(max(1, min(fits, remaining)))
    searcher: Any = InasOptunaSearch(
        space=functools.partial(_define, space),
        metric=[OBJECTIVES[o] for o in s.objectives],
        mode=["min"] * len(s.objectives),
        sampler=sampler,
        study_name=study_name,
        storage=storage,
        points_to_evaluate=enqueue or None,
        objective_keys=tuple(OBJECTIVES[o] for o in s.objectives),
    )
    if s.max_concurrent:
        searcher = ConcurrencyLimiter(searcher, max_concurrent=s.max_concurrent)
    if s.budget.min_epochs < s.budget.epochs:
        scheduler: Any = ASHAScheduler(
            time_attr="epochs_done",
            metric="val_top1",
            mode="min",
            max_t=s.budget.epochs,
            grace_period=s.budget.min_epochs,
            reduction_factor=3,
        )
    else:
        scheduler = FIFOScheduler()
    settings = TrialSettings(
        space=space,
        recipe=recipe,
        cpus=s.cpus_per_trial,
        metric_keys=tuple(OBJECTIVES[o] for o in s.objectives),
        measure_latency="latency_ms" in s.objectives,
    )
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, settings=settings, data=data),  # data goes to the object store once
        {"cpu": s.cpus_per_trial, "gpu": gpus},
    )
    callbacks = list(extra_callbacks)
    search_view = None
    if view is not None:
        from inas.search.progress import SearchView

        search_view = SearchView(study_name, storage, s.objectives, s.trials, quiet=view == "log")
        callbacks.append(search_view)
    with tempfile.TemporaryDirectory(prefix="inas-ray-") as ray_dir:
        tuner = tune.Tuner(
            trainable,
            # Reusing trial processes saves a fresh Python + torch import per trial (seconds each).
            tune_config=tune.TuneConfig(
                search_alg=searcher, scheduler=scheduler, num_samples=remaining, reuse_actors=True
            ),
            run_config=tune.RunConfig(name=study_name, storage_path=ray_dir, verbose=0, callbacks=callbacks),
        )
        try:
            tuner.fit()
        finally:
            if search_view is not None:
                search_view.close()


def _define(space: SearchSpace, trial: optuna.trial.BaseTrial) -> None:
    """Define-by-run: only ask the trial for values. A candidate that fails validation is reported as
    a failed trial by `run_trial`, not raised here, so the search goes on."""
    with contextlib.suppress(ConfigError):
        sample(space, trial)
