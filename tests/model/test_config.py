import dataclasses
import json

import pytest
import torch

from inas.errors import ConfigError
from inas.model import PRESETS, ArchConfig, InceptionCfg, StageCfg, get_preset, min_input_size, spatial_sizes
from inas.model.config import accepts, aux_heads_at
from inas.model.stats import build_meta


@pytest.mark.parametrize("name", list(PRESETS))
def test_json_round_trip(name):
    cfg = get_preset(name)
    again = ArchConfig.from_json(cfg.to_json())
    assert again == cfg
    assert again.hash() == cfg.hash()


def test_hash_is_stable_and_distinguishes():
    a, b = get_preset("seed/googlenet", 10), get_preset("seed/googlenet", 10)
    assert a.hash() == b.hash() and len(a.hash()) == 12
    assert a.hash() != get_preset("seed/googlenet", 100).hash()
    assert a.hash() != dataclasses.replace(a, block=dataclasses.replace(a.block, residual=True)).hash()
    # Pinned so an accidental change of the serialised form (and so of every stored study) shows up.
    assert a.hash() == "67726db45386"


def test_naive_hash_ignores_unused_fields():
    cfg = get_preset("seed/naive")
    stages = tuple(
        dataclasses.replace(s, modules=tuple(dataclasses.replace(m, pool_proj=m.pool_proj + 1) for m in s.modules))
        for s in cfg.stages
    )
    assert dataclasses.replace(cfg, stages=stages).hash() == cfg.hash()


def bad(mutate) -> dict:
    d = get_preset("seed/googlenet").to_dict()
    mutate(d)
    return d


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(colour="red"), r"config\.colour: unknown key"),
        (lambda d: d.pop("stages"), r"config\.stages: missing"),
        (
            lambda d: d["block"].update(kernel5="7x7"),
            r"config\.block\.kernel5: unknown value '7x7'; choose one of 5x5, 3x3x2, 3x3",
        ),
        (lambda d: d["block"].update(residual="yes"), r"config\.block\.residual: must be true or false"),
        (
            lambda d: d["stages"][1]["modules"][0].__setitem__(0, 0),
            r"stages\[1\]\.modules\[0\]\.c1: must be a positive integer",
        ),
        (
            lambda d: d["stages"][1]["modules"][0].__setitem__(2, "x"),
            r"stages\[1\]\.modules\[0\]\.c3: must be a positive",
        ),
        (lambda d: d["stages"][1].update(modules=[]), r"stages\[1\]\.modules: a stage needs at least one module"),
        (lambda d: d["stages"][1]["modules"].__setitem__(0, [1, 2]), r"expected 6 channels"),
        (lambda d: d.update(stages=[]), r"config\.stages: a network needs at least one stage"),
        (lambda d: d.update(num_classes=0), r"config\.num_classes: must be a positive integer"),
        (lambda d: d.update(stem="resnet"), r"config\.stem: unknown value 'resnet'"),
        (lambda d: d["head"].update(dropout=1.5), r"config\.head\.dropout: must be a number in \[0, 1\)"),
        (lambda d: d.update(aux_heads=[{"stage": 5, "module": 0}]), r"aux_heads\[0\]\.stage: 5 is not a stage index"),
        (
            lambda d: d.update(aux_heads=[{"stage": 2, "module": 0}], input_size=16),
            r"aux_heads\[0\]: module 5a has 4x4 features at input 16, below the head's 5x5 pool; tap an earlier stage",
        ),
    ],
)
def test_bad_configs_name_the_key(mutate, message):
    with pytest.raises(ConfigError, match=message):
        ArchConfig.from_dict(bad(mutate))


def test_not_json():
    with pytest.raises(ConfigError, match="not valid JSON"):
        ArchConfig.from_json("{stem: cifar")


def test_spatial_sizes_follow_the_stems():
    assert spatial_sizes(get_preset("seed/googlenet"), 32) == [32, 16, 8]
    assert spatial_sizes(get_preset("d2l/googlenet"), 96) == [12, 6, 3]
    assert spatial_sizes(get_preset("paper/googlenet"), 224) == [28, 14, 7]


