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


def make_searcher(n_objectives: int):
    import optuna
    from optuna.distributions import FloatDistribution

    from inas.search.searcher import InasOptunaSearch

    keys = ("val_top1", "params", "train_seconds")[:n_objectives]
    return InasOptunaSearch(
        space={"x": FloatDistribution(0, 1)},
        metric=list(keys),
        mode=["min"] * n_objectives,
        sampler=optuna.samplers.TPESampler(n_startup_trials=2, seed=0),
        storage=optuna.storages.InMemoryStorage(),
        study_name="s",
        objective_keys=keys,
    )


def run_pruned(searcher, trial_id: str) -> None:
    assert searcher.suggest(trial_id) is not None
    for epoch in (1, 2):
        searcher.on_trial_result(trial_id, {"epochs_done": epoch, "val_top1": 0.9 - epoch / 10})
    searcher.on_trial_complete(trial_id, {"epochs_done": 2, "epochs_total": 6, "val_top1": 0.7})


def test_pruned_trials_keep_curves_and_tpe_goes_on_multi_objective():
    """Regression: intermediate values on pruned trials of a multi-objective study crashed TPE."""
    searcher = make_searcher(3)
    for i in range(5):
        run_pruned(searcher, f"t{i}")
    trials = searcher._ot_study.trials
    assert [t.state for t in trials] == [TrialState.PRUNED] * 5
    assert trials[0].user_attrs["val_top1_curve"] == [[1, 0.8], [2, 0.7]]
    assert not trials[0].intermediate_values


def test_single_objective_gets_intermediate_values():
    searcher = make_searcher(1)
    for i in range(4):
        run_pruned(searcher, f"t{i}")
    assert searcher._ot_study.trials[0].intermediate_values == {1: 0.8, 2: 0.7}


def choice_searcher(choices):
    import optuna
    from optuna.distributions import CategoricalDistribution

    from inas.search.searcher import InasOptunaSearch

    return InasOptunaSearch(
        space={"x": CategoricalDistribution(choices)},
        metric=["val_top1"],
        mode=["min"],
        sampler=optuna.samplers.RandomSampler(seed=0),
        storage=optuna.storages.InMemoryStorage(),
        study_name="s",
        objective_keys=("val_top1",),
    )


DONE = {"epochs_done": 1, "epochs_total": 1, "status": "ok", "params": 7}


def test_repeated_proposal_reuses_the_finished_twin():
    import optuna

    searcher = choice_searcher(["a", "b", "c"])
    seen = []
    for i in range(3):  # three distinct values: every proposal after a repeat is new
        seen.append(searcher.suggest(f"t{i}"))
        searcher.on_trial_complete(f"t{i}", {**DONE, "val_top1": 0.1 * (i + 1)})
    assert sorted(c["x"] for c in seen) == ["a", "b", "c"]
    trials = searcher._ot_study.trials
    copies = [t for t in trials if "duplicate_of" in t.user_attrs]
    assert copies, "the random sampler repeated no value in this seed; pick another"
    for t in copies:
        twin = trials[t.user_attrs["duplicate_of"]]
        assert t.params == twin.params and t.values == twin.values and t.user_attrs["params"] == 7
        assert t.state == optuna.trial.TrialState.COMPLETE


def test_exhausted_space_trains_the_repeat():
    from inas.search.searcher import MAX_REPROPOSALS

    searcher = choice_searcher(["a"])
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", {**DONE, "val_top1": 0.3})
    assert searcher.suggest("t1") == {"x": "a"}
    trials = searcher._ot_study.trials
    assert sum("duplicate_of" in t.user_attrs for t in trials) == MAX_REPROPOSALS
    assert trials[-1].state.name == "RUNNING"  # the one handed to Ray to train


def test_enqueued_repeats_are_trained():
    searcher = choice_searcher(["a"])
    searcher._ot_study.enqueue_trial({"x": "a"})
    searcher._ot_study.enqueue_trial({"x": "a"})
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", {**DONE, "val_top1": 0.3})
    assert searcher.suggest("t1") == {"x": "a"}
    assert not any("duplicate_of" in t.user_attrs for t in searcher._ot_study.trials)


def test_stale_running_and_waiting_trials_fail_and_do_not_count():
    import optuna

    from inas.search.study import fail_stale_trials, trained

    study = optuna.create_study()
    study.enqueue_trial({"x": 1.0})  # WAITING
    study.ask()  # RUNNING (takes the enqueued one)
    study.enqueue_trial({"x": 2.0})
    done = study.ask()
    study.tell(done, 0.5)
    assert fail_stale_trials(study, "interrupted (Ctrl-C)") == 1
    study.enqueue_trial({"x": 3.0})
    assert fail_stale_trials(study) == 1
    states = [t.state for t in study.trials]
    assert states == [TrialState.FAIL, TrialState.COMPLETE, TrialState.FAIL]
    assert study.trials[2].user_attrs["fail_reason"] == "not started before the search stopped"
    assert trained(study) == 1
