"""`inas export`: retrain a study's chosen candidate from scratch on train + validation, test it once,
and write it as a bundle (optionally with an ONNX copy checked against PyTorch)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from inas.data.datasets import ImageData, load_dataset
from inas.errors import InasError
from inas.export.bundle import METRICS, ONNX, BundleConfig, check_out_dir, write_bundle
from inas.model.config import ArchConfig
from inas.model.measure import measure
from inas.report.load import StudyRef
from inas.train.loop import EpochCallback, pick_device, train
from inas.train.metrics import TrainResult
from inas.train.recipe import TrainRecipe

ONNX_TOLERANCE = 1e-3  # max |logit difference| relative to the logits' scale


@dataclass(frozen=True)
class ExportSettings:
    trial: int | None = None
    pick: str | None = None
    epochs: int | None = None  # None: the recipe the trial was searched with
    dataset: str | None = None  # None: the study's
    data_dir: str | None = None
    device: str = "auto"
    compile: bool = False
    onnx: bool = False


def candidate(ref: StudyRef, number: int) -> tuple[ArchConfig, TrainRecipe]:
    """The architecture and recipe trial `number` was trained with."""
    attrs = ref.study.get_trials(deepcopy=False)[number].user_attrs
    if "arch" not in attrs or "recipe" not in attrs:
        raise InasError(f"trial {number} of {ref.name!r} has no recorded architecture; pick another trial")
    return ArchConfig.from_dict(attrs["arch"]), TrainRecipe(**attrs["recipe"])


def final_recipe(recipe: TrainRecipe, epochs: int | None) -> TrainRecipe:
    """The searched recipe, trained on train + validation (nothing held out) for `epochs`."""
    return recipe.with_overrides({"val_fraction": 0.0, **({"epochs": epochs} if epochs else {})}, where="--epochs")


def metrics_of(result: TrainResult, macs: int) -> dict[str, Any]:
    return {
        "test_top1": result.test_top1,
        "test_top5": result.test_top5,
        "params": result.params,
        "macs": macs,
        "train_seconds": result.train_seconds,
        "images_per_second": result.images_per_second,
        "device": result.device,
        "epochs": [dataclasses.asdict(e) for e in result.epochs],
    }


def describe(
    model: torch.nn.Module, recipe: TrainRecipe, data: ImageData, result: TrainResult, source: dict[str, Any]
) -> tuple[BundleConfig, dict[str, Any]]:
    """The config and metrics of a model `train` returned (its config has the dataset's classes)."""
    mean, std = data.mean_std()  # what training normalised with
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
```

Inputs: {config.arch.in_channels}-channel images resized to {config.input_size}x{config.input_size}, scaled to [0, 1]
and normalised with mean {[round(v, 4) for v in config.mean]} and std {[round(v, 4) for v in config.std]}
(`inas predict` does this). Made with inas {config.inas_version} and torch {config.torch_version}.
"""


def require_onnx() -> None:
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError:
        raise InasError("--onnx needs onnx, onnxscript and onnxruntime: pip install 'inas[onnx]'") from None


def export_onnx(model: torch.nn.Module, config: BundleConfig, folder: Path) -> float:
    """Write `model.onnx` and check onnxruntime's logits against PyTorch's; the largest difference."""
    import onnxruntime  # present: `require_onnx` checked before training

    model = model.cpu().eval()
    x = torch.randn(
        4, config.arch.in_channels, config.input_size, config.input_size, generator=torch.Generator().manual_seed(0)
    )
    path = folder / ONNX
    torch.onnx.export(
        model, (x,), str(path), input_names=["images"], output_names=["logits"],
        dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, dynamo=True, external_data=False, verbose=False,
    )  # fmt: skip
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(x).numpy()
    got = session.run(None, {"images": x.numpy()})[0]
    diff = float(abs(got - expected).max())
    scale = max(1.0, float(abs(expected).max()))
    if not diff <= ONNX_TOLERANCE * scale:
        raise InasError(f"the ONNX model's logits differ from PyTorch's by {diff:.3g}; the export is abandoned")
    return diff


def export(
    ref: StudyRef,
    s: ExportSettings,
    out: Path,
    on_epoch: EpochCallback | None = None,
    on_start: Callable[[int, ArchConfig, TrainRecipe, ImageData], None] | None = None,
) -> tuple[BundleConfig, dict[str, Any]]:
    """Retrain the picked trial's candidate and write the bundle to `out`; (config, metrics)."""
    from inas.export.pick import pick_trial

    check_out_dir(out)  # before hours of training, not after
    if s.onnx:
        require_onnx()
    number = pick_trial(ref.study, s.trial, s.pick)
    arch, searched = candidate(ref, number)
    recipe = final_recipe(searched, s.epochs)
    dataset = s.dataset or ref.study.user_attrs.get("settings", {}).get("dataset")
    if not dataset:
        raise InasError(f"study {ref.name!r} does not say its dataset; give --dataset")
    device = pick_device(s.device)
    data = load_dataset(dataset, s.data_dir)
    if on_start is not None:
        on_start(number, arch, recipe, data)
    model, result = train(arch, recipe, data, device=device, on_epoch=on_epoch, compile=s.compile)
    if result.status != "ok" or result.test_top1 is None:
        raise InasError(
            f"retraining trial {number} did not finish ({result.message or result.status}); nothing written"
        )
    picked_by = s.pick or (f"--trial {s.trial}" if s.trial is not None else "min-error")
    source = {"study": ref.name, "storage": ref.url, "trial": number, "picked_by": picked_by}
    config, metrics = describe(model, recipe, data, result, source)
    extra = None
    if s.onnx:

        def extra(folder: Path) -> None:
            metrics["onnx_max_abs_diff"] = export_onnx(model, config, folder)
            (folder / METRICS).write_text(json.dumps(metrics, indent=2) + "\n")

    config = write_bundle(out, model, config, metrics, model_card(config, metrics), extra)
    return config, metrics
