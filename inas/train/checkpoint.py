"""A training checkpoint folder: weights, the architecture, the recipe and the metrics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from inas import __version__
from inas.data.datasets import ImageData
from inas.model.config import ArchConfig
from inas.train.metrics import TrainResult
from inas.train.recipe import TrainRecipe


def save_checkpoint(
    folder: Path, model: torch.nn.Module, arch: ArchConfig, recipe: TrainRecipe, data: ImageData, result: TrainResult
) -> None:
    """Write `folder` whole or not at all: files go to a sibling temp folder that is renamed at the end."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        # CPU and contiguous: loads on a machine without the GPU, whatever memory format trained it.
        weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        torch.save(weights, tmp / "model.pt")
        meta = {
            "arch": arch.to_dict(),
            "arch_hash": arch.hash(),
            "recipe": recipe.to_dict(),
            "dataset": data.name,
            "classes": list(data.classes),
            "normalisation": dict(zip(("mean", "std"), data.mean_std(), strict=True)),
            "inas_version": __version__,
        }
        (tmp / "config.json").write_text(json.dumps(meta, indent=2))
        (tmp / "metrics.json").write_text(json.dumps(result.to_dict(), indent=2))
        if folder.exists():
            folder.rmdir()  # only an empty folder gets here: the CLI refuses a non-empty one
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
