"""`inas search --evaluator supernet:DIR`: score candidates on a trained supernet, many per Ray task.

A candidate scored on a supernet trains nothing: it inherits its weights, its BatchNorm statistics are
recalibrated on a fixed sample of the training split (`--calibration-images`, 2,000 by default, as
Once-for-All does) and its validation error is measured, in about a second. A Ray Tune trial costs
more than that outside the trial (0.86 s measured), so this path runs no Tune trials: a few Ray actors
(`SupernetScorer`, one per trial's resources: `--cpus-per-trial`, `--gpus-per-trial`,
`--max-concurrent`) each build the supernet once, from weights the driver put in Ray's object store (a
cluster needs no shared folder), and score chunks of candidates, two chunks queued on each so none
waits for the driver. The driver asks and tells the study through the same `StudySearcher` the Tune
path uses (sampler, fixed candidates, --constraint screen, repeats, --prescreen), so every trial lands
in the study as any other: its record is the full candidate's params, MACs (and latency), the errors
its inherited weights give, the seconds scoring took (`eval_seconds`), and `evaluator`
(`supernet:<hash>`, also the study settings' `fidelity`, so --resume refuses another supernet).

What the supernet was trained on defines what scores it: its dataset, data fraction, width, image size
and split (the validation images it never trained on). `--seed` seeds the sampler only.
"""

from __future__ import annotations

import contextlib
import math
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inas import __version__
from inas.errors import ConfigError, DataError, InasError
from inas.search.settings import Budget, SearchSettings, supernet_folder
from inas.study.record import TrialRecord, TrialStatus
from inas.supernet.info import SUPERNET_PREFIX

if TYPE_CHECKING:
    import optuna
    import torch

    from inas.data.datasets import ImageData
    from inas.search.candidate import Resolved
    from inas.search.cluster import Placement
    from inas.search.plan import SearchPlan
    from inas.space.schema import SearchSpace
    from inas.supernet.info import SupernetInfo
    from inas.supernet.layout import SupernetLayout
    from inas.train.recipe import TrainRecipe

QUEUED = 2  # chunks queued on each scorer, so it never waits for the driver to tell and ask
MAX_CHUNK = 8  # candidates a Ray task scores; more delays what the sampler learns
MAX_UNTRAINED = 100  # scored proposals in a row that broke a --constraint only the scorer measures
PROGRESS_EVERY_S = 2.0


@dataclass(frozen=True)
class SupernetSource:
    """A supernet folder checked for a search: what it says, its layout and its weights (on the CPU)."""

    folder: Path
    info: SupernetInfo
    layout: SupernetLayout
    weights: dict[str, torch.Tensor]
    calibration_images: int

    @property
    def fidelity(self) -> str:
        """The study's fidelity and each record's `evaluator`: which supernet scored the candidates."""
        return f"{SUPERNET_PREFIX}{self.info.hash}"

    def study_settings(self) -> dict[str, Any]:
        """What a --resume must share with the study, beside the search's other settings."""
        return {"fidelity": self.fidelity, "calibration_images": self.calibration_images, "min_epochs": None}

    def words(self) -> str:
        """What the errors come from, in words."""
        return fidelity_words(self.info, self.calibration_images)


def fidelity_words(info: SupernetInfo, calibration_images: int) -> str:
    """What the errors of a search over a supernet come from, in words."""
    return (
        f"supernet {info.hash} ({info.epochs_done} epoch{'s' * (info.epochs_done != 1)} of {info.dataset}, "
        f"width x{info.width:g}): inherited "
        f"weights, BatchNorm recalibrated on {calibration_images:,} training images"
    )


