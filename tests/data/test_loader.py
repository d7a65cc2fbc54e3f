import pytest
import torch

from inas.data import DeviceLoader
from inas.data.loader import random_crop


def loader(**kw):
    x = torch.arange(10 * 3 * 4 * 4, dtype=torch.int64).remainder(256).to(torch.uint8).view(10, 3, 4, 4)
    y = torch.arange(10)
    args = dict(batch_size=4, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    return DeviceLoader(x, y, **{**args, **kw})


def test_batches_and_lengths():
    assert len(loader()) == 3 and [len(y) for _, y in loader()] == [4, 4, 2]
    dl = loader(drop_last=True)
    assert len(dl) == 2 and dl.num_images == 8
    assert sorted(torch.cat([y for _, y in loader(shuffle=True)]).tolist()) == list(range(10))


def test_normalisation():
    x, _ = next(iter(loader()))
    raw = torch.arange(4 * 48).remainder(256).view(4, 3, 4, 4).float()
    torch.testing.assert_close(x, (raw / 255 - 0.5) / 0.25)


def test_seeded_epochs():
    a, b = loader(shuffle=True, augment="crop_flip", seed=1), loader(shuffle=True, augment="crop_flip", seed=1)
    first = [x for x, _ in a]
    assert all(torch.equal(p, q) for p, q in zip(first, (x for x, _ in b), strict=True))
    a.set_epoch(1)
    assert not all(torch.equal(p, q) for p, q in zip(first, (x for x, _ in a), strict=True))


def test_random_crop_matches_slicing():
    x = torch.randint(0, 255, (3, 2, 5, 5), dtype=torch.uint8)
    dy, dx = torch.tensor([0, 2, 4]), torch.tensor([4, 1, 0])
    out = random_crop(x, 2, dy, dx)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(3):
        assert torch.equal(out[i], padded[i, :, dy[i] : dy[i] + 5, dx[i] : dx[i] + 5])


def test_flip_only_mirrors():
    x = torch.randint(0, 255, (64, 1, 4, 4), dtype=torch.uint8)
    dl = DeviceLoader(x, torch.zeros(64), batch_size=64, mean=(0.0,), std=(1 / 255,), augment="flip")
    out, _ = next(iter(dl))
    flipped = [torch.equal(o, x[i].float().flip(2)) for i, o in enumerate(out) if not torch.equal(o, x[i].float())]
    assert all(flipped) and 10 < len(flipped) < 54


def test_resize_and_channels_last():
    x, _ = next(iter(loader(size=9, channels_last=True)))
    assert x.shape == (4, 3, 9, 9) and x.is_contiguous(memory_format=torch.channels_last)


def test_bad_augment():
    with pytest.raises(ValueError, match="augment must be one of"):
        loader(augment="mixup")
