"""The searcher: how finished Ray trials become Optuna trials, repeats, --constraint and --prescreen
(no Ray needed: the searcher is driven as Tune drives it, with records built by the record type)."""

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from inas.search.candidate import Screening
from inas.search.searcher import StudySearcher
from inas.search.trial import CANDIDATE
from inas.study.record import TrialRecord, TrialStatus

DONE = TrialRecord(status=TrialStatus.OK, epochs_done=1, epochs_total=1, params=7)


def done(**values) -> dict:
    """The report of a trial that trained every epoch."""
    return DONE.replace(**values).to_report()


def test_full_run_is_complete():
    assert TrialRecord(status=TrialStatus.OK, epochs_done=3, epochs_total=3).state() == (TrialState.COMPLETE, "")


def test_stopped_early_is_pruned_not_complete():
    assert TrialRecord(epochs_done=1, epochs_total=3).state()[0] == TrialState.PRUNED


def test_reported_failure_keeps_its_reason():
    record = TrialRecord(status=TrialStatus.FAIL, epochs_done=1, epochs_total=3, fail_reason="CUDA out of memory: ...")
    assert TrialRecord.from_report(record.to_report()).state() == (TrialState.FAIL, "CUDA out of memory: ...")


def test_crashed_process_is_a_failure():
    state, reason = TrialRecord.from_report(None).state(error=True)
    assert state == TrialState.FAIL and "process failed" in reason


@dataclass(frozen=True)
class Named:
    """A candidate known by its key alone."""

    params: dict[str, Any]
    key: str


class Scripted:
    """The searcher's `Candidates`, from plain functions of the sampled values; counts resolutions."""

    def __init__(
        self,
        define: Callable,
        key: Callable[[dict], str] = lambda p: json.dumps(p, sort_keys=True),
        screen: Callable | None = None,
        score: Callable | None = None,
    ):
        self._define, self._key, self._screen, self._score = define, key, screen, score
        self.resolved: list[dict] = []

    def define(self, trial) -> None:
        self._define(trial)

    def resolve(self, params: dict) -> Named:
        self.resolved.append(dict(params))
        return Named(dict(params), self._key(params))

    def screen(self, cand: Named) -> Screening | None:
        return None if self._screen is None else Screening(*self._screen(cand.params))

    def score(self, cand: Named) -> tuple[float, dict[str, float]]:
        return self._score(cand.params)


def values_of(config: dict) -> dict:
    """The sampled values of a suggestion (it also carries the resolved candidate)."""
    assert isinstance(config[CANDIDATE], Named)
    return {k: v for k, v in config.items() if k != CANDIDATE}


def make_searcher(n_objectives: int):
    keys = ("val_top1", "params", "train_seconds")[:n_objectives]
    study = optuna.create_study(
        directions=["minimize"] * n_objectives, sampler=optuna.samplers.TPESampler(n_startup_trials=2, seed=0)
    )
    return StudySearcher(study, Scripted(lambda t: t.suggest_float("x", 0, 1)), keys)


def run_pruned(searcher, trial_id: str) -> None:
    assert searcher.suggest(trial_id) is not None
    for epoch in (1, 2):
        searcher.on_trial_result(trial_id, TrialRecord(epochs_done=epoch, val_top1=0.9 - epoch / 10).to_report())
    searcher.on_trial_complete(trial_id, TrialRecord(epochs_done=2, epochs_total=6, val_top1=0.7).to_report())


def test_pruned_trials_keep_curves_and_tpe_goes_on_multi_objective():
    """Regression: intermediate values on pruned trials of a multi-objective study crashed TPE."""
    searcher = make_searcher(3)
    for i in range(5):
        run_pruned(searcher, f"t{i}")
    trials = searcher.study.trials
    assert [t.state for t in trials] == [TrialState.PRUNED] * 5
    assert trials[0].user_attrs["val_top1_curve"] == [[1, 0.8], [2, 0.7]]
    assert not trials[0].intermediate_values


def test_single_objective_gets_intermediate_values():
    searcher = make_searcher(1)
    for i in range(4):
        run_pruned(searcher, f"t{i}")
    assert searcher.study.trials[0].intermediate_values == {1: 0.8, 2: 0.7}


