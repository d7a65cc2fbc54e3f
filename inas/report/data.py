"""Tables a report is drawn from: one row a trial, the Pareto front, hypervolume, curves, failures.

Every figure of `inas report` and `inas compare` is made from these frames, and the tests check them.
All objectives are minimised (inas studies minimise every objective).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import moocore
import numpy as np
import optuna
import pandas as pd

from inas.study.frame import trials_frame
from inas.study.keys import CURVE_KEY, FAIL_REASON_KEY, INFEASIBLE_KEY, PARAMS, PRESCREENED_KEY, VAL_TOP1

# How far beyond the worst complete trial the hypervolume's reference point lies, per objective.
REFERENCE_MARGIN = 1.1
# How many dominated (or pruned) trials a figure draws at most: the Pareto front is always drawn whole.
# Plotly's page holds every point with its hover text (a trial's 36 choices): 10,000 trials drawn
# whole made a 37 MB report that a browser takes seconds to open.
MAX_POINTS = 1000


def thin(rows: pd.DataFrame, limit: int = MAX_POINTS, seed: int = 0) -> pd.DataFrame:
    """At most `limit` of `rows`, drawn at random (seeded: the same report each time), in their order."""
    return rows if len(rows) <= limit else rows.sample(n=limit, random_state=seed).sort_index()


def shown_words(shown: int, total: int, what: str = "dominated trials") -> str:
    """What a thinned figure says of itself: '2,000 of 9,500 dominated trials shown (drawn at random)'."""
    return f"{shown:,} of {total:,} {what} shown (drawn at random)" if shown < total else ""


def pareto_info(study: optuna.Study) -> pd.DataFrame:
    """The complete trials with their objectives and `pareto` (on the study's non-dominated front)."""
    frame = trials_frame(study)
    return frame[frame["state"] == "complete"].reset_index(drop=True)


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Mask of the rows no other row dominates (all objectives minimised); equal rows are all kept."""
    return moocore.is_nondominated(points, keep_weakly=True) if len(points) else np.ones(0, dtype=bool)


def front_2d(done: pd.DataFrame, x: str = PARAMS, y: str = VAL_TOP1) -> pd.DataFrame:
    """The rows of `done` on the front of two objectives (both minimised), sorted by `x`: a staircase."""
    if done.empty:
        return done
    return done[non_dominated(done[[x, y]].to_numpy(dtype=float))].sort_values(x)


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
    return float(moocore.hypervolume(inside, ref=ref)) if len(inside) else 0.0


def hypervolume_history(frame: pd.DataFrame, objectives: Sequence[str], reference: Sequence[float]) -> pd.DataFrame:
    """After each finished trial (by number): the hypervolume of the complete trials so far, and that
    as a fraction of the box between the origin and the reference point (all objectives are >= 0)."""
    finished = frame[frame["state"].isin(["complete", "pruned", "fail"])].sort_values("number")
    box = float(np.prod(reference)) if len(reference) else math.nan
    # Only the front so far counts: a point that one of it dominates (or equals) adds nothing, so the
    # volume is computed again only when the front changes (10,000 trials: a few hundred times).
    front, hv, volumes = np.empty((0, len(objectives))), 0.0, []
    values = finished[list(objectives)].to_numpy(dtype=float)
    for complete, point in zip(finished["state"].to_numpy() == "complete", values, strict=True):
        if complete and not np.any(np.all(front <= point, axis=1)):
            front = np.vstack([front[~np.all(point <= front, axis=1)], point])
            hv = hypervolume(front, reference)
        volumes.append(hv)
    return pd.DataFrame(
        {
            "number": finished["number"].astype(int).to_numpy(),
            "hypervolume": np.array(volumes, dtype=float),
            "fraction": np.array(volumes, dtype=float) / box if box else math.nan,
        },
        columns=["number", "hypervolume", "fraction"],
    )


def curves(study: optuna.Study, numbers: Sequence[int]) -> pd.DataFrame:
    """Validation top-1 error per epoch of the trials `numbers`: columns number, epoch, val_top1."""
    wanted, rows = set(numbers), []
    for t in study.get_trials(deepcopy=False):
        if t.number in wanted:
            points = t.user_attrs.get(CURVE_KEY) or sorted(t.intermediate_values.items())
            rows += [{"number": t.number, "epoch": int(e), VAL_TOP1: float(v)} for e, v in points]
    return pd.DataFrame(rows, columns=["number", "epoch", VAL_TOP1])


def state_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Trials by state, and those recorded without training: `infeasible` (broke --constraint) and
    `prescreened` (lost --prescreen)."""
    counts = {s: 0 for s in ("complete", "pruned", "fail", "running", "waiting")}
    counts.update(frame["state"].value_counts().to_dict())
    for key in (INFEASIBLE_KEY, PRESCREENED_KEY):
        counts[key] = int(frame[key].notna().sum()) if key in frame else 0
    return {k: int(v) for k, v in counts.items()}


def infeasible_share(frame: pd.DataFrame) -> tuple[float, float]:
    """The share of proposals (repeats included) that broke --constraint in the first and the second
    half of the search, by trial number."""
    broke = frame.sort_values("number")[INFEASIBLE_KEY].notna().to_numpy() if INFEASIBLE_KEY in frame else []
    half = len(broke) // 2
    return (float(broke[:half].mean()) if half else math.nan, float(broke[half:].mean()) if len(broke) else math.nan)


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed trials grouped by reason (its first line): reason, count, trial numbers."""
    failed = frame[frame["state"] == "fail"].copy()
    failed["reason"] = failed[FAIL_REASON_KEY].fillna("").map(lambda r: (r.splitlines() or ["(no reason)"])[0][:200])
    grouped = failed.groupby("reason")["number"].agg(["count", lambda n: ", ".join(map(str, sorted(n)))])
    grouped.columns = ["count", "trials"]
    return grouped.sort_values("count", ascending=False).reset_index()


def importances(study: optuna.Study, objective: int = 0) -> tuple[dict[str, float], str]:
    """Parameter importances for one objective (Optuna's PED-ANOVA: no scikit-learn needed), or ({}, why not)."""
    if len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))) < 2:
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
