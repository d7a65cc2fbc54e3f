"""What the training tests share: a tiny network that trains in seconds, and its data."""

import pytest

from inas.data import synthetic
from inas.model import ArchConfig, BlockOptions, InceptionCfg, StageCfg

M = InceptionCfg(8, 8, 8, 4, 8, 8)
TINY = ArchConfig(
    stem="cifar",
    stages=(StageCfg((M,), downsample=False), StageCfg((M,))),
    block=BlockOptions(),
    num_classes=10,
    input_size=12,
)


@pytest.fixture(scope="module")
def data():
    return synthetic(n_train=320, n_test=60, size=12)
