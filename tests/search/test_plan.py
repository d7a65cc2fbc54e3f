"""Planning a search: the checks made before any study or Ray, and what the plan answers the searcher."""

import dataclasses

import optuna
import pytest

from inas.errors import ConfigError, InasError
from inas.search.candidate import InvalidCandidate, TrialCandidate
from inas.search.plan import plan_search, space_fingerprint
from inas.search.settings import Budget, SearchSettings
from inas.space.registry import load_space

TINY_BUDGET = Budget(epochs=2, min_epochs=1, data_fraction=1.0, image_size=8, batch_size=16, width=0.5)


def settings(space: str, **kw) -> SearchSettings:
    return SearchSettings(
        space=space, trials=2, storage="sqlite:////tmp/never-made.db", dataset="synthetic:40", budget=TINY_BUDGET, **kw
    )


def test_a_proposal_resolves_to_the_network_its_trial_trains(tiny_space):
    plan = plan_search(settings(tiny_space))
    trial = optuna.create_study().ask()
    plan.define(trial)
    cand = plan.resolve(trial.params)
    assert isinstance(cand, TrialCandidate) and cand.params == trial.params
    assert cand.arch.num_classes == plan.data.num_classes and cand.recipe.epochs == TINY_BUDGET.epochs
    assert cand.recipe.image_size == 8 and cand.width == 0.5
    assert cand.trained.stages[0].modules[0].c1 < cand.arch.stages[0].modules[0].c1  # the half-width copy
    assert cand.stats.params > 0  # the full network's, measured once
    again = plan.resolve(trial.params)
    assert again.key == cand.key and again.arch.hash() == cand.arch.hash()


def test_values_that_build_no_network_resolve_to_an_invalid_candidate(tiny_space):
    plan = plan_search(settings(tiny_space))
    cand = plan.resolve({"channels.multiplier": 123.0, "recipe.lr": 0.05})
    assert isinstance(cand, InvalidCandidate) and cand.key is None and cand.reason


def test_the_screen_checks_only_what_is_known_before_training(tiny_space):
    plan = plan_search(settings(tiny_space, constraint="params<1"))
    trial = optuna.create_study().ask()
    plan.define(trial)
    screening = plan.screen(plan.resolve(trial.params))
    assert screening.why and screening.violations["params<1.0"] > 0 and screening.measured["params"] > 1
    latency_only = plan_search(settings(tiny_space, constraint="latency_ms<5"))
    assert latency_only.screen(plan.resolve(trial.params)) is None  # the trial measures latency
    assert latency_only.trial_constraints() == (("latency_ms", "<", 5.0),)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"trials": 0}, "--trials"),
        ({"prescreen": 0}, "--prescreen"),
        ({"sampler": "gp", "constraint": "params<1e6"}, "--sampler gp cannot learn --constraint"),
        ({"warm_start": "nope"}, "warm_start 'nope': `seed` or None"),
        ({"cpus_per_trial": 0}, "--cpus-per-trial"),
    ],
)
def test_bad_settings_are_refused_before_anything_loads(tiny_space, change, message):
    with pytest.raises(ConfigError, match=message):
        plan_search(dataclasses.replace(settings(tiny_space), **change))


def test_too_little_data_for_a_validation_split(tiny_space):
    tiny = dataclasses.replace(TINY_BUDGET, data_fraction=0.05)
    with pytest.raises(InasError, match="training images leave 0 to train"):
        plan_search(dataclasses.replace(settings(tiny_space), dataset="synthetic:10", budget=tiny))


def test_the_fingerprint_ignores_the_description():
    space = load_space("googlenet_depth")
    assert space_fingerprint(space) == space_fingerprint(dataclasses.replace(space, description="other words"))
    assert space_fingerprint(space) != space_fingerprint(load_space("googlenet_channels"))