def fill_from_supernet(
    folder: str, given: set[str], dataset: str, budget: Budget, objectives: tuple[str, ...]
) -> tuple[str, Budget, tuple[str, ...], SupernetInfo]:
    """`inas search --evaluator supernet:DIR`: the options not `given` on the command line are the
    supernet's (--dataset, --budget) or those that mean something for it (--objectives
    top1_error,params,macs); one given that disagrees is refused by the plan, before the data loads."""
    from inas.search.settings import SUPERNET_OBJECTIVES, check_supernet_objectives
    from inas.supernet.info import read_info

    info = read_info(Path(folder))
    dataset = dataset if "dataset" in given else info.dataset
    budget = budget if "budget" in given else supernet_budget(info)
    objectives = objectives if "objectives" in given else SUPERNET_OBJECTIVES
    check_supernet_objectives(objectives)
    return dataset, budget, objectives, info


def supernet_budget(info: SupernetInfo) -> Budget:
    """The budget a supernet was trained at, as a search over it states its fidelity."""
    return Budget(
        epochs=info.epochs_done,
        min_epochs=info.epochs_done,
        data_fraction=info.data_fraction,
        image_size=info.recipe.image_size,
        batch_size=info.recipe.batch_size,
        width=info.width,
    )


def _fidelity_words(data_fraction: float, width: float, image_size: int) -> str:
    size = f"{image_size} px" if image_size else "full-size images"
    return f"{data_fraction:.0%} of the training set, {size}, width x{width:g}"


def check_against_supernet(s: SearchSettings, info: SupernetInfo, folder: Path) -> None:
    """A --dataset or --budget other than the supernet's is refused: its validation split, the images
    it never trained on, is what scores candidates."""
    if s.dataset != info.dataset:
        raise ConfigError(
            f"--dataset {s.dataset}: the supernet in {folder} was trained on {info.dataset}, whose held-out "
            f"split scores the candidates; search with --dataset {info.dataset} (or leave --dataset out)"
        )
    b = s.budget
    asked = (b.data_fraction, b.width, b.image_size)
    had = (info.data_fraction, info.width, info.recipe.image_size)
    if asked != had:
        raise ConfigError(
            f"--budget: the supernet in {folder} was trained at {_fidelity_words(*had)}, not "
            f"{_fidelity_words(*asked)}; leave --budget out (the supernet's is used) or train a supernet at it"
        )
    if s.recipe is not None:
        raise ConfigError("--precision: a candidate scored on a supernet is not trained; drop --precision")


def plan_supernet(s: SearchSettings, space: SearchSpace) -> tuple[TrainRecipe, ImageData, SupernetSource]:
    """The recipe, data and supernet a search over `--evaluator supernet:DIR` scores with, every
    mismatch refused in one line: a space the supernet cannot hold or does not hold, a dataset or
    budget other than its own, a folder whose files lie."""
    from inas.data.datasets import load_dataset
    from inas.search.plan import subset
    from inas.space.schema import space_fingerprint
    from inas.supernet.bundle import load_supernet, read_info
    from inas.supernet.layout import refuse_dimensions

    folder = Path(supernet_folder(s.evaluator) or "")
    info = read_info(folder)
    refuse_dimensions(space)  # a space no supernet holds, in its own words
    if space_fingerprint(space) != info.space_fingerprint:
        raise ConfigError(
            f"--space {s.space}: the supernet in {folder} holds space {info.space} (another space, or another "
            f"version of it); search --space {info.space}, or train a supernet of this space"
        )
    check_against_supernet(s, info, folder)
    if info.recipe.val_fraction <= 0:
        raise ConfigError(
            f"{folder}: the supernet trained on every training image, so none is left to score candidates on; "
            "train it with a validation split"
        )
    data = subset(load_dataset(info.dataset, s.data_dir), info.data_fraction, info.recipe.seed)
    if (data.num_classes, data.channels) != (info.classes, info.widest.in_channels):
        raise DataError(
            f"{info.dataset}: {data.num_classes} classes of {data.channels}-channel images now, but the supernet in "
            f"{folder} was trained on {info.classes} classes of {info.widest.in_channels}-channel images; "
            "train a supernet on this data"
        )
    supernet, loaded = load_supernet(folder, "cpu")  # every weight checked against the description
    if loaded.weights_sha256 != info.weights_sha256:
        raise InasError(f"{folder}: the supernet changed while it was read; search again once it is written")
    weights = {k: v.detach().contiguous() for k, v in supernet.state_dict().items()}
    return info.recipe, data, SupernetSource(folder, info, supernet.layout, weights, s.calibration_images)


