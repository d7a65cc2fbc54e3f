"""`inas supernet train`: one weight-sharing network for every candidate of a space."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from inas.cli_common import DataDirOpt, DeviceOpt, PrecisionOpt, check_precision, user_errors
from inas.supernet.info import MIN_WIDTH

supernet_app = typer.Typer(
    help="Weight-sharing supernets: train one network that holds every candidate of a space.",
    no_args_is_help=True,
)


@supernet_app.command("train")
@user_errors
def train_command(
    space: Annotated[str, typer.Option("--space", help="A built-in space or a .yaml file of depths and widths.")],
    out: Annotated[Path, typer.Option("--out", help="The folder to write (new or empty; with --resume, its own).")],
    dataset: Annotated[
        str, typer.Option("--dataset", help="cifar10, cifar100, imagefolder:PATH, synthetic[:N], ...")
    ] = "cifar10",
    data_dir: DataDirOpt = None,
    budget: Annotated[
        str,
        typer.Option(
            "--budget", help="The fidelity (width, image size, data fraction, batch): smoke, proxy, standard, paper."
        ),
    ] = "standard",
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=1, help="Epochs of supernet training [default: the budget's].")
    ] = None,
    width: Annotated[
        float | None,
        typer.Option(
            "--width",
            min=MIN_WIDTH,
            max=1.0,
            help="Channel multiplier of the copies it holds [default: the budget's]; 1 for `inas export --init`.",
        ),
    ] = None,
    n_random: Annotated[
        int, typer.Option("--random", min=0, max=16, help="Random candidates a step, beside the largest and smallest.")
    ] = 2,
    rule: Annotated[
        str,
        typer.Option(
            "--rule",
            help="sandwich: largest, smallest and --random candidates a step, the others distilled from the "
            "largest (BigNAS); uniform: 2 + --random candidates drawn at random, each on the labels (SPOS).",
        ),
    ] = "sandwich",
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seeds the split, the draws and the weights.")] = 0,
    precision: PrecisionOpt = None,
    device: DeviceOpt = "auto",
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Go on from the last finished epoch in --out.")
    ] = False,
) -> None:
    """Train a supernet: a few candidates a step (by --rule), their gradients accumulated; `inas search
    --evaluator supernet:DIR` then scores candidates in seconds."""
    from inas.space.registry import load_space
    from inas.supernet.info import RULES, prepare_out, read_info
    from inas.supernet.layout import refuse_dimensions
    from inas.train.budget import BUDGETS

    if rule not in RULES:
        raise typer.BadParameter(f"{rule!r}: choose one of {', '.join(RULES)}", param_hint="--rule")
    plan = BUDGETS.get(budget, "--budget").with_epochs(epochs)
    if width is not None:
        plan = dataclasses.replace(plan, width=width)
    check_precision(precision)
    loaded = load_space(space)
    refuse_dimensions(loaded)
    if resume:
        info = read_info(out)
        asked = (_space_ref(space), dataset, plan.width, plan.data_fraction, seed, n_random, rule)
        had = (info.space, info.dataset, info.width, info.data_fraction, info.recipe.seed, info.n_random, info.rule)
        if asked != had:
            raise typer.BadParameter(
                f"{out} holds a supernet of --space {info.space} --dataset {info.dataset} (width {info.width:g}, "
                f"{info.data_fraction:.0%} of the data, seed {info.recipe.seed}, --random {info.n_random}, "
                f"--rule {info.rule}); resume it with those, or train a new one",
                param_hint="--resume",
            )
    prepare_out(out, resume)
    _train(loaded, space, out, dataset, data_dir, plan, n_random, rule, seed, precision, device, resume)


def _train(loaded, space, out, dataset, data_dir, plan, n_random, rule, seed, precision, device, resume) -> None:
    from inas.data.datasets import load_dataset, subset
    from inas.supernet.bundle import load_supernet, resume_state, write_epoch
    from inas.supernet.info import SupernetInfo, read_info
    from inas.supernet.layout import supernet_layout
    from inas.supernet.train import train_supernet
    from inas.train.loop import check_splits, pick_device
    from inas.train.normalise import normalisation
    from inas.train.precision import resolve
    from inas.train.progress import PassProgress, duration
    from inas.train.recipe import TrainRecipe
    from inas.train.threads import set_threads

    recipe = dataclasses.replace(
        TrainRecipe(), epochs=plan.epochs, batch_size=plan.batch_size, image_size=plan.image_size, seed=seed
    )
    if precision is not None:
        recipe = dataclasses.replace(recipe, precision=precision)
    torch_device = pick_device(device)
    numerics = resolve(recipe.precision, torch_device, "--precision")  # bf16 asked of a device without it: refused now
    set_threads()
    data = subset(load_dataset(dataset, data_dir), plan.data_fraction, seed)
    check_splits(data, recipe)
    layout = supernet_layout(loaded, data.num_classes, data.channels, plan.width)
    state = None
    if resume:
        supernet, info = load_supernet(out, torch_device)
        state = resume_state(Path(out), info, supernet)
        if state.epoch >= recipe.epochs:
            typer.echo(f"{out}: already trained for {state.epoch} epochs; nothing to do", err=True)
            return
    else:
        mean, std = normalisation(data, recipe)
        info = SupernetInfo(
            space=_space_ref(space),
            space_fingerprint=_fingerprint(loaded),
            widest=layout.widest,
            width=plan.width,
            dataset=dataset,
            classes=data.num_classes,
            data_fraction=plan.data_fraction,
            mean=tuple(mean),
            std=tuple(std),
            recipe=recipe,
            n_random=n_random,
            rule=rule,
            epochs_done=0,
            history=(),
            weights_sha256="",
        )
    n_train = len(data.train_y) - round(len(data.train_y) * recipe.val_fraction)
    typer.echo(
        f"training the supernet of {loaded.name} on {n_train:,} {dataset} images ({plan.fidelity()}), "
        f"{2 + n_random} candidates a step ({rule}), on {torch_device} in {numerics.precision}, {numerics.memory_format}",
        err=True,
    )

    with PassProgress(recipe.epochs, recipe.batch_size) as progress:
        if state is not None:
            progress.current = state.epoch + 1

        def on_epoch(e, st) -> bool:
            nonlocal info
            info = write_epoch(Path(out), info, st)
            losses = (
                f"loss {e.loss_largest:.3f} (largest), {e.loss_distilled:.3f} (distilled)"
                if rule == "sandwich"
                else f"loss {e.loss_largest:.3f} (candidates)"
            )
            progress.end_pass(e.epoch, f"{losses}  {e.images_per_second:,.0f} img/s")
            return True

        _, state = train_supernet(
            layout,
            recipe,
            data,
            n_random=n_random,
            rule=rule,
            device=torch_device,
            state=state,
            on_epoch=on_epoch,
            on_batch=progress.on_batch,
        )
    info = read_info(Path(out))
    seconds = sum(h["seconds"] for h in info.history)
    typer.echo(
        f"supernet {info.hash} in {Path(out).absolute()} ({info.epochs_done} epoch{'s' * (info.epochs_done != 1)}, {duration(seconds)})",
        err=True,
    )


def _space_ref(space: str) -> str:
    """How supernet.json names the space: a built-in by name, a file by its absolute path (a search
    run from another folder must find it)."""
    from inas.space.registry import is_space_file

    return str(Path(space).absolute()) if is_space_file(space) else space


def _fingerprint(space) -> str:
    from inas.space.schema import space_fingerprint

    return space_fingerprint(space)