def test_complete_trial_gets_values_record_and_reason_free():
    searcher = make_searcher(2)
    searcher.suggest("t0")
    arch = {"stem": "cifar"}
    searcher.on_trial_complete("t0", done(val_top1=0.25, params=11, arch=arch, recipe={"lr": 0.1}))
    t = searcher.study.trials[0]
    assert t.state == TrialState.COMPLETE and t.values == [0.25, 11]
    assert t.user_attrs["arch"] == arch and t.user_attrs["recipe"] == {"lr": 0.1} and "fail_reason" not in t.user_attrs


def test_non_finite_objective_fails_the_trial():
    searcher = make_searcher(1)
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", done(val_top1=float("nan")))
    t = searcher.study.trials[0]
    assert t.state == TrialState.FAIL and "not all finite" in t.user_attrs["fail_reason"]


def test_unknown_and_repeated_completions_are_ignored():
    searcher = make_searcher(1)
    searcher.on_trial_complete("never-suggested", done(val_top1=0.5))
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", done(val_top1=0.5))
    searcher.on_trial_complete("t0", done(val_top1=0.1))  # Ray may report an end twice
    assert [t.values for t in searcher.study.trials] == [[0.5]]


def choice_searcher(choices, fixed=()):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    return StudySearcher(study, Scripted(lambda t: t.suggest_categorical("x", choices)), ("val_top1",), fixed)


def scripted_searcher(names):
    """Proposes 0, 1, 2, ... in turn (`i`); proposal i builds the candidate names[i].lower(), so "a"
    and "A" are two sampled values of one candidate."""
    count = itertools.count()

    def define(t):
        i = next(count)
        t.suggest_int("i", i, i)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    return StudySearcher(study, Scripted(define, key=lambda p: names[p["i"]].lower()), ("val_top1",))


def test_other_values_that_build_the_same_candidate_are_repeats():
    searcher = scripted_searcher(["a", "A", "b"])
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", done(val_top1=0.3))
    assert values_of(searcher.suggest("t1")) == {"i": 2}  # "A" was recorded from trial 0 without training
    copy = searcher.study.trials[1]
    assert copy.user_attrs["duplicate_of"] == 0 and copy.values == [0.3] and copy.state == TrialState.COMPLETE


def test_a_repeat_of_a_running_trial_waits_for_its_outcome():
    searcher = scripted_searcher(["a", "A", "b", "B", "c"])
    assert values_of(searcher.suggest("t0")) == {"i": 0}
    assert values_of(searcher.suggest("t1")) == {"i": 2}  # "A" waits for trial 0 instead of training
    assert values_of(searcher.suggest("t2")) == {"i": 4}  # "B" waits for "b"
    states = [t.state for t in searcher.study.trials]
    assert states[1] == TrialState.RUNNING and states[3] == TrialState.RUNNING  # waiting, not given to Ray
    searcher.on_trial_complete("t0", done(val_top1=0.3))
    searcher.on_trial_complete("t1", TrialRecord(status=TrialStatus.FAIL, fail_reason="CUDA out of memory").to_report())
    waited_ok, waited_fail = searcher.study.trials[1], searcher.study.trials[3]
    assert waited_ok.state == TrialState.COMPLETE and waited_ok.values == [0.3]
    assert waited_ok.user_attrs["duplicate_of"] == 0
    assert waited_fail.state == TrialState.FAIL and waited_fail.user_attrs["duplicate_of"] == 2
    assert "which failed: CUDA out of memory" in waited_fail.user_attrs["fail_reason"]


def test_repeated_proposal_reuses_the_finished_twin():
    searcher = choice_searcher(["a", "b", "c"])
    seen = []
    for i in range(3):  # three distinct values: every proposal after a repeat is new
        seen.append(values_of(searcher.suggest(f"t{i}")))
        searcher.on_trial_complete(f"t{i}", done(val_top1=0.1 * (i + 1)))
    assert sorted(c["x"] for c in seen) == ["a", "b", "c"]
    trials = searcher.study.trials
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
    searcher.on_trial_complete("t0", done(val_top1=0.3))
    assert values_of(searcher.suggest("t1")) == {"x": "a"}
    trials = searcher.study.trials
    assert sum("duplicate_of" in t.user_attrs for t in trials) == MAX_REPROPOSALS
    assert trials[-1].state.name == "RUNNING"  # the one handed to Ray to train


