"""`inas export`, `inas evaluate` and `inas predict`."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from inas.cli_common import DataDirOpt, DeviceOpt, PrecisionOpt, StorageOpt, StudyArg, print_json, user_errors
from inas.export.init import INIT_CHOICES, SCRATCH
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


BUDGET_HELP = (
    "Retrain with this search budget's epochs, image size and batch (smoke, proxy, standard, paper), "
    "always at full width on every training image; default standard (6 epochs, the network's own image size, "
    "batch 512), whatever budget the search used."
)
INIT_HELP = (
    "scratch: seeded weights; supernet:DIR: start from the weights the candidate inherits from a full-width "
    "supernet of the study's space (`inas supernet train --width 1 --out DIR`)."
)
EPOCHS_HELP = "Epochs (default: the budget's)."
BATCH_HELP = "Training batch, refused if it does not fit memory (default: the budget's, lowered to fit)."


class ExportView:
    """What `inas export` shows on stderr: the plan, in one line its estimate ends (the bar starts
    after it, so as not to cut it), then the progress `inas train` shows."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.plan = None
        self.progress = None

    def on_plan(self, plan) -> None:
        if plan.note:
            typer.echo(f"note: {plan.note}", err=True)
        typer.echo(f"{plan.line()}; ", nl=False, err=True)
        self.plan = plan
        # Whatever stops the export before its estimate, the message about it starts a line of its own.
        self.stack.callback(lambda: None if self.progress else typer.echo(err=True))

    def on_estimate(self, estimate) -> None:
        from inas.train.progress import PassProgress

        typer.echo(estimate.line(), err=True)
        self.progress = self.stack.enter_context(PassProgress(self.plan.epochs, self.plan.batch_size))

    def on_batch(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress.on_batch(done, total)

    def on_epoch(self, m, result) -> bool:
        return self.progress.on_epoch(m, result)


class EvaluateView:
    """What `inas evaluate` shows on stderr while it works: what it evaluates, then the progress."""

    def __init__(self, stack: ExitStack, folder: Path) -> None:
        self.stack, self.folder = stack, folder
        self.images = 0
        self.progress = None

    def on_start(self, dataset: str, images: int, batch: int, device: str) -> None:
        from inas.train.progress import PassProgress

        said = f"evaluating {self.folder} on the {images:,} test images of {dataset}, batch {batch} on {device}"
        typer.echo(said, err=True)
        self.images = images
        self.progress = self.stack.enter_context(PassProgress(1, batch, name="evaluating", images=images))

    def on_batch(self, done: int, total: int) -> None:
        self.progress.on_batch(done, total)
        if done == total:
            self.progress.end_pass(1, f"{self.images:,} images in {total:,} batch{'es' * (total != 1)}")


@user_errors
def export_command(
    study: StudyArg,
    out: Annotated[Path, typer.Option("--out", help="Folder to write (must not exist, or be empty).")],
    storage: StorageOpt = None,
    trial: Annotated[int | None, typer.Option("--trial", help="Export this trial (a complete one).")] = None,
    pick: Annotated[str | None, typer.Option("--pick", help=PICK_HELP)] = None,
    budget: Annotated[str, typer.Option("--budget", help=BUDGET_HELP)] = "standard",
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help=EPOCHS_HELP)] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help=BATCH_HELP)] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Dataset (default: the study's).")] = None,
    data_dir: DataDirOpt = None,
    device: DeviceOpt = "auto",
    compile: Annotated[bool, typer.Option("--compile", help=COMPILE_HELP)] = False,
    onnx: Annotated[bool, typer.Option("--onnx", help="Also write model.onnx, checked against PyTorch.")] = False,
    precision: PrecisionOpt = None,
    init: Annotated[str, typer.Option("--init", metavar=INIT_CHOICES, help=INIT_HELP)] = SCRATCH,
) -> None:
    """Retrain the chosen candidate as a model to deploy, test it once, write it as a model folder.

    Full width, every training image (nothing held out), the --budget's image size, epochs and batch.

    First it prints what it will train and how long that should take, timed on its first steps.

    The folder holds model.safetensors, config.json, metrics.json, README.md (and model.onnx)."""
    from inas.train.budget import BUDGETS

    BUDGETS.get(budget, "--budget")  # a bad name is refused before torch or the study is loaded
    from inas.cli_common import check_dataset, check_device, check_precision
    from inas.export.init import check_init
    from inas.files import check_out_dir
    from inas.study.load import open_study

    check_dataset(dataset)  # each refused before torch loads
    check_device(device)
    check_precision(precision)
    check_out_dir(out)
    check_init(init)  # a folder that is no full-width supernet, before the study or torch loads
    ref = open_study(study, storage)
    from inas.export.run import ExportSettings, export
    from inas.train.loop import forcing_precision
    from inas.train.threads import set_threads

    forcing = forcing_precision(precision)
    set_threads()
    settings = ExportSettings(trial, pick, epochs, dataset, data_dir, device, compile, onnx, budget, batch_size, init)
    with ExitStack() as stack:
        view = ExportView(stack)
        # --precision replaces the searched recipe's (default: as the trial was trained, resolved on this device).
        with forcing:
            config, metrics = export(
                ref, settings, out, view.on_epoch, view.on_batch, on_plan=view.on_plan, on_estimate=view.on_estimate
            )
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
    from inas.cli_common import check_dataset, check_device, check_model_folder

    check_model_folder(model_dir)  # each refused before torch loads
    check_dataset(dataset)
    check_device(device)
    from inas.export.use import evaluate_model

    with ExitStack() as stack:
        view = EvaluateView(stack, model_dir)
        r = evaluate_model(model_dir, dataset, data_dir, device, view.on_start, view.on_batch)
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
    from inas.cli_common import check_device, check_files_exist, check_model_folder

    check_model_folder(model_dir)  # each refused before torch loads
    check_files_exist(images)
    check_device(device)
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
