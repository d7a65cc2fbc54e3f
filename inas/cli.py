"""The `inas` command line. Commands are thin: they call the library and print.

This is the only place errors become exit codes: an `InasError` (bad input) prints one line on
stderr and exits 2, with no traceback.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from inas import __version__
from inas.cli_common import fail, print_json, user_errors
from inas.errors import ConfigError
from inas.export.commands import evaluate_command, export_command, predict_command
from inas.report.commands import compare_command, dashboard_command, report_command, trials_command
from inas.reproduce.commands import reproduce_app

app = typer.Typer(
    help="Neural architecture search over GoogLeNet / Inception configurations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
space_app = typer.Typer(help="List, inspect and sample search spaces.", no_args_is_help=True)
model_app = typer.Typer(help="List presets and measure networks.", no_args_is_help=True)
app.add_typer(space_app, name="space")
app.add_typer(model_app, name="model")
app.add_typer(reproduce_app, name="reproduce")

out = Console(highlight=False)


def _points(n: float) -> str:
    if math.isinf(n):
        return "infinite"
    return f"{int(n):,}" if n < 1e9 else f"{n:.2e}"


def _json_points(n: float) -> int | None:
    """JSON has no infinity: a space with a float range has `null` points."""
    return None if math.isinf(n) else int(n)


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.?!])(\s|$)", text)
    return match.group(1) if match else text


def _version(value: bool) -> None:
    if value:
        typer.echo(f"inas {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Neural architecture search over GoogLeNet / Inception configurations."""


# -- inas space ------------------------------------------------------------------------------

