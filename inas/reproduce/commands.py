"""`inas reproduce seed-table` and `inas reproduce d2l`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from inas.cli_common import DataDirOpt, PrecisionOpt, StorageOpt, finite_share, user_errors
from inas.study.keys import TRAIN_SECONDS

reproduce_app = typer.Typer(help="Reproduce the seeds' experiments, as studies.", no_args_is_help=True)

OutOpt = Annotated[Path | None, typer.Option("--out", help="Folder for table.md, table.csv, figure.html.")]
StudyOpt = Annotated[str | None, typer.Option("--study", help="Study name (default: from the experiment).")]
GpusOpt = Annotated[
    float | None, typer.Option("--gpus-per-trial", callback=finite_share, help="GPU share a trial takes.")
]
ConcurrentOpt = Annotated[int | None, typer.Option("--max-concurrent", help="Trials at once.")]
AddressOpt = Annotated[str | None, typer.Option("--address", help="An existing Ray cluster.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="A line per trial instead of the live view.")]


def _with_precision(exp, precision: str | None):
    """The experiment with its recipe's precision replaced, when --precision asks (the seed recipe's is fp32)."""
    if precision is None:
        return exp
    return dataclasses.replace(exp, recipe=exp.recipe.with_overrides(dict(precision=precision), where="option"))


def _finish(exp, o, out: Path | None, quiet: bool, title: str) -> None:
    from inas.files import dashboard_path
    from inas.reproduce.run import figure, fmt_seconds, results_table, run_experiment, write_outputs
    from inas.study.load import open_study

    summary = run_experiment(exp, o, view="log" if quiet else "live")
    table = results_table(exp, open_study(summary.study, summary.storage).study)
    paths = write_outputs(table, figure(table, title), out or dashboard_path(summary.study))
    shown = table.copy()
    for col in (TRAIN_SECONDS, "seed_seconds"):
        if col in shown:
            shown[col] = shown[col].map(fmt_seconds)
    typer.echo(shown.to_markdown(index=False, floatfmt=".4g"))
    typer.echo(f"study {summary.study} in {summary.storage}; tables: {', '.join(map(str, paths))}")


@reproduce_app.command("seed-table")
@user_errors
def seed_table_command(
    dataset: Annotated[str, typer.Option("--dataset", help="cifar100 or cifar10 (the seed's), or any other.")] = (
        "cifar100"
    ),
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="The seed trained 14.")] = 14,
    recipe: Annotated[str, typer.Option("--recipe", help="seed (Adadelta, batch 64, flip) or inas.")] = "seed",
    variants: Annotated[str | None, typer.Option("--variants", help="Comma-separated, e.g. GoogleNet,Short2.")] = None,
    study: StudyOpt = None,
    storage: StorageOpt = None,
    data_dir: DataDirOpt = None,
    out: OutOpt = None,
    gpus_per_trial: GpusOpt = None,
    max_concurrent: ConcurrentOpt = None,
    address: AddressOpt = None,
    precision: PrecisionOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train the seed's seven networks and print their table beside the seed's own numbers.

    The networks: Naive, GoogleNet, Long, Short, Short2, Short3, Short4."""
    from inas.reproduce.experiments import seed_table, study_name
    from inas.reproduce.run import RunOptions

    exp = _with_precision(seed_table(dataset, recipe, variants), precision)
    name = study or study_name(exp, dataset, recipe)
    o = RunOptions(dataset, epochs, name, storage, data_dir, gpus_per_trial, max_concurrent, address)
    _finish(exp, o, out, quiet, f"The seed's networks on {dataset}, {epochs} epochs, {recipe} recipe")


@reproduce_app.command("d2l")
@user_errors
def d2l_command(
    dataset: Annotated[str, typer.Option("--dataset", help="d2l uses Fashion-MNIST.")] = "fashion-mnist",
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="d2l trains 10.")] = 10,
    image_size: Annotated[int, typer.Option("--image-size", min=1, help="d2l resizes to 96.")] = 96,
    recipe: Annotated[str, typer.Option("--recipe", help="d2l (SGD lr 0.1, batch 128) or inas.")] = "d2l",
    variants: Annotated[
        str | None, typer.Option("--variants", help="Of plain, batchnorm, label_smoothing, residual, factorized.")
    ] = None,
    study: StudyOpt = None,
    storage: StorageOpt = None,
    data_dir: DataDirOpt = None,
    out: OutOpt = None,
    gpus_per_trial: GpusOpt = None,
    max_concurrent: ConcurrentOpt = None,
    address: AddressOpt = None,
    precision: PrecisionOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """The d2l exercise of seed 001 (BatchNorm, label smoothing, residual, factorised convs) as one table.

    The plain d2l GoogLeNet, then each change alone."""
    from inas.reproduce.experiments import d2l, study_name
    from inas.reproduce.run import RunOptions

    exp = _with_precision(d2l(recipe, variants, image_size), precision)
    name = study or study_name(exp, dataset, recipe)
    o = RunOptions(dataset, epochs, name, storage, data_dir, gpus_per_trial, max_concurrent, address)
    _finish(exp, o, out, quiet, f"The d2l exercise on {dataset} at {image_size}x{image_size}, {epochs} epochs")
