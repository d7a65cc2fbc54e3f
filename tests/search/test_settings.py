"""What a search is asked: budgets, objectives, samplers (plain data, no Ray, no torch)."""

import importlib.util

import optuna
import pytest

from inas.errors import ConfigError, UnknownNameError
from inas.search.settings import (
    BUDGETS,
    DEFAULT_BUDGET,
    DEFAULT_OBJECTIVES,
    OBJECTIVES,
    Budget,
    SearchSettings,
    make_sampler,
    parse_objectives,
)


@pytest.mark.parametrize("name", BUDGETS.names())
def test_every_budget_is_one_asha_can_run(name):
    b = BUDGETS[name]
    assert 1 <= b.min_epochs <= b.epochs
    assert 0 < b.data_fraction <= 1 and 0 < b.width <= 1
    assert b.batch_size >= 1 and b.image_size >= 0


def test_the_default_budget_is_standard_full_size():
    assert DEFAULT_BUDGET == "standard"
    assert SearchSettings(space="s").budget == BUDGETS["standard"]
    assert BUDGETS["standard"].width == 1 and BUDGETS["standard"].image_size == 0


@pytest.mark.parametrize(
    ("budget", "text"),
    [
        (BUDGETS["smoke"], "2 epochs, 100% of the training set, 16 px, batch 32, width x0.25"),
        (BUDGETS["proxy"], "3 epochs, 10% of the training set, 16 px, batch 64, width x0.25"),
        (BUDGETS["standard"], "6 epochs, 100% of the training set, full-size images, batch 512, full width"),
        (Budget(1, 1, 0.5, 0, 8), "1 epoch, 50% of the training set, full-size images, batch 8, full width"),
    ],
)
def test_fidelity_says_what_the_errors_come_from(budget, text):
    assert budget.fidelity() == text


def test_with_epochs_keeps_the_first_rung_within_the_last_epoch():
    b = BUDGETS["standard"]  # 6 epochs, first rung at 2
    assert b.with_epochs() == b
    assert (b.with_epochs(10).epochs, b.with_epochs(10).min_epochs) == (10, 2)
    assert (b.with_epochs(1).epochs, b.with_epochs(1).min_epochs) == (1, 1)  # the rung follows down
    assert (b.with_epochs(min_epochs=3).epochs, b.with_epochs(min_epochs=3).min_epochs) == (6, 3)
    assert b.with_epochs(4, 4).min_epochs == 4
    with pytest.raises(ConfigError, match=r"--min-epochs 5: must not exceed --epochs \(4\)"):
        b.with_epochs(4, 5)
    with pytest.raises(ConfigError, match=r"--min-epochs 7: must not exceed --epochs \(6\)"):
        b.with_epochs(min_epochs=7)


def test_parse_objectives():
    assert parse_objectives("top1_error,params") == ("top1_error", "params")
    assert parse_objectives(" latency_ms , macs ,") == ("latency_ms", "macs")
    assert parse_objectives(",".join(DEFAULT_OBJECTIVES)) == DEFAULT_OBJECTIVES
    with pytest.raises(ConfigError, match="--objectives: give at least one of top1_error"):
        parse_objectives(" , ")
    with pytest.raises(ConfigError, match="--objectives: an objective is named twice"):
        parse_objectives("params,params")
    with pytest.raises(UnknownNameError, match="--objectives: unknown objective 'top1'; choose one of: top1_error"):
        parse_objectives("top1,params")


def test_metric_keys_follow_the_objectives_in_order():
    s = SearchSettings(space="s", objectives=("params", "top1_error"))
    assert s.metric_keys() == (OBJECTIVES["params"], OBJECTIVES["top1_error"])


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("tpe", optuna.samplers.TPESampler),
        ("nsga2", optuna.samplers.NSGAIISampler),
        ("random", optuna.samplers.RandomSampler),
    ],
)
def test_make_sampler(name, kind):
    assert isinstance(make_sampler(name, 0), kind)


def test_gp_needs_scipy():
    if importlib.util.find_spec("scipy") is None:
        with pytest.raises(ConfigError, match="--sampler gp needs scipy: pip install scipy"):
            make_sampler("gp", 0)
    else:
        assert isinstance(make_sampler("gp", 0), optuna.samplers.GPSampler)


def test_an_unknown_sampler_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="--sampler: unknown sampler 'cmaes'; choose one of: tpe, nsga2, random"):
        make_sampler("cmaes", 0)


@pytest.mark.parametrize("name", ["tpe", "nsga2", "random"])
def test_a_sampler_is_seeded(name):
    def proposals(seed):
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=make_sampler(name, seed))
        return [study.ask().suggest_int("x", 0, 10**9) for _ in range(3)]

    assert proposals(1) == proposals(1) != proposals(2)