SpaceArg = Annotated[
    str, typer.Argument(help="A built-in space name (see `inas space list`) or a path to a YAML file.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@space_app.command("list")
@user_errors
def space_list(as_json: JsonOpt = False) -> None:
    """List the built-in search spaces."""
    from inas.space import count_points, list_spaces, load_space

    spaces = [load_space(n) for n in list_spaces()]
    if as_json:
        print_json(
            [{"name": s.name, "points": _json_points(count_points(s)), "description": s.description} for s in spaces]
        )
        return
    table = Table("space", "points", "description", box=None)
    for s in spaces:
        table.add_row(s.name, _points(count_points(s)), _first_sentence(s.description))
    out.print(table)


@space_app.command("show")
@user_errors
def space_show(space: SpaceArg, as_json: JsonOpt = False) -> None:
    """Show a space's dimensions and how many distinct candidates it holds."""
    from inas.space import count_points, dimensions, load_space

    s = load_space(space)
    dims = list(dimensions(s))
    if as_json:
        print_json(
            {
                "name": s.name,
                "source": s.source,
                "description": s.description,
                "points": _json_points(count_points(s)),
                "dimensions": [
                    {"name": d.name, "kind": d.dim.kind, "values": d.dim.describe(), "condition": d.condition}
                    for d in dims
                ],
            }
        )
        return
    out.print(f"[bold]{s.name}[/bold]  ({s.source})")
    out.print(s.description)
    out.print(f"distinct candidates: {_points(count_points(s))}")
    table = Table("dimension", "values", "when", box=None)
    for d in dims:
        table.add_row(d.name, d.dim.describe(), d.condition or "always")
    out.print(table)


@space_app.command("sample")
@user_errors
def space_sample(
    space: SpaceArg,
    n: Annotated[int, typer.Option("--n", min=1, help="How many distinct candidates.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the sampler.")] = 0,
    classes: Annotated[
        int | None, typer.Option("--classes", min=1, help="Number of classes (default: the space's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sample valid candidates at random; `--json` prints configs that `inas model summary --config` reads."""
    from inas.model.measure import measure
    from inas.space import load_space, sample_many

    cands = sample_many(load_space(space), n, seed=seed, num_classes=classes)
    if as_json:
        print_json([c.to_dict() for c in cands])
        return
    table = Table("hash", "depths", "params", "MMACs", "sampled values", box=None)
    for c in cands:
        stats = measure(c.arch)
        values = ", ".join(f"{k}={v}" for k, v in c.params.items())
        table.add_row(
            c.arch.hash(), "/".join(map(str, c.arch.depths)), f"{stats.params:,}", f"{stats.macs / 1e6:,.1f}", values
        )
    out.print(table)


# -- inas model ------------------------------------------------------------------------------


@model_app.command("list")
@user_errors
def model_list(as_json: JsonOpt = False) -> None:
    """List the registered presets with their parameter counts."""
    from inas.model.presets import PRESETS

    if as_json:
        print_json(
            [
                {
                    "name": p.name,
                    "description": p.description,
                    "source": p.source,
                    "params": {str(k): v for k, v in p.params.items()},
                }
                for p in PRESETS.values()
            ]
        )
        return
    table = Table("preset", "params", "source", "description", box=None)
    for p in PRESETS.values():
        counts = ", ".join(f"{v:,} ({k} classes)" for k, v in p.params.items())
        table.add_row(p.name, counts, p.source, p.description)
    out.print(table)


def _read_config(path: Path) -> Any:
    from inas.model.config import ArchConfig

    if not path.is_file():
        raise ConfigError(
            f"{path}: no such file; give a JSON config (for example one item of `inas space sample --json`)"
        )
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid JSON ({e}); give a JSON config") from None
    if isinstance(data, list):
        if len(data) != 1:
            raise ConfigError(f"{path}: holds {len(data)} candidates; save one of them to its own file")
        data = data[0]
    if isinstance(data, dict) and "arch" in data:
        data = data["arch"]  # a candidate as `inas space sample --json` prints it
    try:
        return ArchConfig.from_dict(data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


@model_app.command("summary")
@user_errors
def model_summary(
    preset: Annotated[str | None, typer.Option("--preset", help="A preset name (see `inas model list`).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A JSON architecture config.")] = None,
    classes: Annotated[int | None, typer.Option("--classes", min=1, help="Number of classes.")] = None,
    input_size: Annotated[
        int | None, typer.Option("--input-size", min=1, help="Square input side (default: the network's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Parameters, MACs (per module too), output shape and smallest accepted input of a network."""
    from inas.model.measure import measure

    cfg = _load_arch(preset, config)
    if classes is not None:
        cfg = cfg.with_classes(classes)
    stats = measure(cfg, input_size)
    if as_json:
        print_json({**stats.to_dict(), "config": cfg.to_dict()})
        return
    name = preset or str(config)
    out.print(f"[bold]{name}[/bold]  hash {stats.config_hash}  {cfg.num_classes} classes")
    out.print(
        f"params {stats.params:,} ({stats.params_inference:,} without auxiliary heads)   "
        f"MACs {stats.macs:,} at {stats.input_size}x{stats.input_size}   output {list(stats.output_shape)}"
    )
    out.print(f"smallest input {stats.min_input_size}x{stats.min_input_size}   stage sizes {list(stats.stage_sizes)}")
    table = Table("module", "params", "MACs", "output", box=None)
    for m in stats.modules:
        table.add_row(m.name, f"{m.params:,}", f"{m.macs:,}", "x".join(map(str, m.output_shape[1:])))
    out.print(table)


# -- inas train ------------------------------------------------------------------------------


def _load_arch(preset: str | None, config: Path | None):
    from inas.model.presets import get_preset

    if (preset is None) == (config is None):
        raise fail("give exactly one of --preset NAME or --config FILE.json")
    return get_preset(preset) if preset is not None else _read_config(config)  # type: ignore[arg-type]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


@app.command("train")
@user_errors
def train_command(
    preset: Annotated[str | None, typer.Option("--preset", help="A preset name (see `inas model list`).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A JSON architecture config.")] = None,
    dataset: Annotated[
        str, typer.Option("--dataset", help="cifar10, cifar100, fashion-mnist, mnist, imagefolder:PATH, synthetic[:N].")
    ] = "cifar10",
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Folder holding (or to download) the dataset.")
    ] = None,
    recipe_name: Annotated[
        str, typer.Option("--recipe", help="inas (fast pipeline) or seed (the seed's training).")
    ] = "inas",
    epochs: Annotated[int | None, typer.Option("--epochs", min=1)] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1)] = None,
    lr: Annotated[float | None, typer.Option("--lr", min=0.0)] = None,
    optimizer: Annotated[str | None, typer.Option("--optimizer", help="sgd, adamw or adadelta.")] = None,
    schedule: Annotated[str | None, typer.Option("--schedule", help="onecycle, cosine or step.")] = None,
    weight_decay: Annotated[float | None, typer.Option("--weight-decay", min=0.0)] = None,
    label_smoothing: Annotated[float | None, typer.Option("--label-smoothing", min=0.0)] = None,
    augment: Annotated[str | None, typer.Option("--augment", help="crop_flip, flip or none.")] = None,
    image_size: Annotated[int | None, typer.Option("--image-size", min=1, help="Train at this side.")] = None,
    val_fraction: Annotated[float | None, typer.Option("--val-fraction", min=0.0, help="Held out to validate.")] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    save: Annotated[
        Path | None, typer.Option("--save", help="Write the trained model here (a folder `inas.load_model` reads).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Train one network and report validation (per epoch) and test errors."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from inas.data import load_dataset
    from inas.train import TrainRecipe, pick_device, train

    if recipe_name not in ("inas", "seed"):
        raise fail(f"--recipe {recipe_name!r}: choose inas or seed")
    arch = _load_arch(preset, config)
    base = TrainRecipe.seed_recipe() if recipe_name == "seed" else TrainRecipe()
    overrides = {
        k: v
        for k, v in dict(
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
        ).items()
        if v is not None
    }
    recipe = base.with_overrides(overrides, where="option")
    if save is not None and save.exists() and not save.is_dir():
        raise fail(f"--save {save}: a file is in the way; choose a folder that does not exist yet")
    if save is not None and save.exists() and any(save.iterdir()):
        raise fail(f"--save {save}: the folder exists and is not empty; choose a new folder")
    torch_device = pick_device(device)
    data = load_dataset(dataset, data_dir)
    arch = arch.with_classes(data.num_classes)

    progress = Progress(
        TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=as_json,
        transient=False,
    )
    with progress:
        task = progress.add_task("train", total=None, epoch=1, epochs=recipe.epochs, status="")

        def on_batch(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        def on_epoch(m, _result) -> bool:
            status = f"loss {m.train_loss:.3f}  val top-1 err {_pct(m.val_top1)}  {m.images_per_second:,.0f} img/s"
            progress.update(task, epoch=min(m.epoch + 1, recipe.epochs), status=status)
            if not as_json:
                progress.console.print(f"epoch {m.epoch}: {status}")
            return True

        model, result = train(arch, recipe, data, device=torch_device, on_epoch=on_epoch, on_batch=on_batch)
    if save is not None and result.status == "nan":
        save = None  # a diverged network is not worth keeping; the summary says why
        result.message = (result.message + "; " if result.message else "") + "no model written"
    if save is not None:
        from inas.export.bundle import write_bundle
        from inas.export.run import describe, model_card

        bundle, metrics = describe(model, recipe, data, result, {"command": "inas train"})
        write_bundle(save, model, bundle, metrics, model_card(bundle, metrics))
    summary = {"status": result.status, "dataset": data.name, "arch_hash": arch.hash(), **result.to_dict()}
    summary["recipe"] = recipe.to_dict()
    if as_json:
        print_json(summary)
    else:
        out.print(
            f"[bold]{result.status}[/bold]  {data.name}  {result.params:,} params  on {result.device}\n"
            f"validation top-1 / top-5 error {_pct(result.val_top1)} / {_pct(result.val_top5)}   "
            f"test {_pct(result.test_top1)} / {_pct(result.test_top5)}\n"
            f"training {result.train_seconds:.1f} s ({result.images_per_second:,.0f} img/s), "
            f"evaluation {result.eval_seconds:.1f} s" + (f"\n{result.message}" if result.message else "")
        )
        if save is not None:
            out.print(f"model: {save}")
    if result.status == "nan":
        raise typer.Exit(1)


# -- inas search -----------------------------------------------------------------------------


@app.command("search")
@user_errors
def search_command(
    space: Annotated[str, typer.Option("--space", help="A built-in space name or a path to a YAML file.")],
    trials: Annotated[int, typer.Option("--trials", help="Trials in the study when done (finished ones count).")] = 50,
    study: Annotated[str | None, typer.Option("--study", help="Study name (default: the space's name).")] = None,
    storage: Annotated[
        str | None, typer.Option("--storage", help="SQLAlchemy URL (default: sqlite:///studies/STUDY.db).")
    ] = None,
    dataset: Annotated[str, typer.Option("--dataset", help="As for `inas train`.")] = "cifar10",
    data_dir: Annotated[str | None, typer.Option("--data-dir")] = None,
    budget: Annotated[
        str, typer.Option("--budget", help="smoke (2-core CPU), standard (6 epochs) or paper (the seed's 14).")
    ] = "standard",
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Override the budget's epochs.")] = None,
    min_epochs: Annotated[
        int | None, typer.Option("--min-epochs", min=1, help="ASHA's first rung; = --epochs turns ASHA off.")
    ] = None,
    sampler: Annotated[str, typer.Option("--sampler", help="tpe, nsga2, random or gp.")] = "tpe",
    objectives: Annotated[
        str,
        typer.Option(
            "--objectives",
            help="Comma-separated, all minimised: top1_error, top5_error, params, macs, train_time, latency_ms.",
        ),
    ] = "top1_error,params,train_time",
    gpus_per_trial: Annotated[
        float | None, typer.Option("--gpus-per-trial", help="A fraction shares a GPU (default: 1 with GPUs, else 0).")
    ] = None,
    cpus_per_trial: Annotated[float, typer.Option("--cpus-per-trial")] = 1.0,
    max_concurrent: Annotated[int | None, typer.Option("--max-concurrent")] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Join this Ray cluster (default: local Ray).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    warm_start: Annotated[
        str | None, typer.Option("--warm-start", help="`seed`: first run the seed's networks that the space holds.")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an existing study to --trials.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="A log line per trial instead of the live view.")] = False,
) -> None:
    """Search a space: Optuna proposes, Ray Tune trains, every trial lands in the study."""
    import dataclasses

    from inas.search import SearchSettings, run_search
    from inas.search.settings import get_budget, parse_objectives

    chosen = get_budget(budget)
    chosen = dataclasses.replace(chosen, epochs=epochs or chosen.epochs)
    chosen = dataclasses.replace(chosen, min_epochs=min(min_epochs or chosen.min_epochs, chosen.epochs))
    if min_epochs is not None and min_epochs > chosen.epochs:
        raise fail(f"--min-epochs {min_epochs}: must not exceed --epochs ({chosen.epochs})")
    settings = SearchSettings(
        space=space,
        trials=trials,
        study=study,
        storage=storage,
        dataset=dataset,
        data_dir=data_dir,
        budget=chosen,
        objectives=parse_objectives(objectives),
        sampler=sampler,
        gpus_per_trial=gpus_per_trial,
        cpus_per_trial=cpus_per_trial,
        max_concurrent=max_concurrent,
        address=address,
        seed=seed,
        warm_start=warm_start,
        resume=resume,
    )
    summary = run_search(settings, view="log" if quiet else "live")
    c = summary.counts
    # Plain lines, never wrapped: the storage URL is meant to be copied.
    typer.echo(
        f"study {summary.study} in {summary.storage}: {c['complete']} complete, {c['pruned']} pruned, "
        f"{c['fail']} failed"
        + (f" ({c['copies']} repeated proposals reused, not trained)" if c["copies"] else "")
        + f"; Pareto front {summary.pareto_size} trials; {summary.elapsed_seconds:,.0f} s"
    )
    for name, value in summary.best.items():
        typer.echo(f"  best {name}: {value:,.4g}")
    typer.echo(f"report: inas report {summary.study}" + (f" --storage {summary.storage}" if settings.storage else ""))
    typer.echo(f"browse: optuna-dashboard {summary.storage}")


# -- looking at studies ------------------------------------------------------------------------

app.command("report")(report_command)
app.command("trials")(trials_command)
app.command("compare")(compare_command)
app.command("dashboard")(dashboard_command)

# -- the chosen model -----------------------------------------------------------------------------

app.command("export")(export_command)
app.command("evaluate")(evaluate_command)
app.command("predict")(predict_command)


def main() -> None:
    """Console entry point: usage errors, like library errors, become one line and exit code 2."""
    try:
        rv = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as e:
        # Click's usage errors (Typer vendors Click in recent versions, so match by shape, not class).
        if not (hasattr(e, "format_message") and hasattr(e, "exit_code")):
            raise
        if e.format_message():  # empty after `no_args_is_help` has shown the help
            ctx = getattr(e, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            typer.echo(f"error: {e.format_message()}{hint}", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)  # click hands back the code of a typer.Exit


if __name__ == "__main__":
    main()
