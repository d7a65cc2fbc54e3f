"""`--warm-start seed`: exactly the seeds' networks a space holds are enqueued, each as values that rebuild it;
`--warm-start FILE.json`: the user's candidates, checked against the space."""

import json
import re

import optuna
import pytest

from inas.model.presets import PRESETS
from inas.space import count_points, load_space, sample, sample_many
from inas.space.dims import dimensions
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


def test_candidates_file_round_trips_a_studys_rows(tmp_path):
    """Rows as `inas trials --format json` writes them (other columns, nulls for modules a candidate
    lacks) come back as the values that rebuild each network."""
    from inas.space.warmstart import read_candidates

    space = load_space("googlenet_depth_width")
    drawn = sample_many(space, 4, seed=1)
    names = {spec.name for spec in dimensions(space)}
    rows = [{"number": i, "state": "complete", **dict.fromkeys(names), **c.params} for i, c in enumerate(drawn)]
    path = tmp_path / "front.json"
    path.write_text(json.dumps(rows))
    back = read_candidates(space, path)
    assert back == [c.params for c in drawn]
    assert [sample(space, optuna.trial.FixedTrial(p)).arch.hash() for p in back] == [c.arch.hash() for c in drawn]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{}", "not a non-empty JSON list"),
        ("[]", "not a non-empty JSON list"),
        ("[1]", "entry 0 is not an object of sampled values"),
        ('[{"depth.3": 9}]', "entry 0: depth.3 = 9 is not a value it offers (`inas space show googlenet_depth_width`"),
        ('[{"depth.3": "two"}]', "entry 0: depth.3 = 'two' is not a value it offers"),
        ('[{"depth.3": true}]', "entry 0: depth.3 = True is not a value it offers"),
        ('[{"depth.3": 1.5}]', "entry 0: depth.3 = 1.5 is not a value it offers"),
        ('[{"depth.3": 2}]', "entry 0 has no value for channels.3a.multiplier.c1"),
        ("[{", "not valid JSON"),
    ],
)
def test_a_bad_candidates_file_is_refused_in_one_line(tmp_path, content, message):
    from inas.errors import ConfigError
    from inas.space.warmstart import read_candidates

    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)) as e:
        read_candidates(load_space("googlenet_depth_width"), path)
    assert "\n" not in str(e.value)


def test_labelled_choices_come_back_as_the_sampler_stores_them(tmp_path):
    """A list choice (aux_heads: [4a, 4d]) is stored by its label, which `inas trials` writes; either
    form is read, and a whole-number float is read as the int it is."""
    from inas.space.warmstart import read_candidates

    space = load_space("googlenet_variants")
    drawn = sample_many(space, 6, seed=0)
    rows = [dict(c.params) for c in drawn]
    rows[0]["aux_heads"] = ["4a", "4d"]  # the list itself
    rows[1]["aux_heads"] = "4a+4d"  # its label
    path = tmp_path / "c.json"
    path.write_text(json.dumps(rows))
    back = read_candidates(space, path)
    assert back[0]["aux_heads"] == back[1]["aux_heads"] == "4a+4d"
    assert [sample(space, optuna.trial.FixedTrial(p)).arch.hash() for p in back[2:]] == [
        c.arch.hash() for c in drawn[2:]
    ]
    rows[0]["aux_heads"] = ["4a", "4d", "4d"]
    path.write_text(json.dumps(rows))
    with pytest.raises(Exception, match="aux_heads = .* is not a value it offers"):
        read_candidates(space, path)
    depth = load_space("googlenet_depth_width")
    one = dict(sample_many(depth, 1, seed=0)[0].params)
    one["depth.3"] = float(one["depth.3"])
    path.write_text(json.dumps([one]))
    assert read_candidates(depth, path)[0]["depth.3"] == int(one["depth.3"])


def test_a_candidates_file_must_be_a_small_regular_file(tmp_path):
    from inas.errors import ConfigError
    from inas.limits import MAX_FILE_BYTES
    from inas.space.warmstart import read_candidates

    space = load_space("googlenet_depth_width")
    with pytest.raises(ConfigError, match="no such file"):
        read_candidates(space, tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="not a regular file"):
        read_candidates(space, tmp_path)  # a folder
    big = tmp_path / "big.json"
    big.write_text("[" + " " * MAX_FILE_BYTES + "]")
    with pytest.raises(ConfigError, match="bytes, over the"):
        read_candidates(space, big)
