"""Opt-in checks on real CIFAR-10 images (JPEG, ImageFolder layout).

Run with INAS_REAL_DATA=1 (uses ../shared/data/cifar10-jpg.tar.gz beside the checkout) or
INAS_REAL_DATA=/path/to/cifar10-jpg.tar.gz; skipped otherwise, and when the file is absent.
"""

import dataclasses
import os
import tarfile
from pathlib import Path

import pytest
import torch

from inas.data import ImageData, load_dataset
from inas.model import ArchConfig, InceptionCfg, StageCfg
from inas.train import TrainRecipe, train
from inas.train.loop import normalisation


def tarball() -> Path | None:
    flag = os.environ.get("INAS_REAL_DATA", "")
    if not flag:
        return None
    path = Path(flag) if flag != "1" else Path(__file__).resolve().parents[3] / "shared/data/cifar10-jpg.tar.gz"
    return path if path.is_file() else None


pytestmark = pytest.mark.skipif(tarball() is None, reason="set INAS_REAL_DATA=1 with ../shared/data/cifar10-jpg.tar.gz")


@pytest.fixture(scope="module")
def cifar(tmp_path_factory) -> ImageData:
    folder = tmp_path_factory.mktemp("cifar10-jpg")
    with tarfile.open(tarball()) as tar:
        tar.extractall(folder, filter="data")
    return load_dataset(f"imagefolder:{folder}")


def test_cifar10_jpeg_loads(cifar):
    assert cifar.train_x.shape == (50_000, 3, 32, 32) and cifar.test_x.shape == (10_000, 3, 32, 32)
    assert cifar.classes[:3] == ("airplane", "automobile", "bird")
    assert torch.bincount(cifar.train_y).tolist() == [5000] * 10
    mean, _ = normalisation(cifar, TrainRecipe())  # a random sample of the training split, every class
    assert all(0.4 < m < 0.55 for m in mean)  # CIFAR-10's channel means are about 0.49, 0.48, 0.45


def test_a_small_network_learns_real_images(cifar):
    m = InceptionCfg(16, 16, 24, 4, 8, 8)
    arch = ArchConfig(stem="cifar", stages=(StageCfg((m,), downsample=False), StageCfg((m,))), num_classes=10)
    subset = dataclasses.replace(cifar, train_x=cifar.train_x[:6000], train_y=cifar.train_y[:6000])
    _, r = train(arch, TrainRecipe(epochs=2, batch_size=128, lr=0.1), subset, device="cpu", evaluate_test=False)
    assert r.status == "ok"
    assert r.val_top1 < 0.75  # chance is 0.9
