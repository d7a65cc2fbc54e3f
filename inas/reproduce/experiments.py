"""The seeds' experiments, each a fixed list of candidates run as a study (so reports work on them),
with the seeds' own numbers to set beside ours."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from inas.errors import InasError, shown
from inas.train.recipe import TrainRecipe

# The seed's table (seeds 000/002): test top-1 error, top-5 error, parameters, seconds for 14 epochs.
SEED_TABLE: dict[str, dict[str, tuple[float, float, int, int]]] = {
    "cifar100": {
        "Naive": (0.36, 0.09, 65_736_148, 52 * 60 + 38),
        "GoogleNet": (0.34, 0.10, 6_258_500, 29 * 60 + 8),
        "Long": (0.35, 0.10, 9_641_924, 36 * 60 + 41),
        "Short": (0.32, 0.09, 5_271_652, 23 * 60 + 11),
        "Short2": (0.32, 0.09, 3_523_556, 16 * 60 + 29),
        "Short3": (0.36, 0.11, 1_985_220, 9 * 60 + 3),
        "Short4": (0.44, 0.15, 1_650_084, 8 * 60 + 56),
    },
    "cifar10": {
        "Naive": (0.15, 0.01, 65_291_098, 52 * 60 + 51),
        "GoogleNet": (0.10, 0.00, 6_166_250, 28 * 60 + 45),
        "Long": (0.11, 0.00, 9_549_674, 40 * 60 + 12),
        "Short": (0.10, 0.00, 5_179_402, 27 * 60 + 30),
        "Short2": (0.10, 0.00, 3_431_306, 31 * 60 + 57),
        "Short3": (0.11, 0.00, 1_892_970, 26 * 60 + 31),
        "Short4": (0.15, 0.01, 1_557_834, 25 * 60 + 30),
    },
}
SEED_VARIANTS = {
    "Naive": "seed/naive",
    "GoogleNet": "seed/googlenet",
    "Long": "seed/long",
    "Short": "seed/short",
    "Short2": "seed/short2",
    "Short3": "seed/short3",
    "Short4": "seed/short4",
}
# The d2l exercise: the plain network, then one change at a time.
D2L_PLAIN = {"block.norm": "none", "block.residual": False, "block.factorized": False, "recipe.label_smoothing": 0.0}
D2L_VARIANTS = {
    "plain": {},
    "batchnorm": {"block.norm": "branch_end"},
    "label_smoothing": {"recipe.label_smoothing": 0.1},
    "residual": {"block.residual": True},
    "factorized": {"block.factorized": True},
}
# d2l trains GoogLeNet with plain SGD, lr 0.1, batch 128, no augmentation (a constant rate: gamma 1).
D2L_RECIPE = TrainRecipe(
    optimizer="sgd", lr=0.1, momentum=0.0, weight_decay=0.0, schedule="step", step_gamma=1.0, augment="none"
)


@dataclass(frozen=True)
class Experiment:
    """A fixed list of candidates of one space, with the recipe they are trained with."""

    name: str  # seed-table or d2l
    space: str
    variants: dict[str, dict[str, Any]]  # label -> sampled values
    recipe: TrainRecipe
    batch_size: int
    image_size: int  # 0: the network's
    reference: dict[str, tuple[float, float, int, int]] = field(default_factory=dict)


def choose(names: str | None, known: dict[str, Any], option: str = "--variants") -> list[str]:
    if not names:
        return list(known)
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    lower = {k.lower(): k for k in known}
    out = []
    for n in chosen:
        if n.lower() not in lower:
            raise InasError(f"{option}: unknown variant {shown(n)}; choose from {', '.join(known)}")
        out.append(lower[n.lower()])
    if not out:
        raise InasError(f"{option}: name at least one of {', '.join(known)}")
    if len(set(out)) != len(out):
        raise InasError(f"{option}: a variant is named twice; name each once")
    return out


def seed_table(dataset: str, recipe: str, variants: str | None) -> Experiment:
    if recipe not in ("seed", "inas"):
        raise InasError(f"--recipe {shown(recipe)}: choose seed (Adadelta, batch 64, flip only) or inas")
    labels = choose(variants, SEED_VARIANTS)
    base = TrainRecipe.seed_recipe() if recipe == "seed" else TrainRecipe()
    return Experiment(
        name="seed-table",
        space="seed_variants",
        variants={label: {"base": SEED_VARIANTS[label]} for label in labels},
        recipe=base,
        batch_size=base.batch_size,
        image_size=0,
        reference=SEED_TABLE.get(dataset, {}),
    )


def d2l(recipe: str, variants: str | None, image_size: int) -> Experiment:
    if recipe not in ("d2l", "inas"):
        raise InasError(f"--recipe {shown(recipe)}: choose d2l (SGD lr 0.1, batch 128, no augmentation) or inas")
    labels = choose(variants, D2L_VARIANTS)
    base = D2L_RECIPE if recipe == "d2l" else TrainRecipe()
    return Experiment(
        name="d2l",
        space="d2l_variants",
        variants={label: {**D2L_PLAIN, **D2L_VARIANTS[label]} for label in labels},
        recipe=base,
        batch_size=128 if recipe == "d2l" else base.batch_size,
        image_size=image_size,
    )


def study_name(experiment: Experiment, dataset: str, recipe: str) -> str:
    return f"{experiment.name}-{re.sub(r'[^A-Za-z0-9]+', '-', dataset).strip('-')}-{recipe}"
