"""`inas train`: one network, trained and tested."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inas.cli_common import (
    DataDirOpt,
    DeviceOpt,
    JsonOpt,
    PrecisionOpt,
    check_dataset,
    check_device,
    console,
    print_json,
    user_errors,
)


def _err(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


@user_errors
def train_command(
    preset: Annotated[
        str | None, typer.Option("--preset", metavar="NAME", help="A preset name (see `inas model list`).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", metavar="FILE.json", help="A JSON architecture config.")
    ] = None,
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset",
            metavar="NAME",
            help="cifar10, cifar100, fashion-mnist, mnist, imagefolder:PATH, synthetic[:N].",
        ),
    ] = "cifar10",
    data_dir: DataDirOpt = None,
    recipe_name: Annotated[
        str, typer.Option("--recipe", metavar="inas|seed", help="inas (fast pipeline) or seed (the seed's training).")
    ] = "inas",
    epochs: Annotated[
        int | None, typer.Option("--epochs", metavar="N", min=1, help="Epochs (default: the recipe's).")
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            metavar="B",
            min=1,
            help="Training batch, refused if it does not fit memory (default: the recipe's, lowered to fit).",
        ),
    ] = None,
    lr: Annotated[
        float | None,
        typer.Option("--lr", metavar="LR", min=0.0, help="Learning rate, onecycle's peak (default: the recipe's)."),
    ] = None,
    optimizer: Annotated[
        str | None, typer.Option("--optimizer", metavar="NAME", help="sgd, adamw or adadelta.")
    ] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", metavar="NAME", help="onecycle, cosine or step.")
    ] = None,
    weight_decay: Annotated[
        float | None,
        typer.Option("--weight-decay", metavar="WD", min=0.0, help="On weights only, not BatchNorm or biases."),
    ] = None,
    label_smoothing: Annotated[
        float | None,
        typer.Option("--label-smoothing", metavar="S", min=0.0, help="Share of the target spread over all classes."),
    ] = None,
    augment: Annotated[str | None, typer.Option("--augment", metavar="NAME", help="crop_flip, flip or none.")] = None,
    image_size: Annotated[
        int | None, typer.Option("--image-size", metavar="S", min=1, help="Train at this side.")
    ] = None,
    val_fraction: Annotated[
        float | None, typer.Option("--val-fraction", metavar="F", min=0.0, help="Held out to validate.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", metavar="N", help="Random seed, 0 to 2**32 - 1 (default: the recipe's).")
    ] = None,
    precision: PrecisionOpt = None,
    device: DeviceOpt = "auto",
    save: Annotated[
        Path | None,
        typer.Option("--save", metavar="DIR", help="Write the trained model here (a folder `inas.load_model` reads)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Train one network and report validation (per epoch) and test errors."""
    from inas.files import check_out_dir
    from inas.model.source import load_arch
    from inas.train.recipe import RECIPES

    base = RECIPES.get(recipe_name, "--recipe")()
    arch = load_arch(preset, config)
    options = dict(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        schedule=schedule,
        weight_decay=weight_decay,
        label_smoothing=label_smoothing,
        augment=augment,
        image_size=image_size,
        val_fraction=val_fraction,
        seed=seed,
        precision=precision,
    )
    recipe = base.with_overrides({k: v for k, v in options.items() if v is not None}, where="option")
    if save is not None:
        check_out_dir(save, "--save")
    check_dataset(dataset)  # before torch loads
    check_device(device)
    _train(arch, recipe, dataset, data_dir, device, save, as_json, explicit_batch=batch_size is not None)


def _train(
    arch,
    recipe,
    dataset: str,
    data_dir: str | None,
    device: str,
    save: Path | None,
    as_json: bool,
    explicit_batch: bool = False,
) -> None:
    from inas.data.datasets import load_dataset
    from inas.model.network import check_size
    from inas.train.loop import pick_device, train
    from inas.train.memory import fit_batch
    from inas.train.precision import resolve
    from inas.train.progress import PassProgress
    from inas.train.threads import set_threads

    torch_device = pick_device(device)
    # Before loading data: bf16 asked of a device without it is refused at once. Only --precision can
    # ask it (the recipes' own are auto and fp32), hence the name.
    resolve(recipe.precision, torch_device, "--precision")
    set_threads()
    data = load_dataset(dataset, data_dir)
    arch = arch.with_classes(data.num_classes)
    check_size(arch)  # before the progress bar: a refusal is the only line
    recipe, note = fit_batch(arch, recipe, torch_device, explicit_batch, images=len(data.train_x))
    if note:
        typer.echo(f"note: {note}", err=True)
    with PassProgress(recipe.epochs, recipe.batch_size) as progress:
        model, result = train(
            arch, recipe, data, device=torch_device, on_epoch=progress.on_epoch, on_batch=progress.on_batch
        )
    if save is not None and result.status == "nan":
        save = None  # a diverged network is not worth keeping; the summary says why
        result.message = (result.message + "; " if result.message else "") + "no model written"
    if save is not None:
        from inas.train.bundle import describe, model_card, write_bundle

        bundle, metrics = describe(model, recipe, data, result, {"command": "inas train"})
        write_bundle(save, model, bundle, metrics, model_card(bundle, metrics))
    summary = {"status": result.status, "dataset": data.name, "arch_hash": arch.hash(), **result.to_dict()}
    summary["recipe"] = recipe.to_dict()
    if as_json:
        print_json(summary)
    else:
        console().print(
            f"[bold]{result.status}[/bold]  {data.name}  {result.params:,} params  on {result.device} "
            f"({result.precision}, {result.memory_format}, {result.threads} threads)\n"
            f"validation top-1 / top-5 error {_err(result.val_top1)} / {_err(result.val_top5)}   "
            f"test {_err(result.test_top1)} / {_err(result.test_top5)}\n"
            f"training {result.train_seconds:.1f} s ({result.images_per_second:,.0f} img/s), "
            f"evaluation {result.eval_seconds:.1f} s" + (f"\n{result.message}" if result.message else "")
        )
        if save is not None:
            console().print(f"model: {save}")
    if result.status == "nan":
        raise typer.Exit(1)
