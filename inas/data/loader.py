"""A device-resident loader: the images live on the device as uint8; batches are cropped, flipped,
resized and normalised there, with no per-sample Python and no worker processes.

Random choices come from a CPU generator seeded per epoch, so a seeded run draws the same batches and
augmentations on any device.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from inas.data.augment import AUGMENTS
from inas.errors import shown


def random_crop(x: torch.Tensor, pad: int, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Crop each image of `x` (N x C x H x W) at offset (dy, dx) of its zero-padded copy."""
    n, _, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # N x H x 1
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]  # N x 1 x W
    out = xp.permute(0, 2, 3, 1)[torch.arange(n, device=x.device)[:, None, None], rows, cols]  # N x H x W x C
    return out.permute(0, 3, 1, 2)


def to_input(x: torch.Tensor, size: int, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 images (N x C x H x W) as the network takes them: float, resized to size x size
    (bilinear, antialiased), normalised by `mean` and `std` given in 0..255 units (N x C x 1 x 1)."""
    x = x.float()
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return (x - mean) / std


class DeviceLoader:
    """Batches of (normalised float images, labels) from uint8 tensors kept on `device`."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        batch_size: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        device: torch.device | str = "cpu",
        size: int | None = None,
        augment: str = "none",
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        channels_last: bool = False,
    ):
        if augment not in AUGMENTS:
            raise ValueError(f"augment must be one of {AUGMENTS}, got {shown(augment)}")
        self.device = torch.device(device)
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
        self.batch_size = batch_size
        self.size = size or int(images.shape[-1])
        self.augment = augment
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0
        self.channels_last = channels_last
        self.mean = torch.tensor(mean, device=self.device).view(1, -1, 1, 1) * 255
        self.std = torch.tensor(std, device=self.device).view(1, -1, 1, 1) * 255

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_images(self) -> int:
        return len(self) * self.batch_size if self.drop_last else len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = (torch.randperm(n, generator=g) if self.shuffle else torch.arange(n)).to(self.device)
        pad = max(1, self.images.shape[-1] // 8)  # 4 pixels on CIFAR's 32
        # Random values by position in this epoch's order, drawn once: no host sync inside the loop.
        flips = (torch.rand(n, generator=g) < 0.5).to(self.device)
        shifts = torch.randint(0, 2 * pad + 1, (2, n), generator=g).to(self.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            batch = slice(start, start + self.batch_size)
            idx = order[batch]
            x = self.images[idx]  # B x C x H x W uint8
            if self.augment == "crop_flip":
                x = random_crop(x, pad, shifts[0, batch], shifts[1, batch])
            if self.augment != "none":
                x = torch.where(flips[batch, None, None, None], x.flip(3), x)
            x = to_input(x, self.size, self.mean, self.std)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, self.labels[idx]
