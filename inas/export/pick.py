"""Choosing the trial to export: by number, the lowest error, the knee of the front, or a constraint.

Choices use validation error only: the test set is for the exported model's final report.
"""

from __future__ import annotations

import operator
import re

import numpy as np
import optuna
import pandas as pd

from inas.errors import InasError
from inas.report.data import objective_names, trials_frame

KNEE_RULE = (
    "knee: the Pareto member nearest the ideal point once each objective is scaled to [0, 1] over the "
    "front (0: the front's best value, 1: its worst)"
)
OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")
# Names a constraint may use, beside the study's objectives (test errors never select).
CONSTRAINABLE = ("val_top1", "val_top5", "params", "macs", "train_seconds")


def _front(study: optuna.Study, frame: pd.DataFrame) -> pd.DataFrame:
    front = frame[frame["pareto"]]
    if front.empty:
        raise InasError(f"study {study.study_name!r} has no complete trial to export; run more of the search first")
    return front


def knee(front: pd.DataFrame, objectives: list[str]) -> int:
    """The trial number picked by KNEE_RULE."""
    values = front[objectives].to_numpy(dtype=float)
    low, high = values.min(axis=0), values.max(axis=0)
    scaled = (values - low) / np.where(high > low, high - low, 1.0)
    return int(front["number"].iloc[int(np.argmin(np.linalg.norm(scaled, axis=1)))])


def parse_constraints(text: str, allowed: list[str]) -> list[tuple[str, str, float]]:
    out = []
    for part in text.split(","):
        m = CONSTRAINT.match(part)
        if not m:
            raise InasError(
                f"--pick {text!r}: use min-error, knee, or constraints like 'params<2e6' or 'params<2e6,macs<5e8'"
            )
        name, op, value = m.group(1), m.group(2), m.group(3)
        if name not in allowed:
            raise InasError(f"--pick {text!r}: unknown value {name!r}; constrain one of {', '.join(allowed)}")
        try:
            out.append((name, op, float(value)))
        except ValueError:
            raise InasError(f"--pick {text!r}: {value!r} is not a number") from None
    return out


def pick_trial(study: optuna.Study, trial: int | None = None, pick: str | None = None) -> int:
    """The number of the trial to export (default: the lowest validation error)."""
    if trial is not None and pick is not None:
        raise InasError("give --trial or --pick, not both")
    if trial is not None:
        trials = study.get_trials(deepcopy=False)
        if not 0 <= trial < len(trials):
            raise InasError(f"--trial {trial}: study {study.study_name!r} has trials 0 to {len(trials) - 1}")
        t = trials[trial]
        if t.state != optuna.trial.TrialState.COMPLETE:
            raise InasError(f"--trial {trial}: it is {t.state.name.lower()}; export a complete trial")
        return trial
    frame = trials_frame(study)
    front = _front(study, frame)
    pick = pick or "min-error"
    if pick == "min-error":
        error = "val_top1" if front["val_top1"].notna().all() else objective_names(study)[0]
        return int(front.sort_values([error])["number"].iloc[0])
    objectives = objective_names(study)
    if pick == "knee":
        return knee(front, objectives)
    constraints = parse_constraints(pick, list(dict.fromkeys([*objectives, *CONSTRAINABLE])))
    # Over every complete trial: a constraint on a value that is not an objective may rule out the
    # whole front while dominated trials satisfy it.
    done = frame[(frame["state"] == "complete") & frame["duplicate_of"].isna()]
    ok = np.ones(len(done), dtype=bool)
    for name, op, value in constraints:
        ok &= done[name].astype(float).map(lambda v, op=op, value=value: OPS[op](v, value)).to_numpy()
    if not ok.any():
        closest = ", ".join(
            f"{n} {(done[n].astype(float).min() if op.startswith('<') else done[n].astype(float).max()):,.4g}"
            for n, op, _ in constraints
        )
        raise InasError(f"--pick {pick!r}: no complete trial satisfies it (the closest: {closest}); relax it")
    return int(done[ok].sort_values(["val_top1", "params"])["number"].iloc[0])
