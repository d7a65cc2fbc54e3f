"""`inas search`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from inas.cli_common import (
    DataDirOpt,
    PrecisionOpt,
    SeedOpt,
    StorageOpt,
    check_dataset,
    finite_share,
    parse_duration,
    positive_share,
    user_errors,
)
from inas.errors import ConfigError, shown
from inas.limits import MAX_PRESCREEN
from inas.search.settings import (
    BUDGETS,
    CALIBRATION_IMAGES,
    DEFAULT_BUDGET,
    DEFAULT_OBJECTIVES,
    DEFAULT_SAMPLER,
    MAX_CALIBRATION_IMAGES,
    OBJECTIVES,
    SAMPLERS,
    TRAIN_EVALUATOR,
    parse_objectives,
    supernet_folder,
)
from inas.study.keys import LATENCY_MS, MACS, NASWOT, PARAMS, SYNFLOW

# What --constraint may bound (inas.search.plan.CONSTRAINED_BEFORE_TRAINING, which imports torch; a test
# checks they agree) and what --prescreen may rank by (inas.model.proxies.PROXIES, likewise).
CONSTRAINABLE = (PARAMS, MACS, LATENCY_MS)
PRESCREEN_PROXIES = (NASWOT, SYNFLOW)


def given_options(ctx: typer.Context, *names: str) -> set[str]:
    """Which of the command's parameters `names` the user gave (not their defaults)."""
    return {n for n in names if ctx.get_parameter_source(n).name not in ("DEFAULT", "DEFAULT_MAP")}


