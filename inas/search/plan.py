"""Planning a search: every argument checked, the space and the data loaded, before a study or Ray is touched."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any

import optuna

from inas.data.datasets import ImageData, load_dataset, subset
from inas.errors import ConfigError, shown
from inas.limits import MAX_PRESCREEN, MAX_TIMEOUT_S
from inas.model.proxies import PROXIES
from inas.search.candidate import Resolved, Screening, TrialCandidate, resolve_candidate
from inas.search.settings import (
    MAX_CALIBRATION_IMAGES,
    OBJECTIVES,
    SearchSettings,
    check_supernet_objectives,
    make_sampler,
    supernet_folder,
)
from inas.space.registry import load_space
from inas.space.sampling import sample
from inas.space.schema import SearchSpace, space_fingerprint
from inas.space.warmstart import warm_start_points
from inas.study.choose import check_constraints, constraint_name, parse_constraints
from inas.study.keys import DATASET_KEY, LATENCY_MS, MACS, PARAMS, RECIPE_KEY, SPACE_FINGERPRINT_KEY
from inas.study.storage import check_study_name, check_url, default_storage
from inas.train.loop import check_splits
from inas.train.recipe import TrainRecipe

# What --constraint may bound, all known before training: the first two measured on the meta device
# by the searcher (a candidate that breaks them never reaches a trial), latency by the trial on its device.
CONSTRAINED_BEFORE_TRAINING = (PARAMS, MACS, LATENCY_MS)
MEASURED_BY_TRIAL = (LATENCY_MS,)


@dataclass(frozen=True)
class SearchPlan:
    """A search that passed every check that needs no study and no Ray; what the searcher asks about
    candidates (`define`, `resolve`, `screen`, `score`)."""

    settings: SearchSettings
    space: SearchSpace
    study_name: str
    url: str
    recipe: TrainRecipe  # the budget's recipe; a candidate's sampled recipe values override it
    data: ImageData  # the budget's share of the training set, and the whole test set
    enqueue: tuple[dict[str, Any], ...]  # fixed candidates: the user's, then the warm start's
    constraints: tuple[tuple[str, str, float], ...] = ()  # --constraint, parsed
    supernet: Any = None  # --evaluator supernet:DIR: the checked supernet (`inas.search.batched.SupernetSource`)

    def define(self, trial: optuna.trial.BaseTrial) -> None:
        """Define-by-run: only ask the trial for values. A candidate that fails validation is resolved
        to an `InvalidCandidate`, whose trial fails with the reason, so the search goes on."""
        with contextlib.suppress(ConfigError):
            sample(self.space, trial)

    def resolve(self, params: dict[str, Any]) -> Resolved:
        """The candidate a proposal's sampled values stand for, as its trial trains it."""
        data = self.data
        return resolve_candidate(
            self.space, params, self.recipe, data.num_classes, data.channels, self.settings.budget.width
        )

    def constraint_names(self) -> tuple[str, ...]:
        """Every constraint's key among a trial's Optuna constraints."""
        return tuple(constraint_name(*c) for c in self.constraints)

    def trial_constraints(self) -> tuple[tuple[str, str, float], ...]:
        """The constraints only the trial can check (it measures them on its device)."""
        return tuple(c for c in self.constraints if c[0] in MEASURED_BY_TRIAL)

    def screen(self, cand: TrialCandidate) -> Screening | None:
        """A candidate against --constraint before any trial (None: nothing to check before training):
        each constraint's violation (<= 0: holds; latency is left to the trial), the values measured (on
        the meta device: the full-size network, at the training image size, as the trial records them)
        and, when one breaks, why."""
        if all(c[0] in MEASURED_BY_TRIAL for c in self.constraints):
            return None
        measured = {PARAMS: float(cand.stats.params), MACS: float(cand.stats.macs)}
        violations, why = check_constraints(self.constraints, measured)
        return Screening(violations, measured, why)

    def score(self, cand: TrialCandidate) -> tuple[float, dict[str, float]]:
        """--prescreen's proxy of a candidate, as the trial would train it, and what to record (the
        score and the seconds it took)."""
        from inas.search.prescreen import score_proxies

        name = self.settings.prescreen_proxy
        record = score_proxies(cand.trained, cand.recipe, self.data, (name,))
        return record[name], record

    def study_settings(self) -> dict[str, Any]:
        """What a resumed search must share with the one it continues."""
        s = self.settings
        return {
            "space": self.space.name,
            SPACE_FINGERPRINT_KEY: space_fingerprint(self.space),
            "objectives": list(s.objectives),
            DATASET_KEY: s.dataset,
            RECIPE_KEY: self.recipe.to_dict(),
            "min_epochs": s.budget.min_epochs,
            "data_fraction": s.budget.data_fraction,
            "width": s.budget.width,
            "fidelity": s.budget.fidelity(),
            "sampler": s.sampler,
            "constraint": [list(c) for c in self.constraints],
            "prescreen": [s.prescreen, s.prescreen_proxy] if s.prescreen > 1 else None,
            **(self.supernet.study_settings() if self.supernet is not None else {}),
        }


