"""Choosing the trial to export: by number, the lowest error, the knee of the front, or a constraint.

Choices use validation error only: the test set is for the exported model's final report.
"""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd

from inas.errors import InasError, shown
from inas.study.choose import CONSTRAINABLE, OPS, parse_constraints
from inas.study.frame import objective_names, trials_frame
from inas.study.keys import DUPLICATE_KEY, MACS, PARAMS, TRAIN_SECONDS, VAL_TOP1

TIE_COSTS = (PARAMS, TRAIN_SECONDS, MACS)


def _front(study: optuna.Study, frame: pd.DataFrame) -> pd.DataFrame:
    front = frame[frame["pareto"]]
    if front.empty:
        raise InasError(
            f"study {shown(study.study_name)} has no complete trial to export; run more of the search first"
        )
    return front


def knee(front: pd.DataFrame, objectives: list[str]) -> int:
    """The trial number picked by the knee rule (`inas.study.choose.KNEE_RULE`)."""
    values = front[objectives].to_numpy(dtype=float)
    low, high = values.min(axis=0), values.max(axis=0)
    scaled = (values - low) / np.where(high > low, high - low, 1.0)
    distance = np.round(np.linalg.norm(scaled, axis=1), 12)  # equal up to rounding is a tie
    return int(
        front.assign(_distance=distance).sort_values(["_distance", *tie_breakers(front, objectives)])["number"].iloc[0]
    )


def tie_breakers(front: pd.DataFrame, objectives: list[str]) -> list[str]:
    """What decides between trials that a rule finds equal: the objectives in turn, then the recorded
    costs that are not objectives (a smaller, faster network wins), then the older trial."""
    return [c for c in dict.fromkeys([*objectives, *TIE_COSTS, "number"]) if c in front.columns]


def pick_trial(study: optuna.Study, trial: int | None = None, pick: str | None = None) -> int:
    """The number of the trial to export (default: the lowest validation error)."""
    if trial is not None and pick is not None:
        raise InasError("give --trial or --pick, not both")
    if trial is not None:
        trials = study.get_trials(deepcopy=False)
        if not 0 <= trial < len(trials):
            raise InasError(f"--trial {trial}: study {shown(study.study_name)} has trials 0 to {len(trials) - 1}")
        t = trials[trial]
        if t.state != optuna.trial.TrialState.COMPLETE:
            raise InasError(f"--trial {trial}: it is {t.state.name.lower()}; export a complete trial")
        return trial
    frame = trials_frame(study)
    front = _front(study, frame)
    pick = pick or "min-error"
    if pick == "min-error":
        objectives = objective_names(study)
        error = VAL_TOP1 if front[VAL_TOP1].notna().all() else objectives[0]
        return int(front.sort_values(list(dict.fromkeys([error, *tie_breakers(front, objectives)])))["number"].iloc[0])
    objectives = objective_names(study)
    if pick == "knee":
        return knee(front, objectives)
    constraints = parse_constraints(pick, list(dict.fromkeys([*objectives, *CONSTRAINABLE])))
    # Over every complete trial: a constraint on a value that is not an objective may rule out the
    # whole front while dominated trials satisfy it.
    done = frame[(frame["state"] == "complete") & frame[DUPLICATE_KEY].isna()]
    for name, _, _ in constraints:
        if name not in done or done[name].isna().all():
            raise InasError(
                f"--pick {shown(pick)}: no complete trial recorded {name} (latency is measured when a search has "
                "it among --objectives or --constraint); constrain a value the study holds"
            )
    ok = np.ones(len(done), dtype=bool)
    for name, op, value in constraints:
        ok &= done[name].astype(float).map(lambda v, op=op, value=value: OPS[op](v, value)).to_numpy()
    if not ok.any():
        closest = ", ".join(
            f"{n} {(done[n].astype(float).min() if op.startswith('<') else done[n].astype(float).max()):,.4g}"
            for n, op, _ in constraints
        )
        raise InasError(f"--pick {shown(pick)}: no complete trial satisfies it (the closest: {closest}); relax it")
    return int(done[ok].sort_values([VAL_TOP1, PARAMS])["number"].iloc[0])
