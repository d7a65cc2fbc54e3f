"""`inas reproduce seed-table` and `inas reproduce d2l`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from inas.cli_common import DataDirOpt, PrecisionOpt, StorageOpt, check_dataset, finite_share, user_errors
from inas.study.keys import TRAIN_SECONDS

reproduce_app = typer.Typer(help="Reproduce the seeds' experiments, as studies.", no_args_is_help=True)

OUTPUTS = ("table.md", "table.csv", "figure.html")
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        metavar="DIR",
        help="Folder for table.md, table.csv, figure.html (default: $INAS_HOME/dashboards/STUDY).",
    ),
]
StudyOpt = Annotated[
    str | None, typer.Option("--study", metavar="NAME", help="Study name (default: from the experiment).")
]
GpusOpt = Annotated[
    float | None,
    typer.Option("--gpus-per-trial", metavar="F", callback=finite_share, help="GPU share a trial takes."),
]
ConcurrentOpt = Annotated[int | None, typer.Option("--max-concurrent", metavar="K", min=1, help="Trials at once.")]
AddressOpt = Annotated[str | None, typer.Option("--address", metavar="ADDR", help="An existing Ray cluster.")]

QuietOpt = Annotated[bool, typer.Option("--quiet", help="A line per trial instead of the live view.")]


def _with_precision(exp, precision: str | None):
    """The experiment with its recipe's precision replaced, when --precision asks (the seed recipe's is fp32)."""
    if precision is None:
        return exp
    return dataclasses.replace(exp, recipe=exp.recipe.with_overrides(dict(precision=precision), where="option"))


def _checked(dataset: str, name: str, storage: str | None, out: Path | None) -> tuple[str | None, Path]:
    """What can be checked before torch, the data or Ray load: the dataset's name, the study's name and
    storage URL, and the output files. Returns the storage (a relative SQLite file made absolute) and the
    output folder."""
    from inas.files import check_out_file, dashboard_path
    from inas.study.storage import absolute_url, check_study_name, check_url

    check_dataset(dataset)
    check_study_name(name)
    if storage is not None:
        storage = absolute_url(storage)
        check_url(storage)
    folder = out or dashboard_path(name)
    for file in OUTPUTS:
        check_out_file(folder / file, "--out", stream=False)
    return storage, folder


def _finish(
    exp,
    dataset: str,
    epochs: int,
    name: str,
    storage: str | None,
    options: tuple,
    out: Path | None,
    quiet: bool,
    title: str,
) -> None:
    storage, folder = _checked(dataset, name, storage, out)
    from inas.reproduce.run import RunOptions, figure, fmt_seconds, results_table, run_experiment, write_outputs
    from inas.study.load import open_study

    data_dir, gpus_per_trial, max_concurrent, address = options
    o = RunOptions(dataset, epochs, name, storage, data_dir, gpus_per_trial, max_concurrent, address)
    summary = run_experiment(exp, o, view="log" if quiet else "live")
    table = results_table(exp, open_study(summary.study, summary.storage).study)
    paths = write_outputs(table, figure(table, title), folder)
    shown = table.copy()
    for col in (TRAIN_SECONDS, "seed_seconds"):
        if col in shown:
            shown[col] = shown[col].map(fmt_seconds)
    typer.echo(shown.to_markdown(index=False, floatfmt=".4g"))
    typer.echo(f"study {summary.study} in {summary.storage}; tables: {', '.join(map(str, paths))}")


@reproduce_app.command("seed-table")
@user_errors
def seed_table_command(
    dataset: Annotated[
        str, typer.Option("--dataset", metavar="NAME", help="cifar100 or cifar10 (the seed's), or any other.")
    ] = ("cifar100"),
    epochs: Annotated[int, typer.Option("--epochs", metavar="N", min=1, help="The seed trained 14.")] = 14,
    recipe: Annotated[
        str, typer.Option("--recipe", metavar="NAME", help="seed (Adadelta, batch 64, flip) or inas.")
    ] = "seed",
    variants: Annotated[
        str | None, typer.Option("--variants", metavar="A,B,...", help="Comma-separated, e.g. GoogleNet,Short2.")
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
    """Train the seed's seven networks and print their table beside the seed's own numbers.

    The networks: Naive, GoogleNet, Long, Short, Short2, Short3, Short4."""
    from inas.reproduce.experiments import seed_table, study_name

    exp = _with_precision(seed_table(dataset, recipe, variants), precision)
    name = study or study_name(exp, dataset, recipe)
    title = f"The seed's networks on {dataset}, {epochs} epochs, {recipe} recipe"
    _finish(exp, dataset, epochs, name, storage, (data_dir, gpus_per_trial, max_concurrent, address), out, quiet, title)


@reproduce_app.command("d2l")
@user_errors
def d2l_command(
    dataset: Annotated[
        str, typer.Option("--dataset", metavar="NAME", help="d2l uses Fashion-MNIST.")
    ] = "fashion-mnist",
    epochs: Annotated[int, typer.Option("--epochs", metavar="N", min=1, help="d2l trains 10.")] = 10,
    image_size: Annotated[int, typer.Option("--image-size", metavar="S", min=1, help="d2l resizes to 96.")] = 96,
    recipe: Annotated[
        str, typer.Option("--recipe", metavar="NAME", help="d2l (SGD lr 0.1, batch 128) or inas.")
    ] = "d2l",
    variants: Annotated[
        str | None,
        typer.Option(
            "--variants", metavar="A,B,...", help="Of plain, batchnorm, label_smoothing, residual, factorized."
        ),
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

    exp = _with_precision(d2l(recipe, variants, image_size), precision)
    name = study or study_name(exp, dataset, recipe)
    title = f"The d2l exercise on {dataset} at {image_size}x{image_size}, {epochs} epochs"
    _finish(exp, dataset, epochs, name, storage, (data_dir, gpus_per_trial, max_concurrent, address), out, quiet, title)
