"""`inas export`, `inas evaluate` and `inas predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inas.cli_common import DataDirOpt, DeviceOpt, PrecisionOpt, StorageOpt, StudyArg, print_json, user_errors
from inas.study.choose import KNEE_RULE
from inas.study.keys import PARAMS, TEST_TOP1, TEST_TOP5, TRAIN_SECONDS

PICK_HELP = (
    "min-error (default): the lowest validation error; " + KNEE_RULE + "; or constraints such as "
    "'params<2e6' or 'params<2e6,macs<5e8': the lowest-error complete trial that satisfies them."
)
COMPILE_HELP = (
    "Train through torch.compile. It costs a compile first (129 s on an H100 for seed/googlenet, where it "
    "then trained 1.56x faster): worth it only for long retraining, never for a few epochs."
)


@user_errors
def export_command(
    study: StudyArg,
    out: Annotated[Path, typer.Option("--out", help="Folder to write (must not exist, or be empty).")],
    storage: StorageOpt = None,
    trial: Annotated[int | None, typer.Option("--trial", help="Export this trial (a complete one).")] = None,
    pick: Annotated[str | None, typer.Option("--pick", help=PICK_HELP)] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=1, help="Epochs (default: the searched recipe's).")
    ] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Dataset (default: the study's).")] = None,
    data_dir: DataDirOpt = None,
    device: DeviceOpt = "auto",
    compile: Annotated[bool, typer.Option("--compile", help=COMPILE_HELP)] = False,
    onnx: Annotated[bool, typer.Option("--onnx", help="Also write model.onnx, checked against PyTorch.")] = False,
    precision: PrecisionOpt = None,
) -> None:
    """Retrain the chosen candidate on train + validation, test it once, write it as a model folder.

    The folder holds model.safetensors, config.json, metrics.json, README.md (and model.onnx)."""
    from inas.export.run import ExportSettings, export
    from inas.study.load import open_study
    from inas.train.loop import forcing_precision
    from inas.train.threads import set_threads

    forcing = forcing_precision(precision)  # a bad value is refused before anything is opened
    ref = open_study(study, storage)
    set_threads()
    settings = ExportSettings(trial, pick, epochs, dataset, data_dir, device, compile, onnx)

    def on_start(number, arch, recipe, data) -> None:
        typer.echo(
            f"exporting trial {number} of {ref.name} ({arch.hash()}): {recipe.epochs} epochs on {data.name} "
            f"({len(data.train_y):,} training images, nothing held out)",
            err=True,
        )

    def on_epoch(m, _result) -> bool:
        typer.echo(f"epoch {m.epoch}: loss {m.train_loss:.3f}, {m.images_per_second:,.0f} img/s", err=True)
        return True

    # --precision replaces the searched recipe's (default: as the trial was trained, resolved on this device).
    with forcing:
        config, metrics = export(ref, settings, out, on_epoch=on_epoch, on_start=on_start)
    typer.echo(
        f"test top-1 error {metrics[TEST_TOP1]:.2%}, top-5 {metrics[TEST_TOP5]:.2%}; "
        f"{metrics[PARAMS]:,} params; trained {metrics[TRAIN_SECONDS]:.1f} s"
        + (f"; ONNX checked (max |diff| {metrics['onnx_max_abs_diff']:.2g})" if onnx else "")
    )
    typer.echo(f"model: {out}  (inas.load_model({str(out)!r}))")


@user_errors
def evaluate_command(
    model_dir: Annotated[Path, typer.Argument(help="A folder written by `inas export`.")],
    dataset: Annotated[str | None, typer.Option("--dataset", help="Default: the one it was trained on.")] = None,
    data_dir: DataDirOpt = None,
    device: DeviceOpt = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recompute an exported model's test errors, beside those recorded at export."""
    from inas.export.use import evaluate_model

    r = evaluate_model(model_dir, dataset, data_dir, device)
    if as_json:
        print_json(r)
        return

    def pct(v) -> str:
        return f"{v:.2%}" if isinstance(v, (int, float)) else "-"

    typer.echo(
        f"{r['dataset']} test set ({r['images']:,} images): top-1 error {pct(r[TEST_TOP1])}, "
        f"top-5 {pct(r[TEST_TOP5])} (recorded at export: {pct(r['recorded_test_top1'])}, "
        f"{pct(r['recorded_test_top5'])})"
    )


@user_errors
def predict_command(
    model_dir: Annotated[Path, typer.Argument(help="A folder written by `inas export`.")],
    images: Annotated[list[Path], typer.Argument(help="Image files.")],
    top: Annotated[int, typer.Option("--top", min=1, help="How many classes to show.")] = 5,
    device: DeviceOpt = "cpu",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The top classes, with probabilities, of each image file."""
    from inas.export.use import predict
    from inas.train.bundle import load_model
    from inas.train.loop import pick_device

    model = load_model(model_dir, pick_device(device))
    results = predict(model, images, k=top)
    if as_json:
        print_json(results)
        return
    b = model.bundle
    note = (
        " (generated images: its classes are patterns, not real objects)" if b.dataset.startswith("synthetic") else ""
    )
    typer.echo(f"model trained on {b.dataset}, {len(b.classes)} classes{note}")
    for r in results:
        typer.echo(r["image"])
        for c in r["top"]:
            typer.echo(f"  {c['probability']:7.2%}  {c['class']}")