def test_min_input_size():
    # Every pool is padded: without auxiliary heads even a 1x1 image passes.
    assert min_input_size(get_preset("seed/googlenet")) == 1
    assert min_input_size(get_preset("d2l/googlenet")) == 1
    # The paper's heads pool 5x5/3 unpadded at stage 4, which is input/16.
    assert min_input_size(get_preset("paper/googlenet")) == 65


@pytest.mark.parametrize("name", ["paper/googlenet", "seed/googlenet", "d2l/googlenet"])
def test_min_input_size_agrees_with_pytorch(name):
    cfg = get_preset(name)
    model = build_meta(cfg).eval()  # eval: BatchNorm accepts a 1x1 batch of one
    smallest = min_input_size(cfg)
    for size in (smallest - 1, smallest):
        if size < 1:
            continue
        x = torch.empty(1, cfg.in_channels, size, size, device="meta")
        model._check = lambda x: None  # let PyTorch itself decide
        try:
            model.forward_train(x)
            ok = True
        except RuntimeError:
            ok = False
        assert ok == accepts(cfg, size) == (size >= smallest)


def test_aux_heads_at_clamps_to_stage_depth():
    heads = aux_heads_at(["4a", "4d"], (2, 2, 2))
    assert [(h.stage, h.module) for h in heads] == [(1, 0), (1, 1)]
    heads = aux_heads_at(["4a", "4d"], (2, 1, 2))
    assert [(h.stage, h.module) for h in heads] == [(1, 0)]


def test_module_names():
    cfg = ArchConfig(
        stem="cifar",
        stages=(StageCfg((InceptionCfg(1, 1, 1, 1, 1, 1),) * 2), StageCfg((InceptionCfg(1, 1, 1, 1, 1, 1),))),
    )
    assert cfg.module_names() == ["3a", "3b", "4a"]
    assert json.loads(cfg.to_json())["stages"][0]["modules"][0] == [1, 1, 1, 1, 1, 1]


def test_hash_ignores_number_spelling_and_head_order():
    cfg = get_preset("paper/googlenet")
    assert (
        dataclasses.replace(cfg, head=dataclasses.replace(cfg.head, dropout=0)).hash()
        == dataclasses.replace(cfg, head=dataclasses.replace(cfg.head, dropout=0.0)).hash()
    )
    assert dataclasses.replace(cfg, aux_heads=cfg.aux_heads[::-1]).hash() == cfg.hash()


def test_scale_width_keeps_depth_and_rounds_channels():
    from inas.model.config import scale_width

    cfg = get_preset("seed/googlenet")
    quarter = scale_width(cfg, 0.25)
    assert quarter.depths == cfg.depths and quarter.block == cfg.block
    assert quarter.stages[0].modules[0].as_tuple() == (16, 24, 32, 4, 8, 8)  # 3a: 64, 96, 128, 16, 32, 32
    assert all(c % 4 == 0 and c >= 4 for s in quarter.stages for m in s.modules for c in m.as_tuple())
    assert scale_width(cfg, 1.0) is cfg


def test_scale_module_widens_a_branch_with_its_reduction():
    from inas.model.config import scale_module

    m = InceptionCfg(64, 96, 128, 16, 32, 32)
    assert scale_module(m, {"c3": 0.5}, 8).as_tuple() == (64, 48, 64, 16, 32, 32)
    assert scale_module(m, {"c1": 0.01, "pool_proj": 1.5}, 8).as_tuple() == (8, 96, 128, 16, 32, 48)  # at least 8
    assert scale_module(m, {"c5": 1.0}, 1) == m


def test_module_names_parse_back_to_their_indices():
    from inas.model.config import module_name, parse_module_name

    assert parse_module_name("3a") == (0, 0) and parse_module_name("4e") == (1, 4)
    for stage in range(7):
        for module in range(30):  # past "z" too
            assert parse_module_name(module_name(stage, module)) == (stage, module)
