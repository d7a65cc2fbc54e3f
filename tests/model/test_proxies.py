"""Zero-cost proxies: defined scores, the model left as it was."""

import math

import torch

from inas.model.config import scale_width
from inas.model.network import build
from inas.model.presets import get_preset
from inas.model.proxies import naswot, synflow


def small(width: float = 0.125):
    torch.manual_seed(0)
    return build(scale_width(get_preset("seed/short4"), width))


def test_naswot_tells_distinct_images_apart_and_leaves_the_model_alone():
    model = small()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = torch.randn(16, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    score = naswot(model, images)
    assert math.isfinite(score) and score > 0
    # Identical images share every activation code: the kernel is singular.
    assert naswot(model, images[:1].expand(16, -1, -1, -1).contiguous()) == -math.inf
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_synflow_is_positive_and_grows_with_width():
    narrow, wide = synflow(small(0.125), (3, 16, 16)), synflow(small(0.25), (3, 16, 16))
    assert 0 < narrow < wide
