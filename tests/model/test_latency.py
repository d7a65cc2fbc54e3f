"""Latency: a median of timed passes, larger for a larger batch."""

import torch

from inas.model.config import scale_width
from inas.model.latency import latency_ms
from inas.model.network import build
from inas.model.presets import get_preset


def test_latency_grows_with_the_batch_and_leaves_eval_mode():
    model = build(scale_width(get_preset("seed/short4"), 0.25))
    one = latency_ms(model, (1, 3, 32, 32), torch.device("cpu"), repeats=5)
    many = latency_ms(model, (64, 3, 32, 32), torch.device("cpu"), repeats=5)
    assert 0 < one < many and not model.training
