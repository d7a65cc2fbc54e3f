import itertools

import pytest
import torch

from inas.errors import ConfigError, InputTooSmallError
from inas.model import (
    PRESETS,
    ArchConfig,
    AuxHeadCfg,
    BlockOptions,
    InceptionCfg,
    StageCfg,
    build,
    count_params,
    get_preset,
)
from inas.model.stats import build_meta
from tests.model.seed_reference import SeedGoogleNet, copy_weights, d2l_googlenet

COUNTS = [(name, classes, params) for name, p in PRESETS.items() for classes, params in p.params.items()]


@pytest.mark.parametrize(("name", "classes", "params"), COUNTS, ids=[f"{n}-{c}" for n, c, _ in COUNTS])
def test_preset_parameter_counts(name, classes, params):
    assert count_params(build_meta(get_preset(name, classes))) == params


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_declares_its_count_for_its_default_classes(name):
    p = PRESETS[name]
    assert p.config.num_classes in p.params


def test_seed_counts_the_issue_states():
    # The figures of the seed's table (seed 000/002) that a network of the paper's modules reaches exactly.
    assert PRESETS["seed/googlenet"].params == {100: 6_258_500, 10: 6_166_250}
    assert PRESETS["seed/naive"].params[100] == 65_736_148
    assert PRESETS["seed/short"].params[100] == 5_271_652
    assert PRESETS["seed/short2"].params[100] == 3_523_556
    assert PRESETS["d2l/googlenet"].params[10] == 5_977_530


def test_seed_googlenet_computes_the_seed_network():
    torch.manual_seed(0)
    ref = SeedGoogleNet(num_class=10).eval()
    ours = build(get_preset("seed/googlenet", 10)).eval()
    copy_weights(ref, ours)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=0)


def test_d2l_googlenet_computes_the_d2l_network():
    torch.manual_seed(0)
    ref = d2l_googlenet().eval()
    ours = build(get_preset("d2l/googlenet")).eval()
    copy_weights(ref, ours)
    x = torch.randn(2, 1, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=0)


def test_short_variants_drop_the_right_modules():
    names = lambda p: [n for n in dict(build_meta(get_preset(p)).features.named_children()) if n.startswith("inc")]  # noqa: E731
    assert names("seed/short") == [f"inception{m}" for m in ("3a", "3b", "4a", "4b", "4c", "5a", "5b")]
    cfg = get_preset("seed/short")
    assert [m.as_tuple() for m in cfg.stages[1].modules] == [
        (192, 96, 208, 16, 48, 64),  # 4a
        (112, 144, 288, 32, 64, 64),  # 4d
        (256, 160, 320, 32, 128, 128),  # 4e
    ]


def tiny(**block) -> ArchConfig:
    m = InceptionCfg(4, 3, 4, 2, 4, 4)
    return ArchConfig(
        stem="cifar",
        stages=(StageCfg((m, m), downsample=False), StageCfg((m,))),
        block=BlockOptions(**block),
        num_classes=5,
        input_size=8,
    )


OPTIONS = list(
    itertools.product(
        ("bottleneck", "naive"), ("5x5", "3x3x2", "3x3"), (False, True), ("all", "branch_end", "none"), (False, True)
    )
)


@pytest.mark.parametrize(("kind", "kernel5", "factorized", "norm", "residual"), OPTIONS)
def test_every_block_option_builds_and_runs(kind, kernel5, factorized, norm, residual):
    model = build(tiny(kind=kind, kernel5=kernel5, factorized=factorized, norm=norm, residual=residual))
    y = model(torch.randn(2, 3, 8, 8))
    assert y.shape == (2, 5)
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_kernel5_is_what_the_config_says():
    def kernels(kernel5, factorized=False):
        b3 = build(tiny(kernel5=kernel5, factorized=factorized)).features.inception3a.b3
        return [m.kernel_size for m in b3.modules() if isinstance(m, torch.nn.Conv2d)]

    assert kernels("5x5") == [(1, 1), (5, 5)]
    assert kernels("3x3x2") == [(1, 1), (3, 3), (3, 3)]
    assert kernels("3x3") == [(1, 1), (3, 3)]
    assert kernels("5x5", factorized=True) == [(1, 1), (1, 5), (5, 1)]


def test_naive_block_passes_pool_channels_through():
    model = build(tiny(kind="naive"))
    # 3 + 4 + 4 from convs, plus the 192 stem channels the pool passes on.
    assert model.features.inception3a.out_channels == 4 + 4 + 4 + 192


def test_residual_projects_only_where_channels_differ():
    model = build(tiny(residual=True))
    assert isinstance(model.features.inception3a.shortcut, torch.nn.Sequential)  # 192 -> 16
    assert isinstance(model.features.inception3b.shortcut, torch.nn.Identity)  # 16 -> 16


def test_batchnorm_placement():
    def bns(norm):
        return sum(isinstance(m, torch.nn.BatchNorm2d) for m in build(tiny(norm=norm)).features.inception3a.modules())

    assert bns("none") == 0
    assert bns("branch_end") == 4
    assert bns("all") == 7  # 1 + 2 + 3 + 1 convs


def test_aux_heads_only_in_training():
    cfg = get_preset("paper/googlenet", 10)
    model = build(cfg)
    x = torch.randn(2, 3, 96, 96)
    logits, aux = model.train().forward_train(x)
    assert logits.shape == (2, 10)
    assert set(aux) == {"inception4a", "inception4d"}
    assert all(a.shape == (2, 10) for a in aux.values())
    assert model.aux_weights == {"inception4a": 0.3, "inception4d": 0.3}
    assert model.eval()(x).shape == (2, 10)


def test_too_small_input_is_a_clear_error():
    model = build(get_preset("paper/googlenet", 10)).eval()
    with pytest.raises(InputTooSmallError, match="minimum of 65x65"):
        model(torch.randn(1, 3, 64, 64))
    assert model(torch.randn(1, 3, 65, 65)).shape == (1, 10)


def test_wrong_config_fails_before_any_tensor():
    bad = tiny()
    bad = ArchConfig(**{**bad.__dict__, "aux_heads": (AuxHeadCfg(stage=1, module=0),)})  # 8x8 input: 4x4 at stage 4
    with pytest.raises(ConfigError, match=r"aux_heads\[0\].*below the head's 5x5 pool"):
        build(bad)


def test_same_config_same_network():
    torch.manual_seed(1)
    a = build(get_preset("seed/short4"))
    torch.manual_seed(1)
    b = build(get_preset("seed/short4"))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