def check_settings(s: SearchSettings) -> None:
    if s.trials < 1:
        raise ConfigError("--trials: must be at least 1")
    if s.timeout_s is not None and not 0 < s.timeout_s <= MAX_TIMEOUT_S:
        raise ConfigError(f"--timeout {s.timeout_s:g}: must be above 0 and at most {MAX_TIMEOUT_S:,} s (a year)")
    if not 1 <= s.budget.min_epochs <= s.budget.epochs:
        raise ConfigError(f"--min-epochs {s.budget.min_epochs}: must be between 1 and --epochs ({s.budget.epochs})")
    if not 0 < s.budget.data_fraction <= 1:
        raise ConfigError("the budget's data fraction must be in (0, 1]")
    if not 0 < s.budget.width <= 1:
        raise ConfigError("the budget's width must be in (0, 1]")
    if s.gpus_per_trial is not None and s.gpus_per_trial < 0:
        raise ConfigError("--gpus-per-trial: must be >= 0 (a fraction shares a GPU)")
    if s.cpus_per_trial <= 0:
        raise ConfigError("--cpus-per-trial: must be > 0")
    if s.max_concurrent is not None and s.max_concurrent < 1:
        raise ConfigError("--max-concurrent: must be at least 1")
    if not 1 <= s.prescreen <= MAX_PRESCREEN:
        raise ConfigError(f"--prescreen {s.prescreen}: must be between 1 (no prescreen) and {MAX_PRESCREEN}")
    if s.prescreen_proxy not in PROXIES:
        raise ConfigError(f"--prescreen-proxy {shown(s.prescreen_proxy)}: choose {' or '.join(PROXIES)}")
    if s.sampler == "gp" and s.constraint:
        # Optuna's GPSampler models complete trials only: candidates that broke the constraint (never
        # trained, so PRUNED) teach it nothing, and it proposes them again (benchmarks/RESULTS.md).
        raise ConfigError(
            "--sampler gp cannot learn --constraint (it learns from complete trials only, and candidates that "
            "break the constraint are never trained); use --sampler tpe"
        )
    if s.warm_start not in (None, "seed"):
        raise ConfigError(
            f"warm_start {shown(s.warm_start)}: `seed` or None (a file's candidates go in `enqueue`: "
            "inas.space.warmstart.read_candidates reads them)"
        )
    for name in s.objectives:
        OBJECTIVES.get(name, "--objectives")
    make_sampler(s.sampler, s.seed)  # a sampler that cannot be made is bad input, found now
    if supernet_folder(s.evaluator) is not None:
        check_supernet_objectives(s.objectives)
        if not 1 <= s.calibration_images <= MAX_CALIBRATION_IMAGES:
            raise ConfigError(
                f"--calibration-images {s.calibration_images}: must be between 1 and {MAX_CALIBRATION_IMAGES:,}"
            )


def plan_search(s: SearchSettings) -> SearchPlan:
    """Check the settings, load the space and the data, and list the fixed candidates."""
    check_settings(s)
    space = load_space(s.space)
    study_name = check_study_name(s.study or space.name)
    url = s.storage or default_storage(study_name)
    check_url(url)
    supernet = None
    if supernet_folder(s.evaluator) is not None:  # the supernet's data, split and recipe score every candidate
        from inas.search.batched import plan_supernet

        recipe, data, supernet = plan_supernet(s, space)
    else:
        recipe = dataclasses.replace(
            s.recipe or TrainRecipe(),
            epochs=s.budget.epochs,
            batch_size=s.budget.batch_size,
            image_size=s.budget.image_size,
            seed=s.seed,
        )
        data = subset(load_dataset(s.dataset, s.data_dir), s.budget.data_fraction, s.seed)
    check_splits(data, recipe)
    enqueue = [dict(p) for p in s.enqueue]
    if s.warm_start == "seed":
        enqueue += [params for _, params in warm_start_points(space, data.num_classes)]
    for params in enqueue:  # a fixed candidate that is not in the space is bad input, found now
        sample(space, optuna.trial.FixedTrial(params), num_classes=data.num_classes)
    constraints = (
        parse_constraints(s.constraint, list(CONSTRAINED_BEFORE_TRAINING), "--constraint", "use constraints")
        if s.constraint
        else []
    )
    return SearchPlan(s, space, study_name, url, recipe, data, tuple(enqueue), tuple(constraints), supernet)
