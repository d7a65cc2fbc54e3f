"""A trained model on disk, and loading it back with one call.

A bundle is a folder:
- `model.safetensors`: the weights (CPU, contiguous);
- `config.json`: the architecture, the recipe, the dataset with its class names and the normalisation
  the network was trained with, the input size, the code versions, where it came from, and the
  SHA-256 of the weights file (so a weights file from another bundle is caught);
- `metrics.json`: test errors, params, MACs, training time, the per-epoch curve;
- `README.md`: a short model card; with ONNX, `model.onnx`.

It is written whole or not at all: into a hidden sibling folder renamed at the end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from inas import __version__, limits
from inas.data.datasets import ImageData
from inas.errors import ConfigError, InasError, shown
from inas.files import check_out_dir, make_ordinary, read_json
from inas.model.config import ArchConfig
from inas.model.network import GoogLeNet, build
from inas.model.stats import measure
from inas.train.metrics import TrainResult
from inas.train.normalise import normalisation
from inas.train.recipe import TrainRecipe

FORMAT = "inas-model/1"
MAX_WEIGHTS_BYTES = limits.MAX_PARAMS * 4 + (16 << 20)  # fp32 weights, BatchNorm counters, the header
MIN_STD = 1e-3  # channel_stats clamps at this: a smaller std comes from an edited file
WEIGHTS, CONFIG, METRICS, CARD, ONNX = "model.safetensors", "config.json", "metrics.json", "README.md", "model.onnx"


class BundleError(InasError):
    """A model folder that is missing, incomplete, corrupt or inconsistent."""


@dataclass(frozen=True)
class BundleConfig:
    """What `config.json` holds, beside the weights."""

    arch: ArchConfig
    recipe: dict[str, Any]
    dataset: str
    classes: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, in [0, 1] units
    std: tuple[float, ...]
    input_size: int  # the side the network was trained and evaluated at
    source: dict[str, Any] = field(default_factory=dict)  # study, storage, trial, command
    inas_version: str = __version__
    torch_version: str = torch.__version__
    weights_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "arch": self.arch.to_dict(),
            "arch_hash": self.arch.hash(),
            "recipe": self.recipe,
            "dataset": self.dataset,
            "classes": list(self.classes),
            "normalisation": {"mean": list(self.mean), "std": list(self.std)},
            "input_size": self.input_size,
            "source": self.source,
            "inas_version": self.inas_version,
            "torch_version": self.torch_version,
            "weights_sha256": self.weights_sha256,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> BundleConfig:
        if d.get("format") != FORMAT:
            raise BundleError(
                f"{where}: format {shown(d.get('format'))} is not {shown(FORMAT)}; export the model again"
            )
        try:
            arch = ArchConfig.from_dict(d["arch"], where=f"{where}: arch")
            return cls(
                arch=arch,
                recipe=dict(d["recipe"]),
                dataset=str(d["dataset"]),
                classes=tuple(d["classes"]),
                mean=tuple(float(v) for v in d["normalisation"]["mean"]),
                std=tuple(float(v) for v in d["normalisation"]["std"]),
                input_size=whole(d["input_size"]),
                source=dict(d.get("source", {})),
                inas_version=str(d.get("inas_version", "?")),
                torch_version=str(d.get("torch_version", "?")),
                weights_sha256=str(d["weights_sha256"]),
            )
        except (KeyError, TypeError, ValueError, ConfigError) as e:
            raise BundleError(f"{where}: not a valid inas model config ({e}); export the model again") from None
        except BundleError as e:  # from __post_init__, which knows no path
            raise BundleError(str(e).replace("config.json", where, 1)) from None

    def __post_init__(self) -> None:
        """What predict and evaluate use, checked against the network and the limits: a config.json
        is a file anyone may have edited, and these fields size allocations and index outputs."""
        fix = "export the model again"
        arch = self.arch
        if len(self.classes) != arch.num_classes or not all(isinstance(c, str) for c in self.classes):
            raise BundleError(
                f"config.json: classes must be {arch.num_classes} names, one per output of the network, got "
                f"{shown(list(self.classes))}; {fix}"
            )
        if any(len(c) > limits.MAX_CLASS_NAME_CHARS for c in self.classes):
            raise BundleError(f"config.json: a class name is over {limits.MAX_CLASS_NAME_CHARS} characters; {fix}")
        if isinstance(self.input_size, bool) or not 1 <= self.input_size <= limits.MAX_INPUT_SIZE:
            raise BundleError(
                f"config.json: input_size {shown(self.input_size)} is not from 1 to {limits.MAX_INPUT_SIZE:,}; {fix}"
            )
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) != arch.in_channels or not all(math.isfinite(v) for v in values):
                raise BundleError(
                    f"config.json: normalisation {name} must be {arch.in_channels} finite numbers (one per input "
                    f"channel), got {shown(list(values))}; {fix}"
                )
        if not all(v >= MIN_STD for v in self.std):  # 0 divides every pixel by zero: nan for every class
            raise BundleError(f"config.json: normalisation std {shown(list(self.std))} must be >= {MIN_STD}; {fix}")


@dataclass(frozen=True)
class Preprocess:
    """What the network expects of an image, carried with it as torchvision's weights carry their
    `transforms()`: `model.preprocess(images)` is the batch the network takes, resized to `size` x
    `size` (bilinear, antialiased, as training resized) and normalised as in training."""

    size: int
    mean: tuple[float, ...]  # per channel, in [0, 1] units
    std: tuple[float, ...]
    channels: int  # 3: RGB, 1: greyscale

    @classmethod
    def of(cls, config: BundleConfig) -> Preprocess:
        return cls(config.input_size, config.mean, config.std, config.arch.in_channels)

    def __call__(self, images: Any) -> torch.Tensor:
        """`images`: an image file's path, a PIL image, a uint8 tensor of 0-255 pixels or a float one
        in [0, 1] (C x H x W, or N x C x H x W), or a list of these. Returns N x C x size x size float,
        on the device of the tensors given (the CPU for files and PIL images)."""
        items = list(images) if isinstance(images, (list, tuple)) else [images]
        if not items:
            raise InasError("images: none given; pass image files, PIL images or tensors")
        return torch.cat([self._one(pixels(x, self.channels)) for x in items])

    def _one(self, x: torch.Tensor) -> torch.Tensor:
        from inas.data.loader import to_input

        x = x[None] if x.ndim == 3 else x
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise InasError(
                f"images: a tensor of shape {tuple(x.shape)}, where the model takes {self.channels}-channel "
                f"images (C x H x W or N x C x H x W); convert them ({'RGB' if self.channels == 3 else 'greyscale'})"
            )
        if x.numel() == 0:
            raise InasError(f"images: an empty tensor of shape {tuple(x.shape)}; pass at least one image")
        if x.dtype == torch.uint8:
            x = x.float()
        elif x.is_floating_point():
            low, high = float(x.min()), float(x.max())
            if low < 0 or high > 1:  # 0-255 pixels, or an already normalised batch: either would mislead
                raise InasError(
                    f"images: float pixels from {low:.3g} to {high:.3g}, where they must lie in [0, 1]; pass "
                    "unnormalised pixels (uint8 0-255, or float divided by 255)"
                )
            x = x.float() * 255
        else:
            raise InasError(f"images: a {x.dtype} tensor; pass uint8 (0-255) or float ([0, 1]) pixels")
        mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1) * 255
        std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1) * 255
        return to_input(x, self.size, mean, std)


def pixels(image: Any, channels: int) -> torch.Tensor:
    """A tensor as it is; an image file or a PIL image as uint8 C x H x W (RGB or greyscale, as the
    model takes). A file is read within the bounds of `inas.data.images.read_pixels` (a regular file,
    its pixels counted before they are decoded)."""
    import numpy as np

    if isinstance(image, torch.Tensor):
        return image
    mode = "RGB" if channels == 3 else "L"
    if isinstance(image, (str, Path)):
        from inas.data.images import read_pixels

        array = read_pixels(Path(image), mode)
    elif hasattr(image, "convert") and hasattr(image, "size"):  # a PIL image (PIL is imported only for files)
        array = np.asarray(image.convert(mode))
    else:
        raise InasError(f"images: a {type(image).__name__}; pass image files, PIL images or tensors")
    t = torch.from_numpy(array.copy())
    return t[None] if t.ndim == 2 else t.permute(2, 0, 1)


def whole(value: Any) -> int:
    """A JSON integer, as it is (int() would take 3.7 or "32")."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {shown(value)}")
    return value


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def shown_figures(value: Any) -> Any:
    """`value` with every float cut to 6 significant digits: metrics.json is read by people, and an error
    of 0.1 measured on 10,000 images is not 0.09999999999999998."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: shown_figures(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [shown_figures(v) for v in value]
    return value


def write_bundle(
    out: Path,
    model: torch.nn.Module,
    config: BundleConfig,
    metrics: dict[str, Any],
    card: str,
    extra: Callable[[Path], None] | None = None,
) -> BundleConfig:
    """Write the bundle to `out` whole or not at all. `extra(folder)` may add files (ONNX) and raise to
    abandon the export. Returns the config as written (with the weights' hash)."""
    check_out_dir(out)
    out = Path(out).absolute()  # not resolve(): check_out_dir refused a link, and none is followed
    try:  # a fresh private name: nothing already there (a planted link, a folder) is ever reused
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    except OSError as e:
        raise InasError(f"--out {out}: cannot write there ({e.strerror}); choose a writable folder") from None
    try:
        weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(weights, tmp / WEIGHTS, metadata={"format": FORMAT, "arch_hash": config.arch.hash()})
        config = BundleConfig(**{**config.__dict__, "weights_sha256": sha256(tmp / WEIGHTS)})
        (tmp / CONFIG).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        (tmp / METRICS).write_text(json.dumps(shown_figures(metrics), indent=2) + "\n")
        (tmp / CARD).write_text(card)
        if extra is not None:
            extra(tmp)
        for f in tmp.iterdir():  # some writers make private files; a model folder is ordinary files
            make_ordinary(f)
        make_ordinary(tmp, folder=True)  # mkdtemp made it private
        if out.exists():
            out.rmdir()  # empty: check_out_dir said so
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return config


def read_config(folder: Path) -> BundleConfig:
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"{folder}: no such model folder; give the --out folder of `inas export`")
    missing = [name for name in (WEIGHTS, CONFIG, METRICS) if not (folder / name).is_file()]
    if missing:
        raise BundleError(f"{folder}: {', '.join(missing)} missing; the export did not finish: export again")
    raw = read_json(folder / CONFIG, BundleError, "export the model again")
    if not isinstance(raw, dict):
        raise BundleError(f"{folder / CONFIG}: expected a JSON object; export the model again")
    return BundleConfig.from_dict(raw, str(folder / CONFIG))


