"""A supernet small enough to train in seconds, written as `inas supernet train` writes one, for the
tests of what reads a supernet folder (the bundle's checks, a search over it)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from inas.data.datasets import load_dataset
from inas.space.registry import load_space
from inas.space.schema import space_fingerprint
from inas.supernet.bundle import SupernetInfo, write_epoch
from inas.supernet.layout import supernet_layout
from inas.supernet.train import train_supernet
from inas.train.normalise import normalisation
from inas.train.recipe import TrainRecipe

# Four candidates: stage 2 holds one or two modules, the whole network at one of two widths.
TINY_SPACE = """\
name: tinynet
description: Four small networks one supernet holds.
base: seed/short4
num_classes: 10
depth:
  4: {low: 1, high: 2}
channels: {multiplier: {choices: [0.25, 0.5]}, scope: network, round_to: 4}
"""
DATASET = "synthetic:200"
WIDTH = 0.125
IMAGE_SIZE = 8
BATCH = 32


def write_space(folder: Path, text: str = TINY_SPACE, name: str = "tinynet.yaml") -> str:
    path = Path(folder) / name
    path.write_text(text)
    return str(path)


def train_tiny_supernet(
    out: Path, space: str, dataset: str = DATASET, seed: int = 0, width: float = WIDTH
) -> SupernetInfo:
    """Train the supernet of `space` (copies at `width`) for one epoch on `dataset` into `out`; what its
    json says."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    loaded = load_space(space)
    recipe = dataclasses.replace(TrainRecipe(), epochs=1, batch_size=BATCH, image_size=IMAGE_SIZE, seed=seed)
    data = load_dataset(dataset, None)
    layout = supernet_layout(loaded, data.num_classes, data.channels, width)
    mean, std = normalisation(data, recipe)
    info = SupernetInfo(
        space=space,
        space_fingerprint=space_fingerprint(loaded),
        widest=layout.widest,
        width=width,
        dataset=dataset,
        classes=data.num_classes,
        data_fraction=1.0,
        mean=tuple(mean),
        std=tuple(std),
        recipe=recipe,
        n_random=0,
        epochs_done=0,
        history=(),
        weights_sha256="",
    )
    written = [info]

    def on_epoch(epoch, state) -> bool:
        written.append(write_epoch(out, written[-1], state))
        return True

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads on a shared 2-core machine run slower than one
    try:
        train_supernet(layout, recipe, data, n_random=0, on_epoch=on_epoch)
    finally:
        torch.set_num_threads(threads)
    return written[-1]
