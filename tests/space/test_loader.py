import shutil
import textwrap

import pytest

from inas.errors import ConfigError, SpaceError
from inas.limits import MAX_NAME_CHARS
from inas.space import count_points, dimensions, load_space, sample_many
from inas.space.registry import builtin_dir
from inas.study.storage import check_study_name
from tests.space.test_registry import BUILTIN


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_loads(name):
    space = load_space(name)
    assert space.name == name
    assert space.description
    assert count_points(space) >= 1
    assert [d.name for d in dimensions(space)][0] == "base"


def test_point_counts():
    assert count_points(load_space("googlenet_depth")) == 3 * 7 * 3
    assert count_points(load_space("seed_variants")) == 7
    assert count_points(load_space("googlenet_variants")) == 2 * 3 * 2 * 2 * 3 * 2 * 2
    assert count_points(load_space("googlenet_channels")) == 5 ** (9 * 4)


def test_users_file_works_like_a_builtin(tmp_path):
    copy = tmp_path / "mine.yaml"
    shutil.copy(builtin_dir() / "googlenet_depth.yaml", copy)
    mine, builtin = load_space(str(copy)), load_space("googlenet_depth")
    assert mine.source == str(copy)
    assert [d.name for d in dimensions(mine)] == [d.name for d in dimensions(builtin)]
    assert [c.arch for c in sample_many(mine, 5, seed=3)] == [c.arch for c in sample_many(builtin, 5, seed=3)]


def write(tmp_path, text: str):
    path = tmp_path / "space.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


GOOD = """\
name: s
base: seed/googlenet
"""

