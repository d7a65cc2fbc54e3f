"""Tables a report is drawn from: one row a trial, the Pareto front, hypervolume, curves, failures.

Every figure of `inas report` and `inas compare` is made from these frames, and the tests check them.
All objectives are minimised (inas studies minimise every objective).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence

import numpy as np
import optuna
import pandas as pd
from optuna._hypervolume import compute_hypervolume  # Optuna's own WFG algorithm (no public alias)
from optuna.trial import FrozenTrial, TrialState

from inas.search.searcher import CURVE_KEY

# Reported values every inas trial carries, as columns of `trials_frame`.
RECORD_COLUMNS = (
    "val_top1",
    "val_top5",
    "test_top1",
    "test_top5",
    "params",
    "macs",
    "train_seconds",
    "epochs_done",
    "arch_hash",
    "device",
    "duplicate_of",  # a repeated proposal that reused this earlier trial's outcome
)
# How far beyond the worst complete trial the hypervolume's reference point lies, per objective.
REFERENCE_MARGIN = 1.1


def objective_names(study: optuna.Study) -> list[str]:
    names = study.metric_names
    return list(names) if names else [f"objective_{i}" for i in range(len(study.directions))]


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row a trial: number, state, objectives, pareto, the record inas keeps, the sampled choices
    (one column each, named as in the space: `depth.4`, `block.norm`, ...) and the failure reason."""
    objectives = objective_names(study)
    pareto = {t.number for t in _pareto_trials(study)}
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict = {"number": t.number, "state": t.state.name.lower()}
        for i, name in enumerate(objectives):
            row[name] = t.values[i] if t.values else math.nan
        row["pareto"] = t.number in pareto
        for key in RECORD_COLUMNS:
            if key not in row or t.user_attrs.get(key) is not None:
                row[key] = t.user_attrs.get(key)
        if row.get("duplicate_of") is not None:
            row["duplicate_of"] = int(row["duplicate_of"])
        row["duration_s"] = t.duration.total_seconds() if t.duration else math.nan
        row["fail_reason"] = t.user_attrs.get("fail_reason", "")
        row.update({name: _cell(value) for name, value in t.params.items()})
        rows.append(row)
    # An objective named like a record ("params") is one column: the same value, and pruned trials have it.
    columns = list(
        dict.fromkeys(["number", "state", *objectives, "pareto", *RECORD_COLUMNS, "duration_s", "fail_reason"])
    )
    frame = pd.DataFrame(rows, columns=None if rows else columns)
    frame["duplicate_of"] = frame["duplicate_of"].astype("Int64")  # trial numbers, blank when not a copy
    return frame.reindex(columns=columns + sorted(c for c in frame.columns if c not in columns))


def choice_columns(frame: pd.DataFrame, study: optuna.Study) -> list[str]:
    """The columns of `trials_frame` that hold sampled choices."""
    names = {n for t in study.get_trials(deepcopy=False) for n in t.params}
    return [c for c in frame.columns if c in names]


def _cell(value):
    """A sampled value as a table cell: lists (channel tuples, aux heads) become their JSON text."""
    return json.dumps(value) if isinstance(value, (list, tuple, dict)) else value


def _pareto_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The non-dominated complete trials, without copies of repeated proposals (their twin stands)."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    return [t for t in study.best_trials if "duplicate_of" not in t.user_attrs] if complete else []


def pareto_info(study: optuna.Study) -> pd.DataFrame:
    """The complete trials with their objectives and `pareto` (on the study's non-dominated front)."""
    frame = trials_frame(study)
    return frame[frame["state"] == "complete"].reset_index(drop=True)


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Mask of the rows no other row dominates (all objectives minimised)."""
    keep = np.ones(len(points), dtype=bool)
    for i, p in enumerate(points):
        others = np.delete(points, i, axis=0)
        keep[i] = not np.any(np.all(others <= p, axis=1) & np.any(others < p, axis=1))
    return keep


def reference_point(frames: Sequence[pd.DataFrame], objectives: Sequence[str]) -> list[float]:
    """A point every complete trial dominates: REFERENCE_MARGIN times the worst value of each
    objective over the complete trials of `frames` (several studies share one to be compared)."""
    values = pd.concat([f.loc[f["state"] == "complete", list(objectives)] for f in frames])
    if values.empty:
        return []
    return [float(v) * REFERENCE_MARGIN if v > 0 else 1.0 for v in values.max()]


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """The volume the points dominate inside the box below `reference`."""
    ref = np.asarray(reference, dtype=float)
    inside = points[np.all(points < ref, axis=1)] if len(points) else points
    return float(compute_hypervolume(inside, ref)) if len(inside) else 0.0


def hypervolume_history(frame: pd.DataFrame, objectives: Sequence[str], reference: Sequence[float]) -> pd.DataFrame:
    """After each finished trial (by number): the hypervolume of the complete trials so far, and that
    as a fraction of the box between the origin and the reference point (all objectives are >= 0)."""
    finished = frame[frame["state"].isin(["complete", "pruned", "fail"])].sort_values("number")
    box = float(np.prod(reference)) if len(reference) else math.nan
    rows, points = [], np.empty((0, len(objectives)))
    for _, row in finished.iterrows():
        if row["state"] == "complete":
            points = np.vstack([points, row[list(objectives)].to_numpy(dtype=float)])
        hv = hypervolume(points, reference)
        rows.append({"number": int(row["number"]), "hypervolume": hv, "fraction": hv / box if box else math.nan})
    return pd.DataFrame(rows, columns=["number", "hypervolume", "fraction"])


def curves(study: optuna.Study, numbers: Sequence[int]) -> pd.DataFrame:
    """Validation top-1 error per epoch of the trials `numbers`: columns number, epoch, val_top1."""
    wanted, rows = set(numbers), []
    for t in study.get_trials(deepcopy=False):
        if t.number in wanted:
            points = t.user_attrs.get(CURVE_KEY) or sorted(t.intermediate_values.items())
            rows += [{"number": t.number, "epoch": int(e), "val_top1": float(v)} for e, v in points]
    return pd.DataFrame(rows, columns=["number", "epoch", "val_top1"])


def state_counts(frame: pd.DataFrame) -> dict[str, int]:
    counts = {s: 0 for s in ("complete", "pruned", "fail", "running", "waiting")}
    counts.update(frame["state"].value_counts().to_dict())
    return {k: int(v) for k, v in counts.items()}


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed trials grouped by reason (its first line): reason, count, trial numbers."""
    failed = frame[frame["state"] == "fail"].copy()
    failed["reason"] = failed["fail_reason"].fillna("").map(lambda r: (r.splitlines() or ["(no reason)"])[0][:200])
    grouped = failed.groupby("reason")["number"].agg(["count", lambda n: ", ".join(map(str, sorted(n)))])
    grouped.columns = ["count", "trials"]
    return grouped.sort_values("count", ascending=False).reset_index()


def importances(study: optuna.Study, objective: int = 0) -> tuple[dict[str, float], str]:
    """Parameter importances for one objective (Optuna's PED-ANOVA: no scikit-learn needed), or ({}, why not)."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if len(complete) < 2:
        return {}, "needs at least two complete trials"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PED-ANOVA warns that it ranks for low values: what we want
            found = optuna.importance.get_param_importances(
                study, target=lambda t: t.values[objective], evaluator=optuna.importance.PedAnovaImportanceEvaluator()
            )
    except (ValueError, RuntimeError, ImportError) as e:  # e.g. no parameter varies across the complete trials
        return {}, str(e).splitlines()[0]
    if not found:
        return {}, "no choice is shared by all complete trials with more than one value"
    return dict(found), ""
