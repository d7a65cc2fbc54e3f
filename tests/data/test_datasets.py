"""Datasets load offline from files written in the real formats (the download code stays real)."""

import pickle
import struct
import urllib.error

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from inas.data import load_dataset, stratified_split, synthetic
from inas.errors import DataError, UnknownNameError


def write_cifar(root, n_per_batch=6, hundred=False):
    rng = np.random.default_rng(0)
    folder = root / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    label_key = "fine_labels" if hundred else "labels"
    files = ["train", "test"] if hundred else [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]
    for name in files:
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, label_key: list(rng.integers(0, 10, n_per_batch))}, f)
    meta_key, meta_file = ("fine_label_names", "meta") if hundred else ("label_names", "batches.meta")
    with open(folder / meta_file, "wb") as f:
        pickle.dump({meta_key: [f"c{i}" for i in range(100 if hundred else 10)]}, f)
    return folder


@pytest.fixture
def no_md5(monkeypatch):
    # Our files hold the real format but not the real bytes, so torchvision's md5 check cannot pass.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kwargs: True)


@pytest.mark.parametrize("hundred", [False, True])
def test_cifar_real_format(tmp_path, no_md5, hundred):
    folder = write_cifar(tmp_path, hundred=hundred)
    data = load_dataset("cifar100" if hundred else "cifar10", data_dir=tmp_path)
    n_train = 6 if hundred else 30
    assert data.train_x.shape == (n_train, 3, 32, 32) and data.train_x.dtype == torch.uint8
    assert data.test_x.shape == (6, 3, 32, 32)
    assert data.num_classes == (100 if hundred else 10)
    # Pixel layout: CIFAR rows are 1024 red, then green, then blue values, row-major.
    with open(folder / ("train" if hundred else "data_batch_1"), "rb") as f:
        first = pickle.load(f)["data"][0]
    assert torch.equal(data.train_x[0], torch.from_numpy(first.reshape(3, 32, 32)))
    # Pointing --data-dir at the batches folder itself works too.
    assert load_dataset("cifar100" if hundred else "cifar10", data_dir=folder).train_x.shape[0] == n_train


def idx(path, array):
    magic = {3: 0x0803, 1: 0x0801}[array.ndim]
    path.write_bytes(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes())


@pytest.mark.parametrize(("name", "folder"), [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_real_format(tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 12), ("t10k", 4)):
        idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        idx(raw / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    data = load_dataset(name, data_dir=tmp_path)
    assert data.train_x.shape == (12, 1, 28, 28) and data.test_x.shape == (4, 1, 28, 28)
    assert data.num_classes == 10 and data.channels == 1


def test_offline_download_is_a_clear_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.datasets.cifar, "download_and_extract_archive", offline)
    with pytest.raises(
        DataError, match=r"cifar10 is not in .* could not be downloaded .*--data-dir.*imagefolder:PATH.*synthetic"
    ):
        load_dataset("cifar10", data_dir=tmp_path)


def write_images(folder, classes=("cat", "dog"), n=5, size=8):
    for c in classes:
        (folder / c).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((size, size, 3), 25 * i, dtype=np.uint8)).save(folder / c / f"{i}.png")


def test_imagefolder_with_train_and_test(tmp_path):
    write_images(tmp_path / "train")
    write_images(tmp_path / "test", n=2)
    data = load_dataset(f"imagefolder:{tmp_path}")
    assert data.classes == ("cat", "dog")
    assert data.train_x.shape == (10, 3, 8, 8) and data.test_x.shape == (4, 3, 8, 8)
    assert data.train_y.tolist() == [0] * 5 + [1] * 5


def test_imagefolder_split_by_seed(tmp_path):
    write_images(tmp_path, n=10)
    data = load_dataset(f"imagefolder:{tmp_path}")
    assert len(data.train_y) == 16 and len(data.test_y) == 4
    assert data.test_y.tolist().count(0) == 2


def test_imagefolder_reads_pixels_and_mixed_sizes(tmp_path):
    write_images(tmp_path / "train", n=3)
    write_images(tmp_path / "test", n=1, size=16)  # resized to the common size of its folder
    Image.fromarray(np.full((4, 4, 3), 7, dtype=np.uint8)).save(tmp_path / "train" / "cat" / "small.png")
    data = load_dataset(f"imagefolder:{tmp_path}")
    assert data.train_x.shape == (7, 3, 8, 8)
    assert data.train_x[1].unique().tolist() == [25]
    (tmp_path / "train" / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png: cannot decode"):
        load_dataset(f"imagefolder:{tmp_path}")


def test_imagefolder_errors(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_dataset(f"imagefolder:{tmp_path / 'none'}")
    write_images(tmp_path / "train")
    with pytest.raises(DataError, match="has train/ but no test/"):
        load_dataset(f"imagefolder:{tmp_path}")


def test_unknown_dataset():
    with pytest.raises(UnknownNameError, match="unknown dataset 'cifar11'; choose one of: cifar10, cifar100"):
        load_dataset("cifar11")
    with pytest.raises(DataError, match="synthetic:2000"):
        load_dataset("synthetic:lots")


def test_synthetic_is_deterministic_and_balanced():
    a, b = synthetic(100, 20), synthetic(100, 20)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    assert torch.bincount(a.train_y).tolist() == [10] * 10
    assert load_dataset("synthetic:300").train_x.shape == (300, 3, 32, 32)


def test_stratified_split():
    labels = torch.arange(100) % 4
    held, kept = stratified_split(labels, 0.2, seed=3)
    assert len(held) == 20 and len(kept) == 80
    assert torch.bincount(labels[held]).tolist() == [5, 5, 5, 5]
    assert sorted(torch.cat([held, kept]).tolist()) == list(range(100))
    assert torch.equal(held, stratified_split(labels, 0.2, seed=3)[0])
    assert not torch.equal(held, stratified_split(labels, 0.2, seed=4)[0])
    held, _ = stratified_split(torch.arange(20) % 10, 0.1, seed=0)  # 2 a class: rounds to 0, kept at 1
    assert len(held) == 10


def test_imagefolder_decodes_once_and_notices_changes(tmp_path, monkeypatch):
    import PIL.Image

    opened = []
    real_open = PIL.Image.open
    monkeypatch.setattr(PIL.Image, "open", lambda f, *a, **k: opened.append(f) or real_open(f, *a, **k))
    write_images(tmp_path, n=4)
    first = load_dataset(f"imagefolder:{tmp_path}")
    assert len(opened) == 8
    again = load_dataset(f"imagefolder:{tmp_path}")
    assert len(opened) == 8 and torch.equal(again.train_x, first.train_x)  # from the cache: nothing decoded
    for c in ("cat", "dog"):  # new contents: the cache of the old ones is not read
        for i in range(4):
            Image.fromarray(np.full((8, 8, 3), 200, dtype=np.uint8)).save(tmp_path / c / f"{i}.png")
    changed = load_dataset(f"imagefolder:{tmp_path}")
    assert len(opened) == 16 and changed.train_x.unique().tolist() == [200]


def test_head_keeps_the_first_images_and_the_rest_of_the_dataset():
    data = load_dataset("synthetic:100")
    head = data.head(30, 5)
    assert (len(head.train_y), len(head.test_y)) == (30, 5)
    assert torch.equal(head.train_x, data.train_x[:30]) and torch.equal(head.test_y, data.test_y[:5])
    assert (head.name, head.classes) == (data.name, data.classes)
