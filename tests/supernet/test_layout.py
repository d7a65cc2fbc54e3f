"""Which spaces a supernet holds, and the candidates the sandwich rule trains."""

import dataclasses
import random

import pytest

from inas.errors import SpaceError
from inas.space.registry import load_space
from inas.space.schema import Dim
from inas.supernet.layout import largest, random_candidate, refuse_dimensions, smallest, supernet_layout


@pytest.mark.parametrize(
    "change, named",
    [
        (dict(block={"kernel5": Dim("categorical", choices=("5x5", "3x3"))}), "block.kernel5"),
        (dict(block={"residual": Dim("fixed", value=True)}), "block.residual"),
        (dict(block={"kind": Dim("fixed", value="naive")}), "block.kind"),
        (dict(head={"dropout": Dim("categorical", choices=(0.2, 0.4))}), "head.dropout"),
        (dict(recipe={"lr": Dim("categorical", choices=(0.1, 0.2))}), "recipe.lr"),
        (dict(base=Dim("categorical", choices=("seed/googlenet", "seed/short"))), "base"),
        (dict(aux_heads=Dim("categorical", choices=((), ("4a",)))), "aux_heads"),
    ],
)
def test_a_space_it_cannot_hold_is_refused_naming_the_dimension(change, named):
    space = dataclasses.replace(load_space("googlenet_depth"), **change)
    with pytest.raises(SpaceError, match=rf"googlenet_depth: {named}:.*depths and branch widths"):
        refuse_dimensions(space)


def test_builtin_spaces_with_block_options_are_refused():
    with pytest.raises(SpaceError, match="varies"):
        supernet_layout(load_space("seed_variants"), 10, 3)


def test_largest_and_smallest_bound_every_random_candidate():
    space = load_space("googlenet_depth_width")
    big, small = largest(space, 10).arch, smallest(space, 10).arch
    assert big.depths == (3, 5, 2) and small.depths == (1, 1, 1)
    widest = supernet_layout(space, 10, 3).widest
    rng = random.Random(0)
    for _ in range(20):
        arch = random_candidate(space, rng, 10).arch
        for i, stage in enumerate(arch.stages):
            assert small.depths[i] <= len(stage.modules) <= big.depths[i]
            for j, m in enumerate(stage.modules):
                assert all(a <= b for a, b in zip(m.as_tuple(), widest.stages[i].modules[j].as_tuple(), strict=True))


def test_random_candidates_are_reproducible():
    space = load_space("googlenet_depth_width")
    a = [random_candidate(space, random.Random(3), 10).params for _ in range(2)]
    assert a[0] == a[1]
