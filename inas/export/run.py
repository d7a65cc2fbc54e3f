"""`inas export`: retrain a study's chosen candidate from scratch on train + validation, test it once,
and write it as a bundle (optionally with an ONNX copy checked against PyTorch)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from inas.data.datasets import ImageData, load_dataset
from inas.errors import InasError, shown
from inas.files import check_out_dir
from inas.model.config import ArchConfig
from inas.study.keys import DATASET_KEY, SETTINGS_KEY
from inas.study.load import StudyRef
from inas.study.record import TrialRecord
from inas.train.bundle import METRICS, ONNX, BundleConfig, describe, model_card, write_bundle
from inas.train.loop import EpochCallback, pick_device, train
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
    record = TrialRecord.from_attrs(ref.study.get_trials(deepcopy=False)[number].user_attrs)
    if record.arch is None or record.recipe is None:
        raise InasError(f"trial {number} of {shown(ref.name)} has no recorded architecture; pick another trial")
    return ArchConfig.from_dict(record.arch, where=f"trial {number}: arch"), TrainRecipe(**record.recipe)


def final_recipe(recipe: TrainRecipe, epochs: int | None) -> TrainRecipe:
    """The searched recipe, trained on train + validation (nothing held out) for `epochs`."""
    return recipe.with_overrides({"val_fraction": 0.0, **({"epochs": epochs} if epochs else {})}, where="--epochs")


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
    dataset = s.dataset or ref.study.user_attrs.get(SETTINGS_KEY, {}).get(DATASET_KEY)
    if not dataset:
        raise InasError(f"study {shown(ref.name)} does not say its dataset; give --dataset")
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