def test_enqueued_repeats_are_trained():
    searcher = choice_searcher(["a"], fixed=[{"x": "a"}, {"x": "a"}])
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", done(val_top1=0.3))
    assert values_of(searcher.suggest("t1")) == {"x": "a"}
    assert not any("duplicate_of" in t.user_attrs for t in searcher.study.trials)


def prescreen_searcher(names, scores, n=3, fixed=()):
    """Like `scripted_searcher`, with --prescreen n: candidate c scores `scores[c]`."""
    count = itertools.count()
    scored = []

    def define(t):
        i = next(count)
        t.suggest_int("i", i, i)

    def score(params):
        name = names[params["i"]].lower()
        scored.append(name)
        if scores[name] is None:
            raise ValueError("no score")
        return scores[name], {"naswot": scores[name], "naswot_seconds": 0.01}

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    candidates = Scripted(define, key=lambda p: names[p["i"]].lower(), score=score)
    return StudySearcher(study, candidates, ("val_top1",), fixed, prescreen=n), scored


def test_prescreen_trains_the_best_scored_of_n_and_records_the_rest():
    searcher, _ = prescreen_searcher(["a", "b", "c"], {"a": 1.0, "b": 3.0, "c": 2.0})
    assert values_of(searcher.suggest("t0")) == {"i": 1}
    a, b, c = searcher.study.trials
    assert b.state == TrialState.RUNNING and b.user_attrs["naswot"] == 3.0
    for loser, score in ((a, 1.0), (c, 2.0)):
        assert loser.state == TrialState.PRUNED and loser.user_attrs["naswot"] == score
        assert loser.user_attrs["prescreened"] == f"scored {score:g}; trial 1 scored 3 and was trained"
    searcher.on_trial_complete("t0", done(val_top1=0.3))
    from inas.study.record import counts, trained

    assert trained(searcher.study) == 1 and counts(searcher.study)["prescreened"] == 2


def test_a_prescreened_candidate_may_win_later_and_is_scored_once():
    searcher, scored = prescreen_searcher(["a", "b", "A", "c"], {"a": 2.0, "b": 3.0, "c": 1.0}, n=2)
    assert values_of(searcher.suggest("t0")) == {"i": 1}  # b beats a
    assert values_of(searcher.suggest("t1")) == {"i": 2}  # "A" (a again) is not a copy of the pruned a: it beats c
    assert scored == ["a", "b", "c"]  # a's score was kept


def test_prescreen_repeats_of_the_winner_wait_and_unscorable_ones_rank_last():
    searcher, _ = prescreen_searcher(["x", "b", "B"], {"x": None, "b": 1.0}, n=3)
    assert values_of(searcher.suggest("t0")) == {"i": 1}
    x, _, b_again = searcher.study.trials
    assert x.state == TrialState.PRUNED and x.user_attrs["prescreened"] == "could not be scored: ValueError: no score"
    assert b_again.state == TrialState.RUNNING  # waits for b's outcome
    searcher.on_trial_complete("t0", done(val_top1=0.3))
    assert searcher.study.trials[2].values == [0.3] and searcher.study.trials[2].user_attrs["duplicate_of"] == 1


def test_prescreen_trains_a_fixed_candidate_unscored():
    searcher, scored = prescreen_searcher(["a", "b"], {"a": 1.0, "b": 2.0}, fixed=[{"i": 0}])
    assert values_of(searcher.suggest("t0")) == {"i": 0}
    assert scored == [] and len(searcher.study.trials) == 1


