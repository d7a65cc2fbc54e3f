import pytest

from inas.errors import SpaceError, UnknownNameError
from inas.space import list_spaces, load_space
from inas.space.registry import builtin_dir

BUILTIN = [
    "d2l_variants",
    "googlenet_channels",
    "googlenet_depth",
    "googlenet_depth_width",
    "googlenet_variants",
    "seed_variants",
]


def test_builtins_are_registered():
    assert list_spaces() == BUILTIN
    assert all((builtin_dir() / f"{name}.yaml").is_file() for name in BUILTIN)


def test_name_and_path_load_the_same_file():
    assert load_space("seed_variants") == load_space(str(builtin_dir() / "seed_variants.yaml"))


def test_unknown_name_lists_the_builtins():
    with pytest.raises(
        UnknownNameError,
        match="unknown search space .googlenet_dept.; choose one of: d2l_variants, googlenet_channels, googlenet_depth",
    ):
        load_space("googlenet_dept")


def test_missing_file():
    with pytest.raises(SpaceError, match="no such file"):
        load_space("nowhere/space.yaml")