BAD = [
    (GOOD + "colour: red\n", r"colour: unknown key; valid keys are name, description, base"),
    ("base: seed/googlenet\n", r"name: missing; add `name:`"),
    (
        GOOD + "depth: {4: {low: 0, high: 3}}\n",
        r"depth\.4\.low: must be at least 1 \(a stage needs at least one module\), got 0",
    ),
    (GOOD + "depth: {4: 0}\n", r"depth\.4: must be at least 1"),
    (GOOD + "depth: {4: {low: 5, high: 3}}\n", r"depth\.4: low \(5\) is above high \(3\); swap them"),
    (GOOD + "depth: {4: {low: one, high: 3}}\n", r"depth\.4\.low: must be a number"),
    (
        GOOD + "depth: {4: {low: 1, high: 3, step: 0.5}}\n",
        r"depth\.4: this value is a whole number: give integer low, high and step",
    ),
    (GOOD + "depth: {3: 2, stage3: 1}\n", r"depth\.stage3: stage 3 is given twice; keep one entry"),
    (GOOD + "recipe: {momentum: {low: -1, high: 0.9}}\n", r"recipe\.momentum\.low: must be a number >= 0"),
    (
        GOOD + "recipe: {epochs: {low: 5, high: 20}}\n",
        r"recipe\.epochs: is fixed by the search .*remove it from the space",
    ),
    (GOOD + "recipe: {val_fraction: 0.2}\n", r"recipe\.val_fraction: is fixed by the search"),
    (GOOD + "channels: {multiplier: .nan}\n", r"channels\.multiplier: must be a positive number, got nan"),
    (
        GOOD + "channels: {multiplier: {low: 0.5, high: .inf}}\n",
        r"channels\.multiplier\.high: must be a number, got inf",
    ),
    (GOOD + "head: {dropout: {choices: [0, 0.0]}}\n", r"head\.dropout\.choices: a value is listed twice"),
    ("name: s\nbase: paper/googlenet\ninput_size: 64\n", r"input_size: 4a\+4d: .*4x4 features at input 64"),
    (GOOD + "depth: {2: 3}\n", r"depth\.2: stages are numbered from 3"),
    (GOOD + "depth: {6: 3}\n", r"depth\.6: base seed/googlenet has stages 3\.\.5; remove this stage"),
    (
        GOOD + "block: {kernel5: {choices: []}}\n",
        r"block\.kernel5\.choices: empty choice list; give at least one value",
    ),
    (
        GOOD + "block: {kernel5: {choices: [5x5, 7x7]}}\n",
        r"block\.kernel5\.choices\[1\]: unknown value '7x7'; choose one of 5x5, 3x3x2, 3x3",
    ),
    (GOOD + "block: {norm: sometimes}\n", r"block\.norm: unknown value 'sometimes'"),
    (GOOD + "block: {residual: {choices: [yes, 1]}}\n", r"block\.residual\.choices\[1\]: must be true or false, got 1"),
    (
        GOOD + "block: {kernel: 5x5}\n",
        r"block\.kernel: unknown key; valid keys are kind, kernel5, norm, factorized, residual",
    ),
    (GOOD + "block: {kernel5: {choices: 5x5}}\n", r"block\.kernel5\.choices: expected a list of values, got a string"),
    (
        GOOD + "channels: {tuples: {3a: {choices: [[64, 0, 128, 16, 32, 32]]}}}\n",
        r"channels\.tuples\.3a\.choices\[0\]: channels must be at least 1",
    ),
    (
        GOOD + "channels: {tuples: {3a: {choices: [[64, -96, 128, 16, 32, 32]]}}}\n",
        r"channels\.tuples\.3a\.choices\[0\]\.c3_reduce: must be a positive integer",
    ),
    (
        GOOD + "channels: {tuples: {3a: {choices: [[64, 96]]}}}\n",
        r"channels\.tuples\.3a\.choices\[0\]: expected 6 channels",
    ),
    (
        GOOD + "channels: {multiplier: {choices: [0.5, 0]}}\n",
        r"channels\.multiplier\.choices\[1\]: must be a positive number, got 0",
    ),
    (
        GOOD + "channels: {multiplier: {low: 0.5, high: 2}, scope: everywhere}\n",
        r"channels\.scope: unknown value 'everywhere'; choose one of module, stage, network",
    ),
    (GOOD + "head: {dropout: {choices: [0.2, 1.2]}}\n", r"head\.dropout\.choices\[1\]: must be a number in \[0, 1\)"),
    (GOOD + "aux_heads: [4x]\n", r"aux_heads: module 4x: stage 4 has at most 5 modules here \(4a\.\.4e\)"),
    (GOOD + "aux_heads: [four]\n", r"aux_heads\[0\]: 'four' is not a module name; write stage and letter, like 4a"),
    (
        GOOD + "channels: {tuples: {5c: [8, 8, 8, 8, 8, 8]}}\n",
        r"channels\.tuples\.5c: module 5c: stage 5 has at most 2 modules",
    ),
    (GOOD + "aux_heads: [6a]\n", r"aux_heads: module 6a: no base of this space has a stage 6"),
    (GOOD + "input_size: 8\naux_heads: [4a]\n", r"aux_heads: 4a: .*4x4 features at input 8, below the head's 5x5 pool"),
    (GOOD + "input_size: 0\n", r"input_size: must be at least 1"),
    (
        GOOD + "recipe: {lr: {choices: [0.1, -1]}}\n",
        r"recipe\.lr\.choices\[1\]: must be a positive number, got -1 \(the recipe.s default is 0\.1\)",
    ),
    (GOOD + "recipe: {momentun: 0.9}\n", r"recipe\.momentun: unknown key; valid keys are optimizer, lr, momentum"),
    ("name: s\nbase: seed/resnet\n", r"base: unknown preset 'seed/resnet'; choose one of seed/googlenet"),
    ("name: s\nbase: {low: 1, high: 2}\n", r"base\.low: unknown preset 1"),
    ("name: [s]\nbase: seed/googlenet\n", r"name: must be a word"),
    (
        "name: .s\nbase: seed/googlenet\n",
        r"name: must be a word .* starting with a letter or digit .*; rename the space",
    ),
    ("name: -s\nbase: seed/googlenet\n", r"name: must be a word .*, got '-s'; rename the space"),
    ("- just\n- a list\n", r"expected a mapping"),
    ("name: s\nbase: seed/googlenet\ndepth: {4: {low: 1\n", r"not valid YAML at line"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_bad_space_names_file_key_and_fix(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SpaceError, match=message) as err:
        load_space(path)
    assert str(err.value).startswith(path), "the message names the file first"
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "name", ["s", "a.b-c_1", "9", ".s", "-s", "_s", "a" * MAX_NAME_CHARS, "a" * (MAX_NAME_CHARS + 1)]
)
def test_a_space_loads_exactly_when_its_name_can_name_a_study(tmp_path, name):
    path = write(tmp_path, f"name: '{name}'\nbase: seed/googlenet\n")
    try:
        check_study_name(name)
    except ConfigError:
        with pytest.raises(SpaceError, match=r"name: must be a word"):
            load_space(path)
    else:
        assert load_space(path).name == name


def test_d2l_variants_space():
    space = load_space("d2l_variants")
    assert count_points(space) == 16 and space.base.value == "d2l/googlenet"
