"""Using an exported model: recompute its test metrics, and classify image files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from inas.data.datasets import load_dataset
from inas.data.loader import DeviceLoader, to_input
from inas.errors import ConfigError, InasError
from inas.study.keys import DEVICE, TEST_TOP1, TEST_TOP5
from inas.train.bundle import load_model, read_metrics
from inas.train.loop import EVAL_BATCH, evaluate, pick_device
from inas.train.precision import resolve
from inas.train.recipe import TrainRecipe

EVAL_INPUT_BYTES = 1 << 30


def _autocast(model: torch.nn.Module, device: torch.device):
    """Evaluate as training did: in bf16 autocast where the recipe's precision trains in it on this
    device (TrainRecipe reads a recipe written before `precision`), else in fp32."""
    precision = TrainRecipe(**model.bundle.recipe).precision
    try:
        numerics = resolve(precision, device)
    except ConfigError:  # bf16 where this device has none: fp32 evaluates the same weights
        numerics = resolve("fp32", device)
    return lambda: numerics.autocast(device)


def evaluate_model(
    folder: str | Path, dataset: str | None = None, data_dir: str | None = None, device: str = "auto"
) -> dict[str, Any]:
    """Test top-1 / top-5 error of the model in `folder` on `dataset` (default: the one it was trained
    on), beside the errors its export recorded."""
    dev = pick_device(device)
    model = load_model(folder, dev)
    b = model.bundle
    data = load_dataset(dataset or b.dataset, data_dir)
    if tuple(data.classes) != tuple(b.classes):
        raise InasError(
            f"{data.name} has classes {list(data.classes)[:5]}... but the model knows {list(b.classes)[:5]}...; "
            "evaluate on the dataset it was trained on"
        )
    if data.channels != b.arch.in_channels:
        raise InasError(f"{data.name} has {data.channels}-channel images; the model takes {b.arch.in_channels}")
    # A batch of inputs at most EVAL_INPUT_BYTES (at 4,096 px, 1,024 images would be 206 GB).
    batch = max(1, min(EVAL_BATCH, EVAL_INPUT_BYTES // (4 * b.arch.in_channels * b.input_size**2)))
    loader = DeviceLoader(
        data.test_x, data.test_y, batch_size=batch, mean=b.mean, std=b.std, device=dev, size=b.input_size
    )
    top1, top5 = evaluate(model, loader, _autocast(model, dev))
    recorded = read_metrics(folder)
    return {
        "dataset": data.name,
        "images": len(data.test_y),
        TEST_TOP1: top1,
        TEST_TOP5: top5,
        f"recorded_{TEST_TOP1}": recorded.get(TEST_TOP1),
        f"recorded_{TEST_TOP5}": recorded.get(TEST_TOP5),
        DEVICE: str(dev),
    }


def read_image(path: Path, channels: int) -> torch.Tensor:
    """An image file as uint8 C x H x W (RGB or greyscale, as the model takes), read within the bounds
    of `inas.data.images.read_pixels` (a regular file, its pixels counted before they are decoded)."""
    from inas.data.images import read_pixels

    pixels = read_pixels(path, "RGB" if channels == 3 else "L")
    t = torch.from_numpy(pixels.copy())
    return t[None] if t.ndim == 2 else t.permute(2, 0, 1)


def predict(model: torch.nn.Module, paths: list[str | Path], k: int = 5) -> list[dict[str, Any]]:
    """For each image: the top-k classes with their probabilities, preprocessed as in training, and the
    dataset the model was trained on (its classes are the only answers it can give)."""
    b = model.bundle
    device = next(model.parameters()).device
    mean = torch.tensor(b.mean, device=device).view(1, -1, 1, 1) * 255
    std = torch.tensor(b.std, device=device).view(1, -1, 1, 1) * 255
    out = []
    with torch.no_grad():
        for path in paths:
            x = to_input(read_image(Path(path), b.arch.in_channels)[None].to(device), b.input_size, mean, std)
            probs = torch.softmax(model(x).float(), dim=1)[0]
            top = torch.topk(probs, min(k, len(b.classes)))
            out.append(
                {
                    "image": str(path),
                    "trained_on": b.dataset,
                    "top": [
                        {"class": b.classes[int(i)], "probability": float(p)}
                        for p, i in zip(top.values, top.indices, strict=True)
                    ],
                }
            )
    return out
