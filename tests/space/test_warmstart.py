"""`--warm-start seed`: exactly the seeds' networks a space holds are enqueued, each as values that rebuild it."""

import optuna
import pytest

from inas.model.presets import PRESETS
from inas.space import count_points, load_space, sample, sample_many
from inas.space.warmstart import warm_start_points

SEEDS = [name for name in PRESETS if name.startswith("seed/")]


def seed_hash(name: str, num_classes: int) -> str:
    return PRESETS[name].config.with_classes(num_classes).hash()


def held_seeds(space_name: str, num_classes: int) -> set[str]:
    """The seeds among every network of a small space, found by drawing all its points (no warm start code)."""
    space = load_space(space_name)
    hashes = {c.arch.hash() for c in sample_many(space, count_points(space), seed=0, num_classes=num_classes)}
    return {name for name in SEEDS if seed_hash(name, num_classes) in hashes}


@pytest.mark.parametrize(
    ("space_name", "expected"),
    [
        ("googlenet_depth", {"seed/googlenet", "seed/short2"}),
        ("seed_variants", set(SEEDS)),
        ("googlenet_variants", {"seed/googlenet"}),
        ("d2l_variants", set()),  # d2l bases only: no seed inside
    ],
)
@pytest.mark.parametrize("num_classes", [10, 100])
def test_the_seeds_a_space_holds_are_the_ones_enqueued(space_name, expected, num_classes):
    space = load_space(space_name)
    points = warm_start_points(space, num_classes)
    names = [name for name, _ in points]
    assert len(names) == len(set(names))  # each seed once
    assert set(names) == held_seeds(space_name, num_classes) == expected
    for name, params in points:
        cand = sample(space, optuna.trial.FixedTrial(params), num_classes=num_classes)
        assert cand.arch.hash() == seed_hash(name, num_classes), name


def test_a_large_space_enqueues_the_seed_at_width_one():
    space = load_space("googlenet_channels")
    points = dict(warm_start_points(space, 10))
    assert list(points) == ["seed/googlenet"]
    params = points["seed/googlenet"]
    assert {v for k, v in params.items() if ".multiplier" in k} == {1.0}
    assert sample(space, optuna.trial.FixedTrial(params), num_classes=10).arch.hash() == seed_hash("seed/googlenet", 10)
