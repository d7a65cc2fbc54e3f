"""Running an experiment as a study, and its table (ours beside the seed's) as markdown, CSV and a figure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd
import plotly.graph_objects as go
from optuna.trial import TrialState

from inas.reproduce.experiments import Experiment
from inas.search.runner import SearchSummary, run_search
from inas.search.settings import Budget, SearchSettings
from inas.study.keys import MACS, PARAMS, TRAIN_SECONDS
from inas.study.record import TrialRecord, pending_points, trained
from inas.study.storage import check_study_name, check_url, default_storage, open_storage, sqlite_path


@dataclass(frozen=True)
class RunOptions:
    dataset: str
    epochs: int
    study: str
    storage: str | None = None
    data_dir: str | None = None
    gpus_per_trial: float | None = None
    max_concurrent: int | None = None
    address: str | None = None
    seed: int = 0


def run_experiment(exp: Experiment, o: RunOptions, view: str | None = None) -> SearchSummary:
    """Train each variant once, as trials of the study `o.study` (continued if it exists)."""
    check_study_name(o.study)  # it names the study this creates
    url = o.storage or default_storage(o.study)
    check_url(url)
    db = sqlite_path(url)
    trials, exists = len(exp.variants), False
    if db is None or db.exists():
        storage = open_storage(url, create=True)
        if o.study in optuna.get_all_study_names(storage):
            # Continue: keep what is done, run the variants not done yet (a failed one again).
            study = optuna.load_study(study_name=o.study, storage=storage)
            trials, exists = trained(study) + len(pending_points(study, list(exp.variants.values()))), True
        storage.engine.dispose()
    settings = SearchSettings(
        space=exp.space,
        trials=trials,
        study=o.study,
        storage=url,
        dataset=o.dataset,
        data_dir=o.data_dir,
        budget=Budget(o.epochs, o.epochs, 1.0, exp.image_size, exp.batch_size),  # no pruning: all epochs
        sampler="random",  # never asked: every trial is an enqueued variant
        gpus_per_trial=o.gpus_per_trial,
        max_concurrent=o.max_concurrent,
        address=o.address,
        seed=o.seed,
        resume=exists,
        enqueue=tuple(exp.variants.values()),
        recipe=exp.recipe,
    )
    return run_search(settings, view=view)


def results_table(exp: Experiment, study: optuna.Study) -> pd.DataFrame:
    """One row a variant: our test errors, params, MACs and training time, and the seed's where known.
    Test errors are what the seeds report; nothing here selects a network."""
    rows = []
    trials = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    for label, params in exp.variants.items():
        t = next((t for t in reversed(trials) if t.params == params), None)
        r = TrialRecord.from_attrs(t.user_attrs if t else {})
        row = {
            "variant": label,
            "trial": t.number if t else None,
            "top1_error": r.test_top1,
            "top5_error": r.test_top5,
            "val_top1_error": r.val_top1,
            PARAMS: r.params,
            MACS: r.macs,
            TRAIN_SECONDS: r.train_seconds,
        }
        if exp.reference:
            top1, top5, n, seconds = exp.reference[label]
            row |= {"seed_top1_error": top1, "seed_top5_error": top5, "seed_params": n, "seed_seconds": seconds}
        rows.append(row)
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, title: str) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Bar(x=table["variant"], y=table["top1_error"], name="inas: test top-1 error"))
    if "seed_top1_error" in table:
        fig.add_trace(go.Bar(x=table["variant"], y=table["seed_top1_error"], name="seed: test top-1 error"))
    fig.add_trace(
        go.Scatter(
            x=table["variant"], y=table[PARAMS], name="parameters (right axis)", yaxis="y2", mode="markers+lines"
        )
    )
    fig.update_layout(
        title=title,
        barmode="group",
        template="plotly_white",
        yaxis=dict(title="test top-1 error", tickformat=".0%"),
        yaxis2=dict(title="parameters", overlaying="y", side="right", type="log"),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def write_outputs(table: pd.DataFrame, fig: go.Figure, out: Path) -> list[Path]:
    """table.md, table.csv and figure.html (plotly.js inlined) in `out`, each written whole."""
    from inas.files import write_atomic

    paths = [out / "table.md", out / "table.csv", out / "figure.html"]
    write_atomic(paths[0], table.to_markdown(index=False, floatfmt=".4g") + "\n")
    write_atomic(paths[1], table.to_csv(index=False))
    write_atomic(paths[2], fig.to_html(include_plotlyjs=True, full_html=True))
    return paths


def fmt_seconds(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    return f"{int(s // 60)}m{int(s % 60):02d}s"
