"""The trials frame: its Pareto column is Optuna's front, computed without copying every trial."""

import random

import optuna
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from inas.study.frame import trials_frame
from inas.study.keys import DUPLICATE_KEY
from inas.study.record import front_numbers, pareto_trials


def test_the_front_is_optunas_with_ties_copies_and_a_maximised_objective():
    rng = random.Random(0)
    study = optuna.create_study(directions=["minimize", "maximize", "minimize"])
    dist = {"x": IntDistribution(0, 9)}
    for i in range(300):
        a = rng.randint(0, 5)  # the first two trade off (a low is good, a high too); small ints: many ties
        values = [a, a + rng.randint(-1, 0), rng.randint(0, 2)]
        attrs = {DUPLICATE_KEY: i - 1} if i % 17 == 0 and i else {}
        state = [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED][i % 3]
        study.add_trial(
            create_trial(
                state=state,
                values=values if state == TrialState.COMPLETE else None,
                params={"x": i % 10},
                distributions=dist,
                user_attrs=attrs,
            )
        )
    # Optuna's own front (every complete trial deep-copied), copies of repeated proposals left out
    expected = {t.number for t in study.best_trials if DUPLICATE_KEY not in t.user_attrs}
    assert front_numbers(study) == expected and len(expected) > 3
    assert [t.number for t in pareto_trials(study)] == sorted(expected)
    frame = trials_frame(study)
    assert set(frame.loc[frame["pareto"], "number"]) == expected


def test_no_complete_trial_no_front():
    study = optuna.create_study(directions=["minimize", "minimize"])
    study.add_trial(create_trial(state=TrialState.FAIL))
    assert front_numbers(study) == set()
