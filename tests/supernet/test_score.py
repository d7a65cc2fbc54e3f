"""Scoring a candidate: BatchNorm statistics estimated afresh on a sample of the training split, the
validation error of the candidate's inherited weights, in the memory format the device runs fastest."""

import dataclasses
import random

import pytest
import torch
from torch import nn

from inas.data.datasets import load_dataset, stratified_split
from inas.model.network import build
from inas.space.registry import load_space
from inas.supernet.layout import random_candidate, supernet_layout
from inas.supernet.net import Supernet
from inas.supernet.score import calibration_batches, recalibrated, score, scoring_data, validation_error
from inas.train.loop import training_sample
from inas.train.recipe import TrainRecipe

RECIPE = dataclasses.replace(TrainRecipe(), image_size=16, val_fraction=0.2, seed=3)


@pytest.fixture(scope="module")
def setting():
    torch.manual_seed(0)
    space = load_space("googlenet_depth_width")
    layout = supernet_layout(space, 10, 3, 0.125)
    supernet = Supernet(layout).eval()
    for p in supernet.parameters():
        p.data.normal_(0, 0.1)
    arch = layout.trained(random_candidate(space, random.Random(1), 10).arch)
    return supernet, arch, load_dataset("synthetic:100")


def test_the_calibration_sample_is_drawn_from_the_training_split_only(setting):
    _, _, data = setting
    val_idx, _ = stratified_split(data.train_y, RECIPE.val_fraction, RECIPE.seed)
    held_out = {data.train_x[i].numpy().tobytes() for i in val_idx}
    raw = dataclasses.replace(RECIPE, image_size=None)
    (batch,) = calibration_batches(data, raw, 32, "cpu", 30)
    assert batch.shape == (30, 3, 32, 32)
    # the same images again, and none of them a validation image (compared before normalisation)
    again = calibration_batches(data, raw, 32, "cpu", 30)[0]
    assert torch.equal(batch, again)
    picked = training_sample(data, RECIPE, 30, RECIPE.seed + 1)
    assert not {data.train_x[i].numpy().tobytes() for i in picked} & held_out


def test_recalibration_gives_the_statistics_the_standalone_network_gathers(setting):
    supernet, arch, data = setting
    calibration, _ = scoring_data(data, RECIPE, supernet.layout.widest, torch.device("cpu"), 40)
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    fresh = recalibrated(supernet, arch, calibration)
    after = supernet.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())  # the supernet's own left as they were
    net = build(arch)
    net.load_state_dict(supernet.inherit(arch))
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    net.train()
    with torch.no_grad():
        for x in calibration:
            net(x)
    own = net.state_dict()
    assert fresh and all(torch.allclose(v, own[k], atol=1e-5) for k, v in fresh.items())


def test_scoring_runs_channels_last_on_a_cpu_and_gives_the_contiguous_errors(setting):
    supernet, arch, data = setting
    calibration, val = scoring_data(data, RECIPE, supernet.layout.widest, torch.device("cpu"), 40)
    if torch.backends.mkldnn.is_available():
        assert all(x.is_contiguous(memory_format=torch.channels_last) for x in calibration)
    contiguous = [x.contiguous() for x in calibration]
    buffers = recalibrated(supernet, arch, calibration)
    for k, v in recalibrated(supernet, arch, contiguous).items():
        torch.testing.assert_close(buffers[k], v, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        for x, _ in val:
            torch.testing.assert_close(
                supernet(x, arch, buffers), supernet(x.contiguous(), arch, buffers), rtol=1e-4, atol=1e-4
            )
    top1, top5 = score(supernet, arch, calibration, val)
    assert (top1, top5) == validation_error(supernet, arch, val, buffers) and 0 <= top5 <= top1 <= 1