@user_errors
def search_command(
    ctx: typer.Context,
    space: Annotated[
        str, typer.Option("--space", metavar="NAME|PATH", help="A built-in space name or a path to a YAML file.")
    ],
    trials: Annotated[
        int, typer.Option("--trials", metavar="N", help="Trials in the study when done (finished ones count).")
    ] = 50,
    study: Annotated[
        str | None, typer.Option("--study", metavar="NAME", help="Study name (default: the space's name).")
    ] = None,
    storage: StorageOpt = None,
    dataset: Annotated[str, typer.Option("--dataset", metavar="NAME", help="As for `inas train`.")] = "cifar10",
    data_dir: DataDirOpt = None,
    budget: Annotated[
        str,
        typer.Option(
            "--budget",
            metavar="NAME",
            help="smoke (2-core CPU, generated data), proxy (2-core CPU, real data), standard (6 epochs) or paper (the seed's 14).",
        ),
    ] = DEFAULT_BUDGET,
    epochs: Annotated[
        int | None, typer.Option("--epochs", metavar="N", min=1, help="Override the budget's epochs.")
    ] = None,
    min_epochs: Annotated[
        int | None,
        typer.Option("--min-epochs", metavar="N", min=1, help="ASHA's first rung; = --epochs turns ASHA off."),
    ] = None,
    sampler: Annotated[
        str, typer.Option("--sampler", metavar="NAME", help=", ".join(SAMPLERS) + ".")
    ] = DEFAULT_SAMPLER,
    objectives: Annotated[
        str,
        typer.Option(
            "--objectives", metavar="A,B,...", help="Comma-separated, all minimised: " + ", ".join(OBJECTIVES) + "."
        ),
    ] = ",".join(DEFAULT_OBJECTIVES),
    gpus_per_trial: Annotated[
        float | None,
        typer.Option(
            "--gpus-per-trial",
            metavar="F",
            callback=finite_share,
            help="A fraction shares a GPU (default: 1 with GPUs, else 0).",
        ),
    ] = None,
    cpus_per_trial: Annotated[
        float,
        typer.Option(
            "--cpus-per-trial",
            metavar="C",
            callback=positive_share,
            help="CPUs Ray reserves for each trial (and the threads it trains with).",
        ),
    ] = 1.0,
    max_concurrent: Annotated[
        int | None,
        typer.Option(
            "--max-concurrent", metavar="K", help="At most this many trials at once (default: as many as fit)."
        ),
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", metavar="ADDR", help="Join this Ray cluster (default: local Ray).")
    ] = None,
    seed: SeedOpt = 0,
    warm_start: Annotated[
        str | None,
        typer.Option(
            "--warm-start",
            metavar="seed|FILE.json",
            help="First run these candidates: `seed`, the seed's networks that the space holds; FILE.json, a list of candidates' sampled values (as `inas trials --format json` writes them).",
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an existing study to --trials.")] = False,
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            metavar="DURATION",
            help="Stop after this long (3600, 90m, 1.5h), counted from the start: trials still training are marked failed, finished ones kept (--resume goes on).",
        ),
    ] = None,
    constraint: Annotated[
        str | None,
        typer.Option(
            "--constraint",
            metavar="BOUNDS",
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
            metavar="N",
            help="Score this many proposals with a zero-cost proxy and train only the best (the rest are recorded as scored); off by default: see README.",
        ),
    ] = 1,
    prescreen_proxy: Annotated[
        str,
        typer.Option(
            "--prescreen-proxy",
            metavar="NAME",
            help="naswot or synflow: what --prescreen ranks by (higher first).",
        ),
    ] = NASWOT,
    precision: PrecisionOpt = None,
    evaluator: Annotated[
        str,
        typer.Option(
            "--evaluator",
            metavar="train|supernet:DIR",
            help="train: train every candidate; supernet:DIR: score each in about a second with the weights it inherits from `inas supernet train --out DIR`, on that supernet's dataset and budget (see README).",
        ),
    ] = TRAIN_EVALUATOR,
    calibration_images: Annotated[
        int,
        typer.Option(
            "--calibration-images",
            metavar="N",
            help="With --evaluator supernet: training images each candidate's BatchNorm is recalibrated on.",
        ),
    ] = CALIBRATION_IMAGES,
    quiet: Annotated[bool, typer.Option("--quiet", help="A log line per trial instead of the live view.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show Ray's own log lines.")] = False,
) -> None:
    """Search a space: Optuna proposes, Ray Tune trains, every trial lands in the study.

    Every option, the space and whether the study exists (with --resume or not) are checked before
    torch, the data or Ray load: a mistake is refused at once."""
    from inas.checks import stated_memory
    from inas.space.registry import load_space
    from inas.space.warmstart import read_candidates
    from inas.study.choose import parse_constraints
    from inas.study.storage import absolute_url, check_search_storage, check_study_name, default_storage
    from inas.train.recipe import TrainRecipe

    stated_memory()  # read again in each trial: a bad value is refused here, before Ray starts
    # The checks inas.search.plan makes again, in its words, made here before anything heavy is imported.
    if trials < 1:
        raise ConfigError("--trials: must be at least 1")
    timeout_s = parse_duration(timeout, "--timeout")
    the_budget = BUDGETS.get(budget, "--budget").with_epochs(epochs, min_epochs)
    names = parse_objectives(objectives)
    SAMPLERS.get(sampler, "--sampler")
    check_dataset(dataset)
    if max_concurrent is not None and max_concurrent < 1:
        raise ConfigError("--max-concurrent: must be at least 1")
    if not 1 <= prescreen <= MAX_PRESCREEN:
        raise ConfigError(f"--prescreen {prescreen}: must be between 1 (no prescreen) and {MAX_PRESCREEN}")
    if prescreen_proxy not in PRESCREEN_PROXIES:
        raise ConfigError(f"--prescreen-proxy {shown(prescreen_proxy)}: choose {' or '.join(PRESCREEN_PROXIES)}")
    if sampler == "gp" and constraint:
        raise ConfigError(
            "--sampler gp cannot learn --constraint (it learns from complete trials only, and candidates that "
            "break the constraint are never trained); use --sampler tpe"
        )
    if constraint:
        parse_constraints(constraint, list(CONSTRAINABLE), "--constraint", "use constraints")
    supernet = None
    if supernet_folder(evaluator) is not None:  # its dataset, budget and objectives, unless given
        for option, value in (("--epochs", epochs), ("--min-epochs", min_epochs), ("--precision", precision)):
            if value is not None:
                raise ConfigError(f"{option}: a candidate scored on a supernet is not trained; drop {option}")
        if not 1 <= calibration_images <= MAX_CALIBRATION_IMAGES:
            raise ConfigError(
                f"--calibration-images {calibration_images}: must be between 1 and {MAX_CALIBRATION_IMAGES:,}"
            )
        from inas.search.batched import fill_from_supernet

        dataset, the_budget, names, supernet = fill_from_supernet(
            supernet_folder(evaluator),
            given_options(ctx, "dataset", "budget", "objectives"),
            dataset,
            the_budget,
            names,
        )
    # Each trial resolves `auto` on the device it lands on; bf16 is refused by a trial whose device has none.
    recipe = TrainRecipe().with_overrides(dict(precision=precision), where="option") if precision else None
    the_space = load_space(space)
    enqueue = () if warm_start in (None, "seed") else tuple(read_candidates(the_space, Path(warm_start)))
    name = check_study_name(study or the_space.name)
    url = absolute_url(storage) if storage else default_storage(name)
    check_search_storage(url, name, resume)  # an existing study without --resume, before the data loads

    from inas.search.runner import run_search
    from inas.search.settings import SearchSettings
    from inas.train.progress import duration

    settings = SearchSettings(
        space=space,
        trials=trials,
        study=study,
        storage=url if storage else None,
        dataset=dataset,
        data_dir=data_dir,
        budget=the_budget,
        objectives=names,
        sampler=sampler,
        gpus_per_trial=gpus_per_trial,
        cpus_per_trial=cpus_per_trial,
        max_concurrent=max_concurrent,
        address=address,
        seed=seed,
        warm_start="seed" if warm_start == "seed" else None,
        enqueue=enqueue,
        resume=resume,
        timeout_s=timeout_s,
        verbose=verbose,
        constraint=constraint,
        proxies=proxies,
        prescreen=prescreen,
        prescreen_proxy=prescreen_proxy,
        recipe=recipe,
        evaluator=evaluator,
        calibration_images=calibration_images,
    )
    summary = run_search(settings, view="log" if quiet else "live")
    # Plain lines, never wrapped: the storage URL is meant to be copied. The counts in the report's words.
    typer.echo(
        f"study {summary.study} in {summary.storage}: {summary.tally.words()}; "
        f"Pareto front {summary.pareto_size} trials; {summary.elapsed_seconds:,.0f} s"
        + (f"; stopped at --timeout ({duration(timeout_s or 0)}; --resume goes on)" if summary.timed_out else "")
    )
    for name, value in summary.best.items():
        typer.echo(f"  best {name}: {value:,.4g}")
    if supernet is not None:
        from inas.search.batched import fidelity_words

        typer.echo(f"errors measured on {fidelity_words(supernet, calibration_images)}; export retrains from scratch")
    else:
        typer.echo(f"errors measured at the budget's fidelity: {settings.budget.fidelity()}")
    # The follow-up commands work from any folder: with --storage, unless the study is in $INAS_HOME.
    where = f" --storage {summary.storage}" if storage or not os.environ.get("INAS_HOME") else ""
    typer.echo(f"report: inas report {summary.study}{where}")
    typer.echo(f"browse: inas dashboard {summary.study}{where}")
    if summary.failure is not None:  # nothing to choose from: say so, and let scripts see it
        typer.echo(
            f"error: {summary.failure} (`inas trials {summary.study}` lists them)",
            err=True,
        )
        raise typer.Exit(1)
