"""How a finished Ray trial becomes an Optuna trial state (no Ray needed)."""

from optuna.trial import TrialState

from inas.search.searcher import trial_state


def test_full_run_is_complete():
    assert trial_state({"status": "ok", "epochs_done": 3, "epochs_total": 3}, error=False) == (TrialState.COMPLETE, "")


def test_stopped_early_is_pruned_not_complete():
    assert trial_state({"status": "running", "epochs_done": 1, "epochs_total": 3}, error=False)[0] == TrialState.PRUNED


def test_reported_failure_keeps_its_reason():
    result = {"status": "fail", "epochs_done": 1, "epochs_total": 3, "fail_reason": "CUDA out of memory: ..."}
    assert trial_state(result, error=False) == (TrialState.FAIL, "CUDA out of memory: ...")


def test_crashed_process_is_a_failure():
    state, reason = trial_state(None, error=True)
    assert state == TrialState.FAIL and "process failed" in reason
