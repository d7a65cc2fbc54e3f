"""`inas search`."""

from __future__ import annotations

from typing import Annotated

import typer

from inas.cli_common import (
    DataDirOpt,
    PrecisionOpt,
    SeedOpt,
    StorageOpt,
    finite_share,
    positive_share,
    user_errors,
)
from inas.search.settings import BUDGETS, DEFAULT_BUDGET, DEFAULT_OBJECTIVES, DEFAULT_SAMPLER, OBJECTIVES, SAMPLERS
from inas.study.keys import NASWOT


@user_errors
def search_command(
    space: Annotated[str, typer.Option("--space", help="A built-in space name or a path to a YAML file.")],
    trials: Annotated[int, typer.Option("--trials", help="Trials in the study when done (finished ones count).")] = 50,
    study: Annotated[str | None, typer.Option("--study", help="Study name (default: the space's name).")] = None,
    storage: StorageOpt = None,
    dataset: Annotated[str, typer.Option("--dataset", help="As for `inas train`.")] = "cifar10",
    data_dir: DataDirOpt = None,
    budget: Annotated[
        str,
        typer.Option(
            "--budget",
            help="smoke (2-core CPU, generated data), proxy (2-core CPU, real data), standard (6 epochs) or paper (the seed's 14).",
        ),
    ] = DEFAULT_BUDGET,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Override the budget's epochs.")] = None,
    min_epochs: Annotated[
        int | None, typer.Option("--min-epochs", min=1, help="ASHA's first rung; = --epochs turns ASHA off.")
    ] = None,
    sampler: Annotated[str, typer.Option("--sampler", help=", ".join(SAMPLERS) + ".")] = DEFAULT_SAMPLER,
    objectives: Annotated[
        str,
        typer.Option("--objectives", help="Comma-separated, all minimised: " + ", ".join(OBJECTIVES) + "."),
    ] = ",".join(DEFAULT_OBJECTIVES),
    gpus_per_trial: Annotated[
        float | None,
        typer.Option(
            "--gpus-per-trial", callback=finite_share, help="A fraction shares a GPU (default: 1 with GPUs, else 0)."
        ),
    ] = None,
    cpus_per_trial: Annotated[float, typer.Option("--cpus-per-trial", callback=positive_share)] = 1.0,
    max_concurrent: Annotated[int | None, typer.Option("--max-concurrent")] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Join this Ray cluster (default: local Ray).")
    ] = None,
    seed: SeedOpt = 0,
    warm_start: Annotated[
        str | None, typer.Option("--warm-start", help="`seed`: first run the seed's networks that the space holds.")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an existing study to --trials.")] = False,
    constraint: Annotated[
        str | None,
        typer.Option(
            "--constraint",
            help="Bounds checked before training, e.g. 'params<2e6,macs<3e8,latency_ms<5' (latency: on the trial's device): a candidate that breaks one is recorded, never trained.",
        ),
    ] = None,
    proxies: Annotated[
        bool, typer.Option("--proxies", help="Record NASWOT and synflow of each untrained candidate (see README).")
    ] = False,
    prescreen: Annotated[
        int,
        typer.Option(
            "--prescreen",
            help="Score this many proposals with a zero-cost proxy and train only the best (the rest are recorded as scored); off by default: see README.",
        ),
    ] = 1,
    prescreen_proxy: Annotated[
        str, typer.Option("--prescreen-proxy", help="naswot or synflow: what --prescreen ranks by (higher first).")
    ] = NASWOT,
    precision: PrecisionOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="A log line per trial instead of the live view.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show Ray's own log lines.")] = False,
) -> None:
    """Search a space: Optuna proposes, Ray Tune trains, every trial lands in the study."""
    from inas.checks import stated_memory

    stated_memory()  # read again in each trial: a bad value is refused here, before Ray starts
    from inas.search.runner import run_search
    from inas.search.settings import SearchSettings, parse_objectives
    from inas.train.recipe import TrainRecipe

    # Each trial resolves `auto` on the device it lands on; bf16 is refused by a trial whose device has none.
    recipe = TrainRecipe().with_overrides(dict(precision=precision), where="option") if precision else None

    settings = SearchSettings(
        space=space,
        trials=trials,
        study=study,
        storage=storage,
        dataset=dataset,
        data_dir=data_dir,
        budget=BUDGETS.get(budget, "--budget").with_epochs(epochs, min_epochs),
        objectives=parse_objectives(objectives),
        sampler=sampler,
        gpus_per_trial=gpus_per_trial,
        cpus_per_trial=cpus_per_trial,
        max_concurrent=max_concurrent,
        address=address,
        seed=seed,
        warm_start=warm_start,
        resume=resume,
        verbose=verbose,
        constraint=constraint,
        proxies=proxies,
        prescreen=prescreen,
        prescreen_proxy=prescreen_proxy,
        recipe=recipe,
    )
    summary = run_search(settings, view="log" if quiet else "live")
    # Plain lines, never wrapped: the storage URL is meant to be copied. The counts in the report's words.
    typer.echo(
        f"study {summary.study} in {summary.storage}: {summary.tally.words()}; "
        f"Pareto front {summary.pareto_size} trials; {summary.elapsed_seconds:,.0f} s"
    )
    for name, value in summary.best.items():
        typer.echo(f"  best {name}: {value:,.4g}")
    typer.echo(f"errors measured at the budget's fidelity: {settings.budget.fidelity()}")
    where = f" --storage {summary.storage}" if storage else ""
    typer.echo(f"report: inas report {summary.study}{where}")
    typer.echo(f"browse: inas dashboard {summary.study}{where}")
    if summary.failure is not None:  # nothing to choose from: say so, and let scripts see it
        typer.echo(
            f"error: {summary.failure} (`inas trials {summary.study}` lists them)",
            err=True,
        )
        raise typer.Exit(1)
