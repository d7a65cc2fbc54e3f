"""`inas search`: Ray Tune runs Optuna-proposed candidates and every trial lands in the study.

Order of work, so that bad input leaves nothing behind: plan (check every argument, load the space and
the data), then take the study's lock and start Ray, then open (or create) the study, then run.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import optuna

from inas import __version__
from inas.errors import InasError, Interrupted, shown
from inas.search.cluster import Placement, placement, ray_session, scoped_env
from inas.search.plan import SearchPlan, plan_search
from inas.search.settings import SearchSettings, make_sampler
from inas.search.stop import STOP_REQUESTED, SearchStopped, past, signals_as_interrupt
from inas.search.trial import TrialSettings, run_trial
from inas.study.keys import (
    EPOCHS_DONE,
    INFEASIBLE_KEY,
    LATENCY_MS,
    PRESCREENED_KEY,
    RECIPE_KEY,
    SETTINGS_KEY,
    TIME_OBJECTIVE_KEY,
    VAL_TOP1,
    VERSION_KEY,
)
from inas.study.mirror import MirroredStorage
from inas.study.objectives import OBJECTIVE_KEYS, TIME_OBJECTIVE, objective_keys
from inas.study.record import (
    counts,
    fail_reason,
    fail_stale_trials,
    fail_trials,
    has_heartbeat,
    pareto_trials,
    pending_points,
    trained,
)
from inas.study.storage import StudyLock, check_resume, check_writable_study_file, open_storage, sqlite_path
from inas.study.tally import Tally, tally
from inas.train.progress import duration
from inas.train.recipe import TrainRecipe

INTERRUPTED_REASON = "interrupted (Ctrl-C or SIGTERM)"
TIMEOUT_REASON = "stopped at --timeout"


@dataclass
class SearchSummary:
    study: str
    storage: str
    counts: dict[str, int]
    pareto_size: int
    best: dict[str, float]
    elapsed_seconds: float
    ran: int
    failure: str | None = None  # when no trial finished: why (the first failure, or --constraint)
    tally: Tally = Tally()  # every trial counted once, in the report's words
    timed_out: bool = False  # --timeout stopped it before --trials were done


def check_study(plan: SearchPlan, storage: optuna.storages.BaseStorage) -> bool:
    """Whether the study exists, after checking that --resume agrees and that a resumed study was
    searched with the same settings. Reads only."""
    s, name = plan.settings, plan.study_name
    exists = check_resume(optuna.get_all_study_names(storage), name, plan.url, s.resume)
    if exists:
        before = _as_today(optuna.load_study(study_name=name, storage=storage).user_attrs.get(SETTINGS_KEY, {}))
        wanted = plan.study_settings()
        changed = [k for k in wanted if k in before and before[k] != wanted[k]]
        if changed:
            raise InasError(
                f"--resume: study {shown(name)} was run with other {', '.join(changed)}; "
                "resume with the same options or start a new --study"
            )
    return exists


def _as_today(settings: dict[str, Any]) -> dict[str, Any]:
    """A study's settings as this version writes them: a recipe written before `precision` (with
    `mixed_precision`) reads as the recipe it was."""
    recipe = settings.get(RECIPE_KEY)
    if isinstance(recipe, dict):
        with contextlib.suppress(TypeError, InasError):  # a recipe that cannot be read differs
            settings = {**settings, RECIPE_KEY: TrainRecipe(**recipe).to_dict()}
    return settings


def preflight(plan: SearchPlan) -> None:
    """Every storage and resume mistake, found before Ray starts (which takes seconds): the storage
    opens, the study exists exactly when --resume says so, and with the same settings. Writes nothing
    to a SQLite file (a server database gets Optuna's tables, as the search would give it)."""
    db_file = sqlite_path(plan.url)
    check_writable_study_file(db_file)
    if db_file is not None and not db_file.exists():
        if plan.settings.resume:
            raise InasError(
                f"no study {shown(plan.study_name)} to resume: {db_file} does not exist; drop --resume to start it"
            )
        return
    storage = open_storage(plan.url, create=db_file is None)
    try:
        check_study(plan, storage)
    finally:
        storage.engine.dispose()


def open_search_study(plan: SearchPlan, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """The study to search into: created, or (with --resume) loaded after checking it was searched
    with the same settings; trials a stopped search left behind are marked failed."""
    s, name = plan.settings, plan.study_name
    if not check_study(plan, storage):
        study = optuna.create_study(study_name=name, storage=storage, directions=["minimize"] * len(s.objectives))
        study.set_metric_names(list(s.objectives))  # optuna-dashboard labels its axes with these
        study.set_user_attr(SETTINGS_KEY, plan.study_settings())
        study.set_user_attr(VERSION_KEY, __version__)
        study.set_user_attr(TIME_OBJECTIVE_KEY, OBJECTIVE_KEYS[TIME_OBJECTIVE])  # older studies: the wall clock
        return study
    study = optuna.load_study(study_name=name, storage=storage)
    fail_stale_trials(storage, study)
    return study


PHASE_DELAY_S = 1.0  # a phase done sooner goes unsaid: bad input, found at once, gets its one line alone


@dataclass(frozen=True)
class Phases:
    """The lines a search says on stderr as each phase starts (loading the data, starting Ray, starting
    the trials), each with the seconds since the search started; silent without a view."""

    view: str | None
    start: float
    delay: float = PHASE_DELAY_S

    def say(self, text: str, at: float | None = None) -> None:
        """`text`, stamped with when it happened (`at`; default now)."""
        if self.view is not None:
            stamp = (time.time() if at is None else at) - self.start
            print(f"[{stamp:,.0f} s] {text}", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def during(self, text: str) -> Iterator[threading.Event]:
        """A phase that may be quick or slow: `text` is said, stamped with the phase's start, once it
        has lasted `delay` seconds. The event yielded tells whether it was said."""
        said, at = threading.Event(), time.time()

        def late() -> None:
            self.say(text, at)
            said.set()

        timer = threading.Timer(self.delay, late)
        timer.daemon = True
        if self.view is not None and self.delay <= 0:
            late()
        elif self.view is not None:
            timer.start()
        try:
            yield said
        finally:
            timer.cancel()
            if timer.is_alive():
                timer.join()  # a line being said is finished before the next


def loading_line(s: SearchSettings) -> str:
    """What the search says as it starts loading its data."""
    notes = []
    if s.dataset.startswith("imagefolder:"):
        notes.append("decoded and cached on first use, read from the cache after")
    if s.budget.data_fraction < 1:
        notes.append(f"the budget trains on {s.budget.data_fraction:.0%} of its training images")
    return f"loading {s.dataset}" + (f" ({'; '.join(notes)})" if notes else "") + " ..."


def ray_line(s: SearchSettings) -> str:
    """What the search says as it starts (or joins) Ray."""
    if s.address:
        return f"joining the Ray cluster at {s.address} ..."
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        return "using the Ray already running in this process"
    cpus = f"{s.num_cpus} CPUs" if s.num_cpus else "every CPU"
    return f"starting a local Ray ({cpus}) ..."


def run_search(s: SearchSettings, view: str | None = None, callbacks: tuple = ()) -> SearchSummary:
    """`view`: None (silent), "live" (a live table on stderr) or "log" (a line per finished trial); with
    either, a line on stderr as each phase starts (`Phases`). `callbacks`: extra Ray Tune callbacks
    (logging elsewhere, monitoring)."""
    phases = Phases(view, time.time(), PHASE_DELAY_S)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # Optuna beats only inside Study.optimize; inas beats through a Tune callback (search/heartbeat.py).
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    with phases.during(loading_line(s)) as loading:
        plan = plan_search(s)
    if loading.is_set():
        data = plan.data
        phases.say(f"loaded {data.name}: {len(data.train_y):,} training and {len(data.test_y):,} test images")
    # Lock and check, then Ray, then the storage: failing to join Ray leaves no study behind.
    STOP_REQUESTED.clear()
    with StudyLock(plan.url, plan.study_name), signals_as_interrupt(), contextlib.ExitStack() as inside:
        preflight(plan)
        with phases.during(ray_line(s)):
            inside.enter_context(ray_session(s))
        # Again inside: Ray's core installs its own SIGTERM handler, which aborts the driver.
        inside.enter_context(signals_as_interrupt())
        return _search(plan, view, callbacks, phases)


def _search(plan: SearchPlan, view: str | None, callbacks: tuple, phases: Phases | None = None) -> SearchSummary:
    s = plan.settings
    phases = phases or Phases(None, time.time())
    where = placement(s)
    storage = open_storage(plan.url, create=True)
    study = open_search_study(plan, storage)
    remaining = s.trials - trained(study)
    # --timeout counts from the search's start: the data and Ray took some of it already.
    deadline = phases.start + s.timeout_s if s.timeout_s is not None else None
    if remaining > 0:
        # A resumed search must not replay the proposals of the run it continues.
        seed = s.seed + len(study.get_trials(deepcopy=False))
        sampler = make_sampler(s.sampler, seed)
        if sqlite_path(plan.url) is not None:  # the lock says only this search writes the study: read it from memory
            storage = MirroredStorage(storage, plan.study_name)
        study = optuna.load_study(study_name=plan.study_name, storage=storage, sampler=sampler)
        try:
            left = remaining
            while left > 0 and not past(deadline):
                if plan.supernet is not None:  # scored on a supernet: many candidates a Ray task, no Tune trials
                    from inas.search.batched import score_study

                    score_study(plan, study, storage, left, where, view, callbacks, phases, deadline=deadline)
                else:
                    tune_study(plan, study, storage, left, where, view, callbacks, phases, deadline=deadline)
                # Ray counts every trial it ran; those that broke a constraint only the trial measures
                # (latency) trained nothing, so another round runs, while rounds train something.
                before, left = left, s.trials - trained(study)
                if left >= before or past(deadline):
                    break
        except KeyboardInterrupt as e:
            stopped = e.stopped if isinstance(e, SearchStopped) else 0
            if not has_heartbeat(storage):  # the lock says no other search is alive: sweep what is left
                stopped += fail_stale_trials(storage, study, INTERRUPTED_REASON)
            raise Interrupted(
                f"interrupted; {stopped} running trial(s) marked failed, finished ones are kept in "
                f"{plan.url}; continue with --resume"
            ) from None
    final = optuna.load_study(study_name=plan.study_name, storage=storage)
    # The closing line's seconds, like --timeout, count from the search's start (the data, Ray).
    return summarise(plan, final, phases.start, remaining, timed_out=past(deadline) and trained(final) < s.trials)


def summarise(
    plan: SearchPlan, study: optuna.Study, start: float, remaining: int, timed_out: bool = False
) -> SearchSummary:
    c = counts(study)
    best_trials = pareto_trials(study)  # copies of a front member are not more members
    objectives = plan.settings.objectives
    best = {name: min(t.values[i] for t in best_trials) for i, name in enumerate(objectives)} if best_trials else {}
    failure = None
    nothing = c["complete"] + c["pruned"] - c[INFEASIBLE_KEY] - c[PRESCREENED_KEY] == 0
    if nothing and timed_out:
        failure = (
            f"--timeout ({duration(plan.settings.timeout_s or 0)}) passed before any trial finished; give a longer one"
        )
    elif nothing and c["fail"] + c[INFEASIBLE_KEY]:
        if c["fail"]:
            failed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
            failure = f"every trial failed; the first: {fail_reason(failed[0])}"
        else:
            first = next(t for t in study.get_trials(deepcopy=False) if INFEASIBLE_KEY in t.user_attrs)
            failure = (
                f"no candidate met --constraint (the first proposal: {first.user_attrs[INFEASIBLE_KEY]}); relax it"
            )
    elapsed = time.time() - start
    return SearchSummary(
        plan.study_name,
        plan.url,
        c,
        len(best_trials),
        best,
        elapsed,
        max(0, remaining),
        timed_out=timed_out,
        failure=failure,
        tally=tally(study),
    )


def tune_study(
    plan: SearchPlan,
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    remaining: int,
    where: Placement,
    view: str | None,
    callbacks: tuple,
    phases: Phases | None = None,
    deadline: float | None = None,
) -> None:
    """Run `remaining` trials with Ray Tune: the study proposes, ASHA stops the weak early. At `deadline`
    (a `time.time()`, from --timeout) Tune stops, and the trials it stopped are marked failed."""
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search import ConcurrencyLimiter

    from inas.search.heartbeat import Heartbeat, StopOnSignal
    from inas.search.searcher import StudySearcher

    s = plan.settings
    fixed = pending_points(study, list(plan.enqueue))[:remaining]
    keys = objective_keys(s.objectives, study.user_attrs)  # an older study's train_time: the wall clock
    study_searcher = StudySearcher(study, plan, keys, fixed, constraints=plan.constraint_names(), prescreen=s.prescreen)
    searcher: Any = study_searcher
    if s.max_concurrent:
        searcher = ConcurrencyLimiter(searcher, max_concurrent=s.max_concurrent)
    if s.budget.min_epochs < s.budget.epochs:
        scheduler: Any = ASHAScheduler(
            time_attr=EPOCHS_DONE,
            metric=VAL_TOP1,
            mode="min",
            max_t=s.budget.epochs,
            grace_period=s.budget.min_epochs,
            reduction_factor=3,
        )
    else:
        scheduler = FIFOScheduler()
    trial_constraints = plan.trial_constraints()
    settings = TrialSettings(
        recipe=plan.recipe,
        cpus=s.cpus_per_trial,
        measure_latency=LATENCY_MS in s.metric_keys() or bool(trial_constraints),
        constraints=trial_constraints,
        proxies=s.proxies,
        memory_share=where.memory_share,
    )
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, settings=settings, data=plan.data),  # data goes to the object store once
        {"cpu": s.cpus_per_trial, "gpu": where.gpus_per_trial},
    )
    callbacks = [*callbacks, Heartbeat(storage, study.study_name, study_searcher.live_numbers), StopOnSignal()]
    search_view = None
    if view is not None:
        from inas.search.progress import SearchView

        search_view = SearchView(
            study.study_name,
            storage,
            s.objectives,
            s.trials,
            quiet=view == "log",
            slots=where.fits,
            number_of=study_searcher.number_of,
            start=phases.start if phases is not None else None,
        )
        callbacks.append(search_view)
    # With a search algorithm Tune keeps one trial pending at a time, so trials start one by one;
    # let as many be pending as the cluster can run at once.
    pending = str(max(1, min(where.fits, remaining)))
    if phases is not None:
        have = ray.cluster_resources()
        phases.say(
            f"running {remaining} trial(s) on Ray ({have.get('CPU', 0):g} CPUs, {have.get('GPU', 0):g} GPUs: "
            f"{min(where.fits, remaining)} at a time); each trial's process starts and receives the data ..."
        )
    with tempfile.TemporaryDirectory(prefix="inas-ray-") as ray_dir, scoped_env(TUNE_MAX_PENDING_TRIALS_PG=pending):
        tuner = tune.Tuner(
            trainable,
            # Reusing trial processes saves a fresh Python + torch import per trial (seconds each).
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                scheduler=scheduler,
                num_samples=remaining,
                reuse_actors=True,
                time_budget_s=None if deadline is None else max(1.0, deadline - time.time()),
            ),
            run_config=tune.RunConfig(name=study.study_name, storage_path=ray_dir, verbose=0, callbacks=callbacks),
        )
        try:
            tuner.fit()
        except KeyboardInterrupt:
            # This search's own trials: on a shared database, other searches' trials are alive.
            stopped = fail_trials(storage, study, study_searcher.live_numbers(), INTERRUPTED_REASON)
            raise SearchStopped(stopped) from None
        finally:
            if search_view is not None:
                search_view.close()
        if past(deadline):  # Tune stopped the trials still training; they finished nothing
            fail_trials(storage, study, study_searcher.live_numbers(), TIMEOUT_REASON)