def read_metrics(folder: Path) -> dict[str, Any]:
    path = Path(folder) / METRICS
    try:
        metrics = read_json(path, BundleError, "export the model again")
    except OSError as e:
        raise BundleError(f"{path}: cannot read ({e.strerror}); export the model again") from None
    if not isinstance(metrics, dict):
        raise BundleError(f"{path}: expected a JSON object; export the model again")
    return metrics


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> GoogLeNet:
    """The network of an exported model, in eval mode, with `model.config` (its ArchConfig),
    `model.bundle` (its BundleConfig: classes, normalisation, input size, recipe, source) and
    `model.preprocess` (images -> the batch it takes: `model(model.preprocess(images).to(device))`)."""
    folder = Path(folder)
    config = read_config(folder)
    size = (folder / WEIGHTS).stat().st_size
    if size > MAX_WEIGHTS_BYTES:  # before it is hashed and loaded whole
        raise BundleError(
            f"{folder / WEIGHTS}: {size:,} bytes, over the {MAX_WEIGHTS_BYTES:,} of a network of at most "
            f"{limits.MAX_PARAMS:,} parameters; export the model again"
        )
    if sha256(folder / WEIGHTS) != config.weights_sha256:
        raise BundleError(
            f"{folder / WEIGHTS}: does not match {CONFIG} (its SHA-256 differs); the files come from "
            "different exports: export the model again"
        )
    try:
        weights = load_file(folder / WEIGHTS)
    except (SafetensorError, OSError) as e:
        raise BundleError(f"{folder / WEIGHTS}: cannot read ({e}); export the model again") from None
    model = build(config.arch)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)
        raise BundleError(f"{folder / WEIGHTS}: does not fit the architecture ({first}); export again") from None
    model.bundle = config
    model.preprocess = Preprocess.of(config)
    return model.to(device).eval()


