"""What a search is asked to do: objectives, budgets, samplers and the settings of one run (plain data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from inas.errors import ConfigError
from inas.registry import Registry
from inas.study.keys import MACS, NASWOT, PARAMS
from inas.study.objectives import OBJECTIVE_KEYS, TIME_OBJECTIVE
from inas.supernet.info import supernet_value
from inas.train.budget import BUDGETS, DEFAULT_BUDGET, Budget  # their home; a search names them from here too
from inas.train.recipe import TrainRecipe

if TYPE_CHECKING:
    import optuna

# objective name -> key of the trial's record it reads (the study's one mapping); every objective is minimised
OBJECTIVES: Registry[str] = Registry("objective", OBJECTIVE_KEYS)
DEFAULT_OBJECTIVES = ("top1_error", "params", "train_time")
# A candidate scored on a supernet trains nothing, so it has no training time: MACs stand in for its cost.
SUPERNET_OBJECTIVES = ("top1_error", PARAMS, MACS)

# --evaluator: `train` trains every candidate (a Ray Tune trial each); `supernet:DIR` scores each with the
# weights it inherits from the supernet `inas supernet train --out DIR` wrote.
TRAIN_EVALUATOR = "train"
# Training images a candidate's BatchNorm is recalibrated on (OFA's; inas.supernet.score says the same).
CALIBRATION_IMAGES = 2000
MAX_CALIBRATION_IMAGES = 100_000


# With --constraint the searcher sets every trial's constraint values (`Trial.set_constraint`), which
# Optuna 5's samplers read without a constraints_func: TPE on COMPLETE and PRUNED trials, so it learns
# from the candidates the screen ruled out (told PRUNED, never trained); NSGA-II on COMPLETE trials only,
# so from trained ones alone (a latency bound); GP likewise, which is why the plan refuses it with
# --constraint; random reads none.
def _tpe(seed: int) -> optuna.samplers.BaseSampler:
    import optuna

    return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)


def _nsga2(seed: int) -> optuna.samplers.BaseSampler:
    import optuna

    return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)


def _random(seed: int) -> optuna.samplers.BaseSampler:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


def _gp(seed: int) -> optuna.samplers.BaseSampler:
    import optuna

    try:
        import scipy  # noqa: F401  (GPSampler needs it)
    except ImportError:
        raise ConfigError("--sampler gp needs scipy: pip install scipy (or choose tpe, nsga2, random)") from None
    return optuna.samplers.GPSampler(seed=seed)


SAMPLERS: Registry[Callable[[int], Any]] = Registry(
    "sampler", {"tpe": _tpe, "nsga2": _nsga2, "random": _random, "gp": _gp}
)
DEFAULT_SAMPLER = "tpe"


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    return SAMPLERS.get(name, "--sampler")(seed)


def supernet_folder(evaluator: str) -> str | None:
    """The supernet folder of `--evaluator supernet:DIR`, None for `train`; anything else is refused."""
    return supernet_value(
        evaluator,
        TRAIN_EVALUATOR,
        "--evaluator",
        "`train` (train every candidate) or `supernet:DIR` (score each on the supernet `inas supernet train "
        "--out DIR` wrote)",
    )


def check_supernet_objectives(names: tuple[str, ...]) -> None:
    """A candidate scored on a supernet is not trained: `train_time` would measure nothing."""
    if TIME_OBJECTIVE in names:
        others = ", ".join(n for n in OBJECTIVES if n != TIME_OBJECTIVE)
        raise ConfigError(
            f"--objectives {TIME_OBJECTIVE}: a candidate scored on a supernet is not trained, so it has no "
            f"training time; choose from {others} (default with a supernet: {','.join(SUPERNET_OBJECTIVES)})"
        )


def parse_objectives(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ConfigError(f"--objectives: give at least one of {', '.join(OBJECTIVES)}")
    for n in names:
        OBJECTIVES.get(n, "--objectives")
    if len(set(names)) != len(names):
        raise ConfigError("--objectives: an objective is named twice; name each once")
    return names


@dataclass(frozen=True)
class SearchSettings:
    """Everything `inas search` is asked, before anything is loaded or checked."""

    space: str
    trials: int = 50
    study: str | None = None
    storage: str | None = None
    dataset: str = "cifar10"
    data_dir: str | None = None
    budget: Budget = field(default_factory=lambda: BUDGETS[DEFAULT_BUDGET])
    objectives: tuple[str, ...] = DEFAULT_OBJECTIVES
    sampler: str = DEFAULT_SAMPLER
    gpus_per_trial: float | None = None  # None: 1 where Ray sees GPUs, else 0
    cpus_per_trial: float = 1.0
    max_concurrent: int | None = None
    address: str | None = None
    seed: int = 0
    warm_start: str | None = None
    resume: bool = False
    # --timeout: the search stops this many seconds after it started (trials still training are marked
    # failed, finished ones kept); None: when --trials are done
    timeout_s: float | None = None
    verbose: bool = False  # Ray's own log lines on stderr
    num_cpus: int | None = None  # for a local Ray: how many CPUs (and GPUs) to declare
    num_gpus: int | None = None
    enqueue: tuple[dict[str, Any], ...] = ()  # fixed candidates to run first (sampled values)
    constraint: str | None = None  # 'params<2e6,macs<3e8': candidates that break it are never trained
    proxies: bool = False  # record NASWOT and synflow of each untrained candidate
    prescreen: int = 1  # candidates scored with `prescreen_proxy` for each one trained (1: no prescreen)
    prescreen_proxy: str = NASWOT
    recipe: TrainRecipe | None = None  # the base recipe (default: TrainRecipe()); the budget sets its size
    # `train`, or `supernet:DIR`: score each candidate on that supernet (its dataset, data fraction,
    # width, image size and split are the supernet's; a --dataset or --budget that disagrees is refused)
    evaluator: str = TRAIN_EVALUATOR
    calibration_images: int = CALIBRATION_IMAGES  # with a supernet: BatchNorm recalibration's sample

    def metric_keys(self) -> tuple[str, ...]:
        """The reported metrics the objectives read, in order."""
        return tuple(OBJECTIVES[o] for o in self.objectives)