def test_constraints_reach_the_sampler_one_value_each():
    """Each trial told gets every constraint: the screen's, the trial's (latency) and 0 where unmeasured."""
    names = ("params<10", "latency_ms<5")

    def screen(params):
        p = float(params["x"])
        return {"params<10": max(p - 10, 0.0)}, {"params": p}, ("params too many" if p >= 10 else None)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    define = lambda t: t.suggest_categorical("x", [5, 50])  # noqa: E731
    searcher = StudySearcher(study, Scripted(define, screen=screen), ("val_top1",), constraints=names)
    for i in range(3):
        searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", done(val_top1=0.3, constraints={"latency_ms<5": 0.5}))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    broke = [t for t in study.trials if "infeasible" in t.user_attrs]
    assert sum("duplicate_of" not in t.user_attrs for t in complete) == 3  # copies of 5 take 5's constraints
    assert broke, "the random sampler proposed no 50: pick another seed"
    assert all(t.constraints == {"params<10": 0.0, "latency_ms<5": 0.5} for t in complete)
    assert all(t.constraints == {"params<10": 40.0, "latency_ms<5": 0.0} for t in broke)


def test_a_trial_that_breaks_a_constraint_it_measures_is_pruned_untrained():
    record = TrialRecord(
        status=TrialStatus.INFEASIBLE,
        epochs_total=3,
        val_top1=1.0,
        latency_ms=9.0,
        infeasible="latency_ms 9 is not < 5",
    )
    assert record.state() == (TrialState.PRUNED, "")
    searcher = make_searcher(1)
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", record.to_report())
    (t,) = searcher.study.trials
    assert t.state == TrialState.PRUNED and t.user_attrs["infeasible"] == "latency_ms 9 is not < 5"
    assert t.user_attrs["latency_ms"] == 9.0 and "val_top1" not in t.user_attrs  # no error before any epoch


def test_when_no_proposal_can_be_scored_the_first_is_trained_and_not_marked_prescreened():
    searcher, _ = prescreen_searcher(["x", "y"], {"x": None, "y": None}, n=2)
    assert values_of(searcher.suggest("t0")) == {"i": 0}  # it fails in its trial, with its own reason
    x, y = searcher.study.trials
    assert "prescreened" not in x.user_attrs and x.state == TrialState.RUNNING
    assert y.user_attrs["prescreened"] == "could not be scored: ValueError: no score"
    searcher.on_trial_complete("t0", TrialRecord(status=TrialStatus.FAIL, fail_reason="invalid").to_report())
    from inas.study.record import trained

    assert trained(searcher.study) == 1  # the trained one counts toward --trials


def test_a_fixed_candidate_that_lost_a_prescreen_is_still_pending():
    from inas.study.record import pending_points

    searcher, _ = prescreen_searcher(["a", "b"], {"a": 1.0, "b": 2.0}, n=2)
    searcher.suggest("t0")  # a loses to b
    assert pending_points(searcher.study, [{"i": 0}, {"i": 1}]) == [{"i": 0}, {"i": 1}]  # b still running


def test_a_trial_whose_recording_fails_is_failed_with_a_reason(monkeypatch):
    from inas.study.record import failed_by_heartbeat

    searcher = make_searcher(1)
    searcher.suggest("t0")

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(searcher, "_record", broken)
    searcher.on_trial_complete("t0", done(val_top1=0.3))
    (t,) = searcher.study.trials
    assert (
        t.state == TrialState.FAIL
        and t.user_attrs["fail_reason"] == "could not be recorded with its outcome: disk full"
    )
    assert not failed_by_heartbeat(t)  # a FAIL without a reason would read as its search having stopped


def test_each_proposal_is_resolved_once():
    """The repeat check, the prescreen and the trial read the one candidate resolved at the proposal."""
    searcher, _ = prescreen_searcher(list("abAcdefgh"), dict.fromkeys("abcdefgh", 1.0), n=2)
    for i in range(3):
        config = searcher.suggest(f"t{i}")
        assert config[CANDIDATE].params == values_of(config)
        searcher.on_trial_complete(f"t{i}", done(val_top1=0.3))
    resolved = searcher.candidates.resolved
    assert len(resolved) == len(searcher.study.trials) and len({r["i"] for r in resolved}) == len(resolved)
