"""The supernet is exact: a candidate built stand-alone with the weights it inherits is the supernet
run in that configuration, and holds exactly the parameters `measure` counts."""

import random

import pytest
import torch

from inas.errors import SpaceError
from inas.model.network import build
from inas.model.stats import measure
from inas.space.registry import list_spaces, load_space
from inas.supernet.layout import largest, random_candidate, smallest, supernet_layout
from inas.supernet.net import Supernet, input_index


def _held_spaces():
    held = []
    for name in list_spaces():
        try:
            supernet_layout(load_space(name), 10, 3)
        except SpaceError:
            continue
        held.append(name)
    return held


HELD = _held_spaces()


def test_the_builtin_depth_and_width_spaces_are_held():
    assert {"googlenet_depth", "googlenet_channels", "googlenet_depth_width"} <= set(HELD)


@pytest.mark.parametrize("name", HELD)
@pytest.mark.parametrize("width", [1.0, 0.25])
def test_inherited_weights_give_the_supernets_logits_and_params(name, width):
    torch.manual_seed(0)
    space = load_space(name)
    layout = supernet_layout(space, 10, 3, width)
    supernet = Supernet(layout).eval()
    for p in supernet.parameters():  # not the init's: every value distinct, so a wrong cut shows
        p.data.normal_(0, 0.1)
    for b in supernet.buffers():
        if b.dtype.is_floating_point:
            b.uniform_(0.5, 1.5)
    rng = random.Random(name)
    archs = [
        largest(space, 10).arch,
        smallest(space, 10).arch,
        *(random_candidate(space, rng, 10).arch for _ in range(3)),
    ]
    x = torch.randn(2, 3, 16, 16)
    for full in archs:
        arch = layout.trained(full)
        net = build(arch).eval()
        net.load_state_dict(supernet.inherit(arch))  # strict: every tensor, each of its shape
        with torch.no_grad():
            torch.testing.assert_close(net(x), supernet(x, arch), rtol=0, atol=1e-5)
        inherited = supernet.inherit(arch, buffers=False)
        assert sum(t.numel() for t in inherited.values()) == measure(arch).params


def test_gradients_reach_only_the_channels_a_candidate_uses():
    space = load_space("googlenet_depth")
    layout = supernet_layout(space, 10, 3, 0.25)
    supernet = Supernet(layout)
    arch = layout.trained(smallest(space, 10).arch)
    supernet(torch.randn(2, 3, 16, 16), arch).sum().backward()
    fc = supernet.net.fc.weight.grad
    used = input_index(
        layout.head,
        (
            arch.stages[-1].modules[-1].c1,
            arch.stages[-1].modules[-1].c3,
            arch.stages[-1].modules[-1].c5,
            arch.stages[-1].modules[-1].pool_proj,
        ),
    )
    unused = torch.ones(fc.shape[1], dtype=torch.bool)
    unused[used] = False
    assert fc[:, used].abs().sum() > 0
    assert fc[:, unused].abs().sum() == 0
    deep = supernet.net.features.inception4g  # past the smallest candidate's depth
    assert all(p.grad is None for p in deep.parameters())


def test_a_stage_first_module_takes_the_widest_predecessor_branch_by_branch():
    space = load_space("googlenet_depth")  # stage 4 ends in 4a (192 1x1) up to 4g (4e's tuple: 256)
    layout = supernet_layout(space, 10, 3)
    first_of_5 = layout.inputs[2][0]
    assert first_of_5 == (256, 320, 128, 128)  # 4e's widths, the widest of 4a..4g branch by branch
    assert layout.inputs[0][0] == (192,)  # the stem


def test_input_index_lays_branches_out_at_their_offsets():
    assert input_index((4, 6, 2), (2, 3, 1)).tolist() == [0, 1, 4, 5, 6, 10]
    with pytest.raises(ValueError, match="does not fit"):
        input_index((4, 6), (5, 1))