# -- scoring, in a Ray actor ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorerSettings:
    cpus: float
    calibration_images: int
    evaluator: str  # supernet:<hash>, recorded with every candidate
    epochs: int  # the supernet's training epochs: each candidate's weights had that many
    recipe: TrainRecipe  # the supernet's: split, image size, normalisation
    measure_latency: bool = False
    constraints: tuple[tuple[str, str, float], ...] = ()  # those only the scorer measures (latency)
    proxies: bool = False


class SupernetScorer:
    """Scores candidates on one supernet, built once (a Ray actor; also a plain object in tests)."""

    def __init__(self, weights: dict, layout: SupernetLayout, data: ImageData, settings: ScorerSettings):
        import torch

        from inas.search.trial import pick_trial_device
        from inas.supernet.net import Supernet
        from inas.supernet.score import scoring_data

        torch.set_num_threads(max(1, int(settings.cpus)))
        self.settings = settings
        self.layout = layout
        self.device = pick_trial_device()
        supernet = Supernet(layout)
        supernet.load_state_dict(weights, strict=True)
        self.supernet = supernet.to(self.device).eval()
        recipe = settings.recipe
        self.size = recipe.image_size or layout.widest.input_size
        self.calibration, self.val = scoring_data(data, recipe, layout.widest, self.device, settings.calibration_images)
        self.data = data if settings.proxies else None
        self.device_name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"

    def ready(self) -> str:
        """The device it scores on (a call that returns once the supernet is built)."""
        return self.device_name

    def score(self, candidates: list[Resolved]) -> list[dict[str, Any]]:
        """Each candidate's record, as a trial reports it (`TrialRecord.to_report`)."""
        return [self.score_one(c).to_report() for c in candidates]

    def score_one(self, cand: Resolved) -> TrialRecord:
        from inas.search.trial import failure_reason

        st = self.settings
        record = TrialRecord(
            epochs_total=st.epochs,
            evaluator=st.evaluator,
            started_at=time.time(),
            node=socket.gethostname(),
            torch_version=_torch_version(),
            inas_version=__version__,
        )
        from inas.search.candidate import InvalidCandidate  # torch: not for the CLI's early checks

        if isinstance(cand, InvalidCandidate):
            return _failed(record, cand.reason)
        try:
            return self._score(cand, record)
        except Exception as e:  # the candidate fails with its reason; the search goes on
            return _failed(record, failure_reason(e))

    def _score(self, cand: Any, record: TrialRecord) -> TrialRecord:
        from inas.search.prescreen import score_proxies
        from inas.search.trial import measure_latency
        from inas.study.choose import check_constraints
        from inas.supernet.score import score

        st = self.settings
        trained = self.layout.trained(cand.arch)
        record = record.replace(
            arch=cand.arch.to_dict(),
            recipe=cand.recipe.to_dict(),
            arch_hash=cand.arch.hash(),
            params=cand.stats.params,  # the full candidate's, as a trained trial records them
            macs=cand.stats.macs,
            train_width=self.layout.width,
            device=self.device_name,
            precision="fp32",
        )
        if st.proxies and self.data is not None:
            record = record.replace(**score_proxies(trained, cand.recipe, self.data))
        if st.measure_latency:
            record = measure_latency(record, cand.arch, cand.recipe.batch_size, self.size, self.device)
        if st.constraints:
            measured = {name: getattr(record, name) for name, _, _ in st.constraints}
            violations, why = check_constraints(st.constraints, measured)
            record = record.replace(constraints=violations)
            if why:  # never scored: recorded as breaking --constraint, as a trial records it
                return record.replace(status=TrialStatus.INFEASIBLE, infeasible=why, finished_at=time.time())
        start = time.perf_counter()
        top1, top5 = score(self.supernet, trained, self.calibration, self.val)  # floats: the device has finished
        return record.replace(
            status=TrialStatus.OK,
            epochs_done=st.epochs,
            val_top1=top1,
            val_top5=top5,
            eval_seconds=time.perf_counter() - start,
            finished_at=time.time(),
        )


