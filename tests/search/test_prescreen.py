"""Zero-cost scoring before training: every proxy with its seconds, the same for a seed."""

import math

import pytest

from inas.data.datasets import load_dataset
from inas.model.config import scale_width
from inas.model.presets import get_preset
from inas.model.proxies import PROXIES
from inas.search.prescreen import score_proxies
from inas.train.recipe import TrainRecipe

RECIPE = TrainRecipe(image_size=16, seed=3)


@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic:80")


@pytest.fixture(scope="module")
def arch():
    return scale_width(get_preset("seed/short4", num_classes=10), 0.25)


@pytest.fixture(scope="module")
def scored(data, arch):
    return score_proxies(arch, RECIPE, data)


def unseconded(scores):
    return {k: v for k, v in scores.items() if not k.endswith("_seconds")}


def test_every_proxy_with_its_seconds(scored):
    scores = scored
    assert set(scores) == set(PROXIES) | {f"{name}_seconds" for name in PROXIES}
    for name in PROXIES:
        assert math.isfinite(scores[name]), name
        assert scores[f"{name}_seconds"] >= 0


def test_only_the_proxies_asked(data, arch):
    name = next(iter(PROXIES))
    assert set(score_proxies(arch, RECIPE, data, (name,))) == {name, f"{name}_seconds"}


def test_the_same_seed_gives_the_same_scores(data, arch, scored):
    assert unseconded(score_proxies(arch, RECIPE, data)) == unseconded(scored)
    other = score_proxies(arch, TrainRecipe(image_size=16, seed=4), data)  # another initialisation and batch
    assert unseconded(other) != unseconded(scored)
