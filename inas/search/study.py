"""Reading and tidying a study: trial counts by state, and trials a dead search left running."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

INTERRUPTED = "interrupted"  # user attribute of trials a stopped search left unfinished
# States whose candidate needs no second run (FAIL may be transient: it is tried again).
DONE_STATES = (TrialState.COMPLETE, TrialState.PRUNED)


def fail_stale_trials(study: optuna.Study, reason: str = "left running by a search that stopped") -> int:
    """Mark FAIL the trials a stopped search left RUNNING or WAITING (we hold the study's lock, so none
    of them is alive). They do not count toward `--trials`, and their fixed candidates run again."""
    stale = [t for t in study.get_trials(deepcopy=False) if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    for t in stale:
        why = reason if t.state == TrialState.RUNNING else "not started before the search stopped"
        study._storage.set_trial_user_attr(t._trial_id, "fail_reason", why)
        study._storage.set_trial_user_attr(t._trial_id, INTERRUPTED, True)
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
    """Finished trials that count toward `--trials`: not copies of earlier trials, not interrupted."""
    return sum(
        1
        for t in study.get_trials(deepcopy=False)
        if t.state.is_finished() and "duplicate_of" not in t.user_attrs and INTERRUPTED not in t.user_attrs
    )