def _torch_version() -> str:
    import torch

    return torch.__version__


def _failed(record: TrialRecord, reason: str) -> TrialRecord:
    return record.replace(status=TrialStatus.FAIL, fail_reason=reason, finished_at=time.time())


# -- the driver ----------------------------------------------------------------------------------------


def chunk_size(remaining: int, scorers: int) -> int:
    """Candidates a task: enough that a task's cost is shared, few enough that every scorer has work
    queued and the sampler hears outcomes often."""
    return max(1, min(MAX_CHUNK, math.ceil(remaining / (2 * QUEUED * max(1, scorers)))))


@dataclass
class ScoringStats:
    """What a run of `score_study` measured (the benchmark prints it)."""

    scored: int = 0  # candidates the scorers returned
    scoring_seconds: float = 0.0  # the records' eval_seconds, summed
    wall_seconds: float = 0.0  # from the scorers' start to the last outcome told
    start_seconds: float = 0.0  # starting the scorers (building each supernet, its data on the device)
    scorers: int = 0
    chunk: int = 0


def score_study(
    plan: SearchPlan,
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    remaining: int,
    where: Placement,
    view: str | None,
    callbacks: tuple = (),
    phases: Any = None,
    stats: ScoringStats | None = None,
    deadline: float | None = None,
) -> ScoringStats:
    """Score `remaining` proposals of `study` on the plan's supernet (the Tune path's `tune_study`, for
    --evaluator supernet): ask, screen and tell through `StudySearcher`, score on Ray actors; from
    `deadline` on (a `time.time()`, from --timeout) nothing more is asked, and what the scorers hold
    (a few seconds' work) is scored. `callbacks`
    (Ray Tune callbacks) have no Tune loop to hear here and are not called."""
    import ray
    from ray.tune.search import Searcher

    from inas.search.heartbeat import Heartbeat
    from inas.search.searcher import StudySearcher
    from inas.search.stop import STOP_REQUESTED, SearchStopped, past
    from inas.search.trial import CANDIDATE
    from inas.study.keys import LATENCY_MS
    from inas.study.objectives import objective_keys
    from inas.study.record import fail_trials, pending_points

    s, source = plan.settings, plan.supernet
    stats = stats or ScoringStats()
    fixed = pending_points(study, list(plan.enqueue))[:remaining]
    keys = objective_keys(s.objectives, study.user_attrs)
    searcher = StudySearcher(study, plan, keys, fixed, constraints=plan.constraint_names(), prescreen=s.prescreen)
    heartbeat = Heartbeat(storage, study.study_name, searcher.live_numbers)
    n = max(1, min(where.fits, remaining))
    chunk = chunk_size(remaining, n)
    stats.scorers, stats.chunk = n, chunk
    trial_constraints = plan.trial_constraints()
    settings = ScorerSettings(
        cpus=s.cpus_per_trial,
        calibration_images=source.calibration_images,
        evaluator=source.fidelity,
        epochs=source.info.epochs_done,
        recipe=plan.recipe,
        measure_latency=LATENCY_MS in s.metric_keys() or bool(trial_constraints),
        constraints=trial_constraints,
        proxies=s.proxies,
    )
    say = phases.say if phases is not None and view is not None else (lambda text: None)
    say(
        f"scoring {remaining} candidate(s) on {source.words()}: {n} scorer(s) on Ray, {chunk} candidates a task; "
        "each scorer builds the supernet ..."
    )
    remote = ray.remote(SupernetScorer).options(num_cpus=s.cpus_per_trial, num_gpus=where.gpus_per_trial)
    weights, data = ray.put(source.weights), ray.put(plan.data)  # to the object store once
    scorers = [remote.remote(weights, source.layout, data, settings) for _ in range(n)]
    in_flight: dict[Any, tuple[int, list[str]]] = {}  # task -> (scorer, the Ray-style trial ids it scores)
    asked = told = untrained = said = 0
    finished = False
    dead: set[int] = set()  # scorers whose process died: given no more work
    best: float | None = None
    last_said = time.monotonic()
    start = time.perf_counter()

    def fill() -> None:
        nonlocal asked, finished
        if past(deadline):
            finished = True
        for index in range(n):
            while (
                index not in dead
                and not finished
                and asked < remaining
                and sum(i == index for i, _ in in_flight.values()) < QUEUED
            ):
                ids, cands = [], []
                while len(ids) < min(chunk, remaining - asked):
                    tid = f"supernet-{asked}"
                    config = searcher.suggest(tid)
                    if config is None or config == Searcher.FINISHED:
                        finished = True
                        break
                    ids.append(tid)
                    cands.append(config[CANDIDATE])
                    asked += 1
                if ids:
                    in_flight[scorers[index].score.remote(cands)] = (index, ids)

    try:
        with _kill_at_end(ray, scorers):
            try:
                devices = ray.get([a.ready.remote() for a in scorers])
            except ray.exceptions.RayError as e:
                raise InasError(f"the supernet's scorers did not start: {_ray_reason(e)}") from None
            stats.start_seconds = time.perf_counter() - start
            say(f"{n} scorer(s) ready in {stats.start_seconds:,.1f} s on {', '.join(sorted(set(devices)))}")
            fill()
            while in_flight:
                heartbeat.on_step_begin(0, [])
                if STOP_REQUESTED.is_set():
                    raise KeyboardInterrupt
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.5)
                for task in done:
                    index, ids = in_flight.pop(task)
                    try:
                        results = ray.get(task)
                    except ray.exceptions.RayError as e:  # the scorer's process died: these candidates fail
                        if isinstance(e, ray.exceptions.RayActorError):
                            dead.add(index)
                        failed = TrialRecord(status=TrialStatus.FAIL, fail_reason=f"scorer failed: {_ray_reason(e)}")
                        results = [failed.to_report()] * len(ids)
                    for tid, result in zip(ids, results, strict=True):
                        record = TrialRecord.from_report(result)
                        searcher.on_trial_complete(tid, result)
                        told += 1
                        stats.scored += 1
                        stats.scoring_seconds += record.eval_seconds or 0.0
                        untrained = untrained + 1 if record.status == TrialStatus.INFEASIBLE else 0
                        if record.status == TrialStatus.OK and record.val_top1 is not None:
                            best = record.val_top1 if best is None else min(best, record.val_top1)
                    if untrained >= MAX_UNTRAINED:
                        finished = True  # the constraint the scorer measures rules out everything proposed
                fill()
                due = time.monotonic() - last_said >= PROGRESS_EVERY_S or not in_flight
                if view is not None and told > said and due:
                    last_said, said = time.monotonic(), told
                    rate = told / max(1e-9, time.perf_counter() - start - stats.start_seconds)
                    say(
                        f"scored {told}/{remaining} ({rate:,.2f} a second)"
                        + (f"; best top-1 error so far {best:.4f}" if best is not None else "")
                    )
    except KeyboardInterrupt:
        from inas.search.runner import INTERRUPTED_REASON

        stopped = fail_trials(storage, study, searcher.live_numbers(), INTERRUPTED_REASON)
        raise SearchStopped(stopped) from None
    stats.wall_seconds = time.perf_counter() - start
    return stats


@contextlib.contextmanager
def _kill_at_end(ray: Any, actors: list) -> Iterator[None]:
    """The scorers go when the search does (a Ray that outlives the search keeps no idle actors)."""
    try:
        yield
    finally:
        for actor in actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)


def _ray_reason(e: BaseException) -> str:
    """The last line of what failed inside Ray: the error itself, after Ray's wrapping and traceback."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip() and not ln.startswith(" ")]
    from inas.search.candidate import error_line

    return (lines[-1] if lines else error_line(e))[:500]
