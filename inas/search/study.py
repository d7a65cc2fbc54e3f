"""Reading and tidying a study: trial counts by state, and trials a dead search left running."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState


def fail_stale_trials(study: optuna.Study, reason: str = "left running by a search that stopped") -> int:
    """Mark FAIL the trials left RUNNING by a search that stopped (we hold the study's lock, so none
    of them is alive)."""
    stale = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    for t in stale:
        study._storage.set_trial_user_attr(t._trial_id, "fail_reason", reason)
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    return len(stale)


def counts(study: optuna.Study) -> dict[str, int]:
    """Trials by state, and `copies`: finished trials that reused an identical earlier trial's outcome."""
    out = {"complete": 0, "pruned": 0, "fail": 0, "running": 0, "waiting": 0, "copies": 0}
    for t in study.get_trials(deepcopy=False):
        out[t.state.name.lower()] = out.get(t.state.name.lower(), 0) + 1
        out["copies"] += "duplicate_of" in t.user_attrs
    return out


def trained(study: optuna.Study) -> int:
    """Finished trials that trained (copies of earlier trials do not count toward `--trials`)."""
    return sum(
        1 for t in study.get_trials(deepcopy=False) if t.state.is_finished() and "duplicate_of" not in t.user_attrs
    )
