"""What a search is asked to do: objectives, budgets and the settings of one run."""

from __future__ import annotations

from dataclasses import dataclass

from inas.errors import ConfigError

# objective name -> key of the trial's reported metrics; every objective is minimised
OBJECTIVES: dict[str, str] = {
    "top1_error": "val_top1",
    "top5_error": "val_top5",
    "params": "params",
    "macs": "macs",
    "train_time": "train_seconds",
    "latency_ms": "latency_ms",
}
DEFAULT_OBJECTIVES = ("top1_error", "params", "train_time")
SAMPLERS = ("tpe", "nsga2", "random", "gp")


@dataclass(frozen=True)
class Budget:
    """How much each trial trains: epochs (with ASHA's first rung at `min_epochs`), the fraction of
    the training set used, the image side (0: the network's) and the batch size."""

    epochs: int
    min_epochs: int
    data_fraction: float
    image_size: int
    batch_size: int


BUDGETS: dict[str, Budget] = {
    "smoke": Budget(epochs=2, min_epochs=1, data_fraction=0.4, image_size=16, batch_size=32),  # 2-core CPU
    "standard": Budget(epochs=6, min_epochs=2, data_fraction=1.0, image_size=0, batch_size=512),
    "paper": Budget(epochs=14, min_epochs=4, data_fraction=1.0, image_size=0, batch_size=512),  # the seed's 14
}


def parse_objectives(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ConfigError(f"--objectives: give at least one of {', '.join(OBJECTIVES)}")
    for n in names:
        if n not in OBJECTIVES:
            raise ConfigError(f"--objectives: unknown objective {n!r}; choose from {', '.join(OBJECTIVES)}")
    if len(set(names)) != len(names):
        raise ConfigError("--objectives: an objective is named twice; name each once")
    return names


def get_budget(name: str) -> Budget:
    if name not in BUDGETS:
        raise ConfigError(f"--budget {name!r}: choose one of {', '.join(BUDGETS)}")
    return BUDGETS[name]
