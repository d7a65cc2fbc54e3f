"""Using an exported model: recompute its test metrics, and classify images."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from inas.errors import ConfigError, InasError
from inas.study.keys import DEVICE, TEST_TOP1, TEST_TOP5
from inas.train.bundle import load_model, pixels, read_metrics

EVAL_INPUT_BYTES = 1 << 30
PREDICT_BATCH = 64  # images classified at once: a long list of files is never decoded whole


def _autocast(model: torch.nn.Module, device: torch.device):
    """Evaluate as training did: in bf16 autocast where the recipe's precision trains in it on this
    device (TrainRecipe reads a recipe written before `precision`), else in fp32."""
    from inas.train.precision import resolve
    from inas.train.recipe import TrainRecipe

    precision = TrainRecipe(**model.bundle.recipe).precision
    try:
        numerics = resolve(precision, device)
    except ConfigError:  # bf16 where this device has none: fp32 evaluates the same weights
        numerics = resolve("fp32", device)
    return lambda: numerics.autocast(device)


def evaluate_model(
    folder: str | Path,
    dataset: str | None = None,
    data_dir: str | None = None,
    device: str = "auto",
    on_start: Callable[[str, int, int, str], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Test top-1 / top-5 error of the model in `folder` on `dataset` (default: the one it was trained
    on), beside the errors its export recorded. `on_start(dataset, images, batch, device)` hears what
    is about to be evaluated; `on_batch(done, batches)` each batch."""
    from inas.data.datasets import load_dataset
    from inas.data.loader import DeviceLoader
    from inas.train.loop import EVAL_BATCH, evaluate, pick_device

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
    if on_start is not None:
        on_start(data.name, len(data.test_y), batch, str(dev))
    top1, top5 = evaluate(model, loader, _autocast(model, dev), on_batch)
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


def predict(model: torch.nn.Module, images: Any, k: int = 5) -> list[dict[str, Any]]:
    """For each image (files, PIL images or tensors, as `model.preprocess` takes them): the top-k
    classes with their probabilities, and the dataset the model was trained on (its classes are the
    only answers it can give). "image" is a file's path, else the image's position in what was given."""
    b = model.bundle
    device = next(model.parameters()).device
    items = list(images) if isinstance(images, (list, tuple)) else [images]
    out: list[dict[str, Any]] = []
    with torch.no_grad():
        for start in range(0, len(items), PREDICT_BATCH):  # files decoded a batch at a time
            chunk = [pixels(item, b.arch.in_channels) for item in items[start : start + PREDICT_BATCH]]
            names: list[str | int] = []
            for item, x in zip(items[start : start + PREDICT_BATCH], chunk, strict=True):
                n = x.shape[0] if x.ndim == 4 else 1  # a tensor of N images counts N
                at = len(out) + len(names)
                names += [str(item)] if isinstance(item, (str, Path)) else list(range(at, at + n))
            x = model.preprocess([t.to(device) for t in chunk])
            for name, row in zip(names, torch.softmax(model(x).float(), dim=1), strict=True):
                top = torch.topk(row, min(k, len(b.classes)))
                out.append(
                    {
                        "image": name,
                        "trained_on": b.dataset,
                        "top": [
                            {"class": b.classes[int(i)], "probability": float(p)}
                            for p, i in zip(top.values, top.indices, strict=True)
                        ],
                    }
                )
    return out
