import pytest
import torch

from inas.errors import InputTooSmallError
from inas.model import BlockOptions, InceptionCfg, build, count_macs, get_preset, measure
from inas.model.blocks import Inception, conv_unit


def test_seed004_naive_5x5_macs():
    # (28 x 28 x 5 x 5) x 192 x 32 = 120,422,400
    x = torch.empty(1, 192, 28, 28, device="meta")
    with torch.device("meta"):
        conv = conv_unit(192, 32, 5, norm=False)
    assert count_macs(conv, x) == 120_422_400


def test_seed004_bottleneck_branch_macs():
    # 1x1 to 16 then 5x5 to 32: 2,408,448 + 10,035,200, measured on inas's own "5x5" branch.
    x = torch.empty(1, 192, 28, 28, device="meta")
    with torch.device("meta"):
        block = Inception(192, InceptionCfg(64, 96, 128, 16, 32, 32), BlockOptions(kernel5="5x5", norm="none"))
    reduce, conv5 = block.b3
    assert count_macs(reduce, x) == 2_408_448
    assert count_macs(conv5, reduce(x)) == 10_035_200
    assert count_macs(block.b3, x) == 2_408_448 + 10_035_200


def test_inception3a_macs_by_hand():
    stats = measure(get_preset("seed/googlenet", 10))
    hw = 32 * 32
    expected = hw * (
        192 * 64  # 1x1
        + 192 * 96
        + 9 * 96 * 128  # 1x1 reduce, 3x3
        + 192 * 16
        + 9 * 16 * 32
        + 9 * 32 * 32  # 1x1 reduce, two 3x3
        + 192 * 32  # pool projection
    )
    module = {m.name: m for m in stats.modules}["inception3a"]
    assert module.macs == expected
    assert module.output_shape == (1, 256, 32, 32)


def test_seed_googlenet_totals():
    stats = measure(get_preset("seed/googlenet", 10))
    assert stats.params == 6_166_250
    assert round(2 * stats.macs / 1e9, 2) == 3.04  # 3.04 GFLOP a forward image, as measured on the H100
    assert stats.output_shape == (1, 10)
    assert stats.min_input_size == 1
    assert stats.stage_sizes == (32, 16, 8)
    assert sum(m.macs for m in stats.modules) == stats.macs
    assert sum(m.params for m in stats.modules) == stats.params_inference == stats.params


def test_aux_heads_count_in_params_not_in_inference():
    stats = measure(get_preset("paper/googlenet"))
    assert stats.params == 13_378_280
    assert stats.params_inference == 6_998_552  # the paper network's well-known count
    assert stats.min_input_size == 65


def test_measure_at_other_sizes():
    stats = measure(get_preset("seed/googlenet", 10), input_size=64)
    assert stats.stage_sizes == (64, 32, 16)
    assert stats.macs == 4 * measure(get_preset("seed/googlenet", 10)).macs - 4 * 1024 * 10 + 1024 * 10
    with pytest.raises(InputTooSmallError, match="--input-size 64 is below this network's minimum of 65"):
        measure(get_preset("paper/googlenet"), input_size=64)


@pytest.mark.parametrize("name", ["seed/googlenet", "d2l/googlenet-bn", "seed/naive"])
def test_macs_equal_a_real_forward_with_batchnorm(name):
    # measure() counts on a BatchNorm-free twin for speed; the count must equal the real network's.
    cfg = get_preset(name, 10)
    model = build(cfg).eval()
    with torch.no_grad():
        real = count_macs(model, torch.randn(1, cfg.in_channels, cfg.input_size, cfg.input_size))
    assert measure(cfg).macs == real
