"""Zero-cost scoring of candidates before training: what `--proxies` records and `--prescreen` ranks by.

A candidate is scored as the trial would train it: the budget's reduced-width copy where the budget has
one, untrained and seeded with the recipe's seed, on one batch of the training split (`proxy_batch`:
never validation images), resized to the training image size.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import torch

from inas.data.datasets import ImageData
from inas.model.config import ArchConfig
from inas.train.recipe import TrainRecipe


def score_proxies(
    arch: ArchConfig, recipe: TrainRecipe, data: ImageData, names: Iterable[str] | None = None
) -> dict[str, float]:
    """The zero-cost proxies `names` of the network `arch` (the one trained), untrained (seeded), each
    with the seconds it took (`NAME_seconds`). Default: every proxy."""
    from inas.model.network import build
    from inas.model.proxies import PROXIES
    from inas.train.loop import proxy_batch

    torch.manual_seed(recipe.seed)
    net = build(arch)
    batch = proxy_batch(data, recipe, recipe.image_size or arch.input_size)
    out: dict[str, float] = {}
    for name in names or PROXIES:
        start = time.perf_counter()
        out[name] = PROXIES[name](net, batch)
        out[f"{name}_seconds"] = round(time.perf_counter() - start, 4)
    return out
