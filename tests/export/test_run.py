"""What an export says before it trains: its plan, and the estimate timed on its first steps."""

import itertools

import pytest
import torch

from inas.errors import InasError
from inas.export.run import ESTIMATE_STEPS, Estimate, ExportPlan, StepClock, final_recipe
from inas.train.budget import BUDGETS
from inas.train.recipe import TrainRecipe

PLAN = ExportPlan(
    trial=5,
    study="knee",
    arch_hash="abc123",
    dataset="cifar10",
    images=50_000,
    test_images=10_000,
    epochs=6,
    image_size=32,
    batch_size=512,
    budget="standard",
    device="cpu",
)


def test_the_plan_names_what_trains():
    assert PLAN.line() == (
        "exporting trial 5 of knee (abc123): full width, 32 px, 6 epochs (standard budget) on 50,000 cifar10 "
        "images (nothing held out), batch 512 on cpu"
    )
    assert PLAN.steps_per_epoch == 97  # the loader drops the short last batch


def test_the_estimate_covers_every_epoch_and_the_test_pass():
    e = Estimate.of(PLAN, 4, 8.4)
    assert e.seconds_per_step == pytest.approx(2.1)
    # 97 steps x 6 epochs, and the test set's forward passes (a third of a step per batch of images)
    assert e.seconds == pytest.approx(2.1 * (97 * 6 + 10_000 / 512 / 3))
    assert e.line() == "about 21 min (measured 4 steps at 2.1 s/step)"


def clock_of(times):
    it = iter(times)
    return lambda: next(it)


def run(clock: StepClock, steps: int, epochs: int = 1):
    for _ in range(epochs):
        for done in range(1, steps + 1):
            clock(done, steps)


def test_steps_are_timed_after_a_warm_up_and_told_once_before_any_batch_goes_on():
    heard, passed = [], []
    times = itertools.chain([0.0, 10.0], itertools.count(12.0, 2.0))  # started; warm-up to 10; then 2 s a step
    clock = StepClock(
        PLAN, torch.device("cpu"), heard.append, lambda d, t: passed.append((d, len(heard))), clock_of(times)
    )
    run(clock, steps=97, epochs=2)
    assert len(heard) == 1 and heard[0].steps == ESTIMATE_STEPS and heard[0].seconds_per_step == 2.0
    assert passed[ESTIMATE_STEPS] == (ESTIMATE_STEPS + 1, 1)  # the batch the estimate came on is passed on after it
    assert len(passed) == 2 * 97


def test_a_slow_step_ends_the_timing_early_and_a_one_step_epoch_is_timed_with_its_warm_up():
    heard = []
    run(StepClock(PLAN, torch.device("cpu"), heard.append, None, clock_of([0.0, 50.0, 90.0, 130.0])), steps=97)
    assert heard[0].steps == 1 and heard[0].seconds_per_step == 40.0  # over 30 s: one step is enough
    heard.clear()
    run(StepClock(PLAN, torch.device("cpu"), heard.append, None, clock_of([0.0, 3.0])), steps=1)
    assert heard[0].steps == 1 and heard[0].with_warmup and heard[0].seconds_per_step == 3.0
    assert "measured 1 step with its warm-up at 3 s/step" in heard[0].line()


def test_the_budget_sets_size_batch_and_epochs_and_nothing_is_held_out():
    searched = TrainRecipe(epochs=3, batch_size=64, image_size=16, lr=0.05)
    standard = final_recipe(searched, BUDGETS["standard"])
    assert (standard.epochs, standard.image_size, standard.batch_size) == (6, 0, 512)
    assert standard.val_fraction == 0.0 and standard.lr == 0.05  # the rest of the searched recipe stays
    assert final_recipe(searched, BUDGETS["paper"], epochs=30).epochs == 30
    assert final_recipe(searched, BUDGETS["proxy"]).image_size == 16
    assert final_recipe(searched, BUDGETS["standard"], batch_size=128).batch_size == 128
    with pytest.raises(InasError, match="--budget"):
        final_recipe(TrainRecipe(), BUDGETS["standard"].__class__(0, 0, 1.0, 0, 512))
