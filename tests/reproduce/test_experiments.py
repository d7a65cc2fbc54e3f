import pytest

from inas.errors import InasError
from inas.model.network import build, count_params
from inas.model.presets import get_preset
from inas.reproduce.experiments import SEED_TABLE, SEED_VARIANTS, choose, d2l, seed_table, study_name

EXACT = ("Naive", "GoogleNet", "Short", "Short2")  # the networks the seed gives enough to rebuild exactly


@pytest.mark.parametrize("label", EXACT)
def test_seed_table_params_match_our_presets(label):
    for dataset, classes in (("cifar100", 100), ("cifar10", 10)):
        expected = SEED_TABLE[dataset][label][2]
        if label == "Naive" and classes == 10:
            continue  # the seed's CIFAR-10 Naive count (65,291,098) is not the 100-class one less a head
        assert count_params(build(get_preset(SEED_VARIANTS[label], num_classes=classes))) == expected


def test_variants_are_chosen_by_name():
    assert choose("short4, GoogleNet", SEED_VARIANTS) == ["Short4", "GoogleNet"]
    assert choose(None, SEED_VARIANTS) == list(SEED_VARIANTS)
    with pytest.raises(InasError, match="unknown variant 'Short9'; choose from Naive, GoogleNet"):
        choose("Short9", SEED_VARIANTS)
    with pytest.raises(InasError, match="named twice"):
        choose("Short4,short4", SEED_VARIANTS)


def test_experiments():
    exp = seed_table("cifar100", "seed", "GoogleNet")
    assert exp.variants == {"GoogleNet": {"base": "seed/googlenet"}} and exp.batch_size == 64
    assert exp.recipe.optimizer == "adadelta" and exp.reference["GoogleNet"][0] == 0.34
    assert seed_table("svhn", "inas", None).reference == {}
    with pytest.raises(InasError, match="--recipe 'fast'"):
        seed_table("cifar10", "fast", None)
    exp = d2l("d2l", "plain,residual", 96)
    assert exp.variants["residual"]["block.residual"] is True and exp.variants["plain"]["block.norm"] == "none"
    assert exp.batch_size == 128 and exp.recipe.momentum == 0.0 and exp.image_size == 96
    assert study_name(exp, "imagefolder:/data/x", "d2l") == "d2l-imagefolder-data-x-d2l"
