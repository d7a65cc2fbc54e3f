"""A supernet's training step: the candidates each rule trains and what their gradients are."""

import dataclasses
import random

import pytest
import torch
import torch.nn.functional as F

from inas.data.datasets import load_dataset
from inas.space.registry import load_space
from inas.supernet.layout import largest, random_candidate, smallest, supernet_layout
from inas.supernet.net import Supernet
from inas.supernet.train import _sandwich_step, _uniform_step, soft_cross_entropy, train_supernet
from inas.train.precision import Numerics
from inas.train.recipe import TrainRecipe

RECIPE = dataclasses.replace(TrainRecipe(), label_smoothing=0.1)
FP32 = Numerics("fp32", "contiguous")


@pytest.fixture(scope="module")
def setting():
    torch.manual_seed(0)
    space = load_space("googlenet_depth_width")
    layout = supernet_layout(space, 10, 3, 0.125)
    rng = random.Random(0)
    archs = [layout.trained(random_candidate(space, rng, 10).arch) for _ in range(2)]
    big, small = (layout.trained(f(space, 10).arch) for f in (largest, smallest))
    x, y = torch.randn(6, 3, 16, 16), torch.randint(0, 10, (6,))
    return layout, archs, big, small, x, y


def fresh(layout) -> Supernet:
    torch.manual_seed(1)
    return Supernet(layout).train()


def grads(net: Supernet) -> dict[str, torch.Tensor]:
    return {k: p.grad.clone() for k, p in net.named_parameters() if p.grad is not None}


def close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6)


def test_uniform_trains_each_candidate_on_the_labels(setting):
    layout, archs, _, _, x, y = setting
    net = fresh(layout)
    loss, distilled = _uniform_step(net, archs, x, y, RECIPE, FP32)
    got = grads(net)
    ref, losses = fresh(layout), []
    for arch in archs:  # the same gradients, one candidate at a time
        one = F.cross_entropy(ref(x, arch), y, label_smoothing=0.1)
        one.backward()
        losses.append(one.item())
    close(got, grads(ref))
    assert loss.item() == pytest.approx(sum(losses) / 2, rel=1e-5) and distilled.item() == 0


def test_sandwich_distills_the_others_from_the_largest(setting):
    layout, archs, big, small, x, y = setting
    net = fresh(layout)
    loss, distilled = _sandwich_step(net, big, [small, *archs], x, y, RECIPE, FP32)
    got = grads(net)
    ref = fresh(layout)
    teacher = ref(x, big)
    F.cross_entropy(teacher, y, label_smoothing=0.1).backward()
    soft = F.softmax(teacher.detach(), dim=1)
    kds = []
    for arch in (small, *archs):
        kd = soft_cross_entropy(ref(x, arch), soft)
        kd.backward()
        kds.append(kd.item())
    close(got, grads(ref))
    assert distilled.item() == pytest.approx(sum(kds) / 3, rel=1e-5)
    # the largest is trained on every step: every tensor of the supernet has a gradient
    assert got.keys() == {k for k, _ in net.named_parameters()}


def test_an_unknown_rule_is_refused(setting):
    layout = setting[0]
    data = load_dataset("synthetic:20")
    with pytest.raises(ValueError, match="rule 'spos'"):
        train_supernet(layout, dataclasses.replace(RECIPE, epochs=1), data, rule="spos")
