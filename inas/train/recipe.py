"""`TrainRecipe`: how a candidate is trained, kept apart from what it is (`ArchConfig`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import InitVar, dataclass
from typing import Any

from inas import checks, limits
from inas.data.augment import AUGMENTS
from inas.errors import ConfigError, shown
from inas.registry import Registry

OPTIMIZERS = ("sgd", "adamw", "adadelta")
SCHEDULES = ("onecycle", "cosine", "step")
PRECISIONS = ("auto", "bf16", "fp32")  # what each means on which device: inas.train.precision


@dataclass(frozen=True)
class TrainRecipe:
    """Training hyper-parameters. The seed trains with Adadelta lr 1.0, StepLR gamma 0.7, batch 64."""

    optimizer: str = "sgd"  # SGD with Nesterov momentum
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = (
        "onecycle"  # per batch: linear warm-up over the first quarter, linear decay; or cosine; or step (per epoch)
    )
    step_gamma: float = 0.7  # the "step" schedule multiplies lr by this every epoch
    epochs: int = 14
    batch_size: int = 512
    label_smoothing: float = 0.0
    augment: str = "crop_flip"  # random crop (zero padding of 1/8 of the side) and horizontal flip
    image_size: int = 0  # train and evaluate at this side; 0: the network's input_size
    val_fraction: float = 0.1  # of the training set, held out (stratified, by `seed`) to select on
    precision: str = "auto"  # bf16 where the device has native bf16, else fp32; or bf16, fp32
    seed: int = 0
    # Recipes written before `precision` (model folders, studies) say mixed_precision: true trained with
    # the default (bf16 where fast), false in fp32. Read, never written: not a field.
    mixed_precision: InitVar[bool | None] = None

    def __post_init__(self, mixed_precision: bool | None) -> None:
        if mixed_precision is not None:
            checks.boolean(mixed_precision, "recipe.mixed_precision")
            if not mixed_precision:
                object.__setattr__(self, "precision", "fp32")

    @classmethod
    def seed_recipe(cls) -> TrainRecipe:
        """The seed's training: Adadelta lr 1.0, StepLR gamma 0.7 a epoch, batch 64, flip only, fp32."""
        return cls(
            optimizer="adadelta",
            lr=1.0,
            weight_decay=0.0,
            schedule="step",
            step_gamma=0.7,
            epochs=14,
            batch_size=64,
            augment="flip",
            precision="fp32",
        )

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def with_overrides(self, values: dict[str, Any], where: str = "recipe") -> TrainRecipe:
        """A copy with `values` applied, each checked like the field it replaces."""
        for key in values:
            if key not in self.fields():
                raise ConfigError(f"{where}.{key}: unknown recipe value; valid keys are {', '.join(self.fields())}")
        return validate_recipe(dataclasses.replace(self, **values), where)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def validate_recipe(r: TrainRecipe, where: str = "recipe") -> TrainRecipe:
    checks.choice(r.optimizer, OPTIMIZERS, f"{where}.optimizer")
    checks.choice(r.schedule, SCHEDULES, f"{where}.schedule")
    checks.choice(r.augment, AUGMENTS, f"{where}.augment")
    for name in ("lr", "step_gamma"):
        checks.positive_number(getattr(r, name), f"{where}.{name}")
    if r.lr > limits.MAX_LR:  # past float32's range the optimizer's update overflows: no NaN, a crash
        raise ConfigError(f"{where}.lr: {r.lr:g} is over the {limits.MAX_LR:g} inas allows; lower it")
    for name in ("momentum", "weight_decay"):
        checks.non_negative(getattr(r, name), f"{where}.{name}")
    for name in ("label_smoothing", "val_fraction"):
        checks.fraction(getattr(r, name), f"{where}.{name}")
    if not checks.is_int(r.image_size) or r.image_size < 0:
        raise ConfigError(
            f"{where}.image_size: must be a whole number >= 0 (0: the network's input size), got {shown(r.image_size)}"
        )
    for name in ("epochs", "batch_size"):
        checks.positive_int(getattr(r, name), f"{where}.{name}")
    checks.choice(r.precision, PRECISIONS, f"{where}.precision")
    if not checks.is_int(r.seed) or not 0 <= r.seed <= limits.MAX_SEED:
        raise ConfigError(f"{where}.seed: must be a whole number from 0 to {limits.MAX_SEED:,}, got {shown(r.seed)}")
    return r


RECIPES: Registry[Callable[[], TrainRecipe]] = Registry(
    "recipe", {"inas": TrainRecipe, "seed": TrainRecipe.seed_recipe}
)
