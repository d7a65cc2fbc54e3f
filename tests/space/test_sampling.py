import textwrap

import optuna
import pytest

from inas.model import get_preset, measure
from inas.model.presets import PRESETS, preset_of
from inas.model.stats import build_meta
from inas.space import count_points, dimensions, load_space, sample, sample_many
from inas.space.loader import parse_space
from tests.space.test_registry import BUILTIN


@pytest.mark.parametrize("name", BUILTIN)
def test_samples_are_valid_networks(name):
    space = load_space(name)
    names = {d.name for d in dimensions(space)}
    for cand in sample_many(space, 4, seed=0):
        assert set(cand.params) <= names
        build_meta(cand.arch)  # builds
        assert cand.arch.num_classes == 10


def test_sampling_is_deterministic():
    a = sample_many(load_space("googlenet_variants"), 5, seed=7)
    b = sample_many(load_space("googlenet_variants"), 5, seed=7)
    assert [c.to_dict() for c in a] == [c.to_dict() for c in b]


def test_depth_takes_tuples_by_position():
    space = load_space("googlenet_depth")
    trial = optuna.trial.FixedTrial({"depth.3": 1, "depth.4": 7, "depth.5": 2})
    arch = sample(space, trial).arch
    seed = get_preset("seed/googlenet")
    assert arch.depths == (1, 7, 2)
    assert arch.stages[0].modules == seed.stages[0].modules[:1]
    assert arch.stages[1].modules[:5] == seed.stages[1].modules
    assert arch.stages[1].modules[5:] == (seed.stages[1].modules[-1],) * 2  # repeats 4e


def test_full_depth_is_the_seed_network():
    trial = optuna.trial.FixedTrial({"depth.3": 2, "depth.4": 5, "depth.5": 2})
    arch = sample(load_space("googlenet_depth"), trial).arch
    assert arch == get_preset("seed/googlenet", 10)


def test_random_sampling_reaches_every_point_of_a_small_space():
    space = load_space("googlenet_depth")
    found = sample_many(space, 100, seed=0)
    assert len(found) == count_points(space) == 63


def test_seed_variants_are_the_seven_presets():
    cands = sample_many(load_space("seed_variants"), 10, seed=0)
    assert sorted(preset_of(c.arch) for c in cands) == sorted(n for n in PRESETS if n.startswith("seed/"))
    for c in cands:
        assert measure(c.arch).params == PRESETS[preset_of(c.arch)].params[10]


def test_recipe_values_go_to_the_recipe_not_the_network():
    space = load_space("googlenet_variants")
    values = {d.name: d.dim.values()[0] for d in dimensions(space) if d.dim.varies}
    values["recipe.label_smoothing"] = 0.1
    values["aux_heads"] = "4a+4d"
    cand = sample(space, optuna.trial.FixedTrial(values))
    assert cand.recipe == {"label_smoothing": 0.1}
    assert [(h.stage, h.module) for h in cand.arch.aux_heads] == [(1, 0), (1, 3)]


def space_of(text: str):
    return parse_space(__import__("yaml").safe_load(textwrap.dedent(text)), "test.yaml")


def test_conditional_dimensions_follow_depth():
    space = space_of(
        """
        name: t
        base: seed/googlenet
        depth: {4: {low: 1, high: 3}}
        channels: {multiplier: {choices: [0.5, 1.0]}, scope: module}
        """
    )
    conditions = {d.name: d.condition for d in dimensions(space)}
    assert conditions["channels.4a.multiplier"] == ""
    assert conditions["channels.4c.multiplier"] == "depth.4 >= 3"
    assert "channels.4d.multiplier" not in conditions
    for cand in sample_many(space, 20, seed=1):
        depth = cand.params["depth.4"]
        asked = {k for k in cand.params if k.startswith("channels.4")}
        assert asked == {f"channels.4{'abc'[j]}.multiplier" for j in range(depth)}
    # 3a, 3b, 5a, 5b: 2 ways each; stage 4: 2 + 4 + 8 ways.
    assert count_points(space) == 2**4 * (2 + 4 + 8)


def test_multiplier_scales_branch_and_its_reduction():
    space = space_of(
        """
        name: t
        base: seed/googlenet
        channels: {multiplier: {choices: [0.5]}, scope: network, branches: [c3, pool_proj], round_to: 8}
        """
    )
    arch = sample(space, optuna.trial.FixedTrial({"channels.multiplier": 0.5})).arch
    m = arch.stages[0].modules[0]  # 3a: 64, 96, 128, 16, 32, 32
    assert m.as_tuple() == (64, 48, 64, 16, 32, 16)


def test_explicit_tuples():
    space = space_of(
        """
        name: t
        base: seed/googlenet
        channels: {tuples: {3a: {choices: [[8, 8, 8, 8, 8, 8], [16, 16, 16, 16, 16, 16]]}}}
        """
    )
    arch = sample(space, optuna.trial.FixedTrial({"channels.3a.tuple": "16+16+16+16+16+16"})).arch
    assert arch.stages[0].modules[0].as_tuple() == (16,) * 6
    assert count_points(space) == 2


def test_integer_log_range_stays_integer():
    space = space_of("name: t\nbase: seed/googlenet\ndepth: {4: {low: 1, high: 7, log: true}}\n")
    assert space.depth[1].kind == "int" and count_points(space) == 7
    assert all(isinstance(c.params["depth.4"], int) for c in sample_many(space, 5, seed=0))


def test_base_keeps_its_own_aux_heads_under_depth():
    space = space_of("name: t\nbase: paper/googlenet\ndepth: {4: {low: 1, high: 5}}\n")
    for cand in sample_many(space, 5, seed=0):
        depth = cand.params["depth.4"]
        expected = sorted({(1, 0), (1, min(3, depth - 1))})
        assert [(h.stage, h.module) for h in cand.arch.aux_heads] == expected


def test_module_reached_by_one_base_only():
    space = space_of(
        "name: t\nbase: {choices: [seed/short2, seed/googlenet]}\nchannels: {tuples: {4c: [8, 8, 8, 8, 8, 8]}}\n"
    )
    conditions = {d.name: d.condition for d in dimensions(space)}
    assert conditions["channels.4c.tuple"] == "base has 4c"
    by_base = {c.params["base"]: c.arch for c in sample_many(space, 2, seed=0)}
    assert by_base["seed/googlenet"].stages[1].modules[2].as_tuple() == (8,) * 6
    assert by_base["seed/short2"].depths == (2, 1, 2)


def test_sampling_stops_when_the_space_is_exhausted():
    import time

    start = time.perf_counter()
    assert len(sample_many(load_space("seed_variants"), 10_000, seed=0)) == 7
    assert time.perf_counter() - start < 30  # would take minutes if it kept drawing duplicates
