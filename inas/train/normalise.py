"""The normalisation a recipe trains with, apart from the loop: writing or loading a model bundle needs
it, and `inas.load_model` must not import the trainer."""

from __future__ import annotations

from inas.data.datasets import ImageData, channel_stats, stratified_split
from inas.train.recipe import TrainRecipe


def normalisation(data: ImageData, r: TrainRecipe) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of the images `r` trains on (its training split, not the validation
    images), the same for every network trained with `r` on `data`."""
    train_x = data.train_x
    if r.val_fraction > 0:
        train_x = train_x[stratified_split(data.train_y, r.val_fraction, r.seed)[1]]
    return channel_stats(train_x, r.seed)
