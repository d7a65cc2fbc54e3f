"""A search trial without Ray: the plan proposes through the searcher, `run_trial` trains the candidate
the searcher resolved and reports its record, and the searcher tells the study."""

import optuna
import pytest
from optuna.trial import TrialState

from inas.search import candidate as candidate_module
from inas.search.plan import plan_search
from inas.search.searcher import StudySearcher
from inas.search.settings import Budget, SearchSettings
from inas.search.trial import CANDIDATE, TrialSettings, run_trial
from inas.study.record import TrialRecord, TrialStatus

TINY_BUDGET = Budget(epochs=1, min_epochs=1, data_fraction=1.0, image_size=8, batch_size=16)


def make(tiny_space, tmp_path, **kw):
    s = SearchSettings(
        space=tiny_space,
        trials=2,
        storage=f"sqlite:///{tmp_path}/s.db",
        dataset="synthetic:40",
        budget=TINY_BUDGET,
        **kw,
    )
    plan = plan_search(s)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    searcher = StudySearcher(study, plan, s.metric_keys())
    settings = TrialSettings(recipe=plan.recipe, cpus=1)
    return plan, searcher, settings


def run(searcher, settings, data, trial_id: str) -> list[dict]:
    reports: list[dict] = []
    config = searcher.suggest(trial_id)
    run_trial(config, settings, data, report=reports.append)
    searcher.on_trial_complete(trial_id, reports[-1])
    return reports


def test_a_trial_trains_the_resolved_candidate_and_the_study_keeps_its_record(tiny_space, tmp_path):
    plan, searcher, settings = make(tiny_space, tmp_path, objectives=("top1_error",))
    reports = run(searcher, settings, plan.data, "t0")
    records = [TrialRecord.from_report(r) for r in reports]
    assert [r.epochs_done for r in records] == [1] and records[-1].status in (TrialStatus.OK, TrialStatus.FAIL)
    (t,) = searcher.study.trials
    kept = TrialRecord.from_attrs(t.user_attrs)
    if t.state == TrialState.COMPLETE:
        assert t.values == [kept.val_top1] and kept.params > 0 and kept.precision in ("bf16", "fp32")
        assert kept.arch is not None and kept.arch_hash and kept.recipe["epochs"] == 1
    else:  # the tiny space's lr 1e30 diverges: failed with its reason
        assert t.state == TrialState.FAIL and kept.fail_reason


def test_each_proposal_is_resolved_once(tiny_space, tmp_path, monkeypatch):
    """The searcher resolves a proposal once; the screen, the repeat check and the trial read that."""
    calls = []
    real = candidate_module.resolve

    def counting(*args, **kw):
        calls.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(candidate_module, "resolve", counting)
    plan, searcher, settings = make(tiny_space, tmp_path, objectives=("top1_error",), constraint="params<1e9")
    for i in range(3):
        run(searcher, settings, plan.data, f"t{i}")
    assert len(calls) == len(searcher.study.trials) >= 3  # once a proposal, copies included


def test_an_invalid_candidate_fails_its_trial_with_the_reason(tiny_space, tmp_path):
    plan, searcher, settings = make(tiny_space, tmp_path, objectives=("top1_error",))
    bad = candidate_module.InvalidCandidate({"x": 1}, "ConfigError: tiny candidate: not a network")
    reports: list[dict] = []
    run_trial({CANDIDATE: bad}, settings, plan.data, report=reports.append)
    (record,) = [TrialRecord.from_report(r) for r in reports]
    assert record.status == TrialStatus.FAIL and record.fail_reason == bad.reason
    assert record.val_top1 == 1.0  # the worst error: a scheduler never favours it


@pytest.mark.parametrize("limit, trained", [("latency_ms<1e9", True), ("latency_ms<1e-9", False)])
def test_a_constraint_the_trial_measures(tiny_space, tmp_path, limit, trained):
    plan, searcher, _ = make(tiny_space, tmp_path, objectives=("top1_error",), constraint=limit)
    settings = TrialSettings(recipe=plan.recipe, cpus=1, measure_latency=True, constraints=plan.trial_constraints())
    reports = run(searcher, settings, plan.data, "t0")
    last = TrialRecord.from_report(reports[-1])
    assert last.latency_ms is not None and last.latency_method
    assert (last.status != TrialStatus.INFEASIBLE) == trained
    if not trained:
        (t,) = searcher.study.trials
        assert t.state == TrialState.PRUNED and "latency_ms" in t.user_attrs["infeasible"]


def test_train_time_is_the_median_step_times_the_steps_with_the_wall_clock_beside_it(tiny_space, tmp_path):
    from inas.study.objectives import OBJECTIVE_KEYS

    s = SearchSettings(
        space=tiny_space,
        trials=1,
        storage=f"sqlite:///{tmp_path}/s.db",
        dataset="synthetic:40",
        budget=TINY_BUDGET,
        objectives=("top1_error", "train_time"),
    )
    plan = plan_search(s)
    study = optuna.create_study(directions=["minimize"] * 2)
    searcher = StudySearcher(study, plan, s.metric_keys(), [{"channels.multiplier": 0.0625, "recipe.lr": 0.05}])
    run(searcher, TrialSettings(recipe=plan.recipe, cpus=1), plan.data, "t0")
    (t,) = study.trials
    kept = TrialRecord.from_attrs(t.user_attrs)
    assert t.state == TrialState.COMPLETE and s.metric_keys()[1] == OBJECTIVE_KEYS["train_time"]
    assert kept.train_steps >= 1 and kept.step_seconds > 0
    assert t.values[1] == kept.robust_train_seconds == kept.step_seconds * kept.train_steps
    assert kept.train_seconds > 0  # the wall clock, kept beside it