# -- what a trained model's folder says about it ------------------------------------------------


def metrics_of(result: TrainResult, macs: int) -> dict[str, Any]:
    return {
        "test_top1": result.test_top1,
        "test_top5": result.test_top5,
        "params": result.params,
        "macs": macs,
        "train_seconds": result.train_seconds,
        "images_per_second": result.images_per_second,
        "device": result.device,
        # what the speed above was measured in (`inas.train.precision`)
        "precision": result.precision,
        "memory_format": result.memory_format,
        "threads": result.threads,
        "epochs": [dataclasses.asdict(e) for e in result.epochs],
    }


def describe(
    model: torch.nn.Module, recipe: TrainRecipe, data: ImageData, result: TrainResult, source: dict[str, Any]
) -> tuple[BundleConfig, dict[str, Any]]:
    """The config and metrics of a model `train` returned (its config has the dataset's classes)."""
    mean, std = normalisation(data, recipe)  # what training normalised with
    size = recipe.image_size or model.config.input_size
    config = BundleConfig(model.config, recipe.to_dict(), data.name, data.classes, mean, std, size, source)
    return config, metrics_of(result, measure(model.config, input_size=size).macs)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.2%}"


def model_card(config: BundleConfig, metrics: dict[str, Any]) -> str:
    src = config.source
    where = f"trial {src.get('trial')} of study `{src.get('study')}`" if "study" in src else src.get("command", "?")
    held = float(config.recipe.get("val_fraction", 0.0))
    on = "train + validation, nothing held out" if held == 0 else f"{held:.0%} held out for validation"
    n = len(metrics["epochs"])
    return f"""# inas model `{config.arch.hash()}`

A GoogLeNet / Inception candidate from inas ({where}), trained from scratch on the training set of
`{config.dataset}` ({on}) with the recipe in `config.json`, then evaluated once on the test set.

| | |
|---|---|
| test top-1 error | {_pct(metrics["test_top1"])} |
| test top-5 error | {_pct(metrics["test_top5"])} |
| parameters | {metrics["params"]:,} |
| MACs per image | {metrics["macs"]:,} at {config.input_size}x{config.input_size} |
| training | {metrics["train_seconds"]:.1f} s, {n} epoch{"s" if n != 1 else ""} on {metrics["device"]} |
| classes | {len(config.classes)} |

```python
import inas
model = inas.load_model("path/to/this/folder")  # eval mode; model.config, model.bundle
inas.predict(model, ["image.png"])  # top-5 classes; model(model.preprocess(images)) for the logits
```

Inputs: {config.arch.in_channels}-channel images resized to {config.input_size}x{config.input_size}, scaled to [0, 1]
and normalised with mean {[round(v, 4) for v in config.mean]} and std {[round(v, 4) for v in config.std]}
(`model.preprocess` and `inas predict` do this). Made with inas {config.inas_version} and torch {config.torch_version}.
"""
