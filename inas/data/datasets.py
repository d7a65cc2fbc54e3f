"""Image datasets, loaded once into uint8 tensors (N x C x H x W) that the loader moves to the device.

Names: `cifar10`, `cifar100`, `fashion-mnist`, `mnist` (torchvision, downloaded into the cache
folder or read from `--data-dir`), `imagefolder:PATH` and `synthetic[:N]` (generated, learnable,
for offline runs and tests). No per-sample Python after loading: torchvision's dataset objects
already hold their images as arrays, and ImageFolder images are decoded once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from inas import limits
from inas.errors import DataError, shown
from inas.registry import Registry


@dataclass(frozen=True)
class ImageData:
    """A dataset in memory. Images are uint8 N x C x H x W; labels int64."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train_x.shape[-1])

    def head(self, train: int, test: int) -> ImageData:
        """The first `train` training and `test` test images: for timing, where which ones does not matter
        (an image folder's come sorted by class)."""
        return replace(
            self,
            train_x=self.train_x[:train],
            train_y=self.train_y[:train],
            test_x=self.test_x[:test],
            test_y=self.test_y[:test],
        )


STATS_SAMPLE = 10_000  # images the normalisation statistics are computed on


def channel_stats(images: torch.Tensor, seed: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std, in [0, 1] units, of a seeded random sample of `images` (uint8
    N x C x H x W). Random, not the first ones: image folders come sorted by class."""
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:STATS_SAMPLE]
    x = images[pick].float().div_(255)
    return tuple(x.mean((0, 2, 3)).tolist()), tuple(x.std((0, 2, 3)).clamp_min(1e-3).tolist())


def default_data_dir() -> Path:
    return Path(os.environ.get("INAS_DATA", Path.home() / ".cache" / "inas" / "data"))


OFFLINE_HINT = "pass --data-dir to a folder that holds it, use imagefolder:PATH, or --dataset synthetic"


def _torchvision(cls_name: str, name: str) -> Callable[[Path | None, bool], ImageData]:
    def load(data_dir: Path | None, download: bool) -> ImageData:
        import torchvision.datasets as tvd

        cls = getattr(tvd, cls_name)
        root = Path(data_dir) if data_dir is not None else default_data_dir()
        base = getattr(cls, "base_folder", None)
        if base and root.name == base:  # the user pointed at cifar-10-batches-py itself
            root = root.parent
        try:
            train = cls(str(root), train=True, download=download)
            test = cls(str(root), train=False, download=download)
        except (OSError, RuntimeError) as e:  # URLError is an OSError; a missing copy is a RuntimeError
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise DataError(f"{name} is not in {root} and could not be downloaded ({reason}); {OFFLINE_HINT}") from None
        return ImageData(
            name=name,
            train_x=_as_nchw(train.data),
            train_y=torch.as_tensor(np.asarray(train.targets), dtype=torch.int64),
            test_x=_as_nchw(test.data),
            test_y=torch.as_tensor(np.asarray(test.targets), dtype=torch.int64),
            classes=tuple(train.classes),
        )

    return load


def _as_nchw(data: np.ndarray | torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(data), dtype=torch.uint8)
    if x.ndim == 3:  # MNIST: N x H x W
        return x.unsqueeze(1).contiguous()
    return x.permute(0, 3, 1, 2).contiguous()  # CIFAR: N x H x W x C


def cache_dir() -> Path:
    """Where inas keeps what it can compute again (`$INAS_CACHE`, default ~/.cache/inas)."""
    return Path(os.environ.get("INAS_CACHE", Path.home() / ".cache" / "inas"))


def decoded_cache_path(folder: Path, samples: list[tuple[str, int]], classes: list[str]) -> Path:
    """The cache file of an image folder's decoded images, named by its contents: every file's path
    (relative to the folder), size and modification time, and the classes. A changed file, an added or
    removed one, gives another name, so a stale cache is never read."""
    h = hashlib.sha256(json.dumps(classes).encode())
    for file, label in samples:
        st = os.stat(file)
        h.update(f"{os.path.relpath(file, folder)}\0{label}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return cache_dir() / "imagefolder" / f"{h.hexdigest()[:32]}.pt"


def _load_cached(
    path: Path, samples: list[tuple[str, int]], classes: list[str]
) -> tuple[torch.Tensor, torch.Tensor, list[str]] | None:
    """The decoded images in the cache file `path`, if it holds what its name promises: one uint8
    N x 3 x H x W image per file listed, their labels and the classes (else None: decode again)."""
    try:
        if path.stat().st_size > limits.MAX_DECODED_BYTES + (1 << 20):  # bounded before it is read
            return None
        d = torch.load(path, weights_only=True)  # tensors and strings only: nothing runs on load
        images, labels, got = d["images"], d["labels"], list(d["classes"])
    except FileNotFoundError:
        return None
    except Exception:  # a truncated or foreign file: decode again (and overwrite it)
        return None
    ok = (
        isinstance(images, torch.Tensor)
        and isinstance(labels, torch.Tensor)
        and images.dtype == torch.uint8
        and images.ndim == 4
        and images.shape[0] == len(samples)
        and images.shape[1] == 3
        and labels.dtype == torch.int64
        and labels.tolist() == [label for _, label in samples]
        and got == list(classes)
    )
    return (images, labels, got) if ok else None


def _save_cached(path: Path, decoded: tuple[torch.Tensor, torch.Tensor, list[str]]) -> None:
    """Keep the decoded images for next time; a cache that cannot be written only costs time."""
    images, labels, classes = decoded
    tmp: Path | None = None
    try:  # a fresh name (mkstemp): a link planted at a predictable one would be written through
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
        tmp = Path(name)
        with os.fdopen(fd, "wb") as f:
            torch.save({"images": images, "labels": labels, "classes": list(classes)}, f)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def _imagefolder(path: Path, seed: int = 0, test_fraction: float = 0.2) -> ImageData:
    """`PATH/train/<class>/*` and `PATH/test/<class>/*`, or `PATH/<class>/*` split by `seed`."""
    from torchvision.transforms.v2.functional import resize

    from inas.data.images import list_image_folder, read_pixels

    if not path.is_dir():
        raise DataError(f"imagefolder:{path}: no such folder; give a folder with train/<class>/ and test/<class>/")

    def read(folder: Path) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        listing = list_image_folder(folder)
        if len(listing.classes) < 2:  # every trial would "complete" with error 0
            raise DataError(
                f"imagefolder:{folder}: one class folder ({listing.classes[0]}/); a classifier needs at least two"
            )
        cache = decoded_cache_path(folder, listing.samples, listing.classes)
        cached = _load_cached(cache, listing.samples, listing.classes)
        if cached is not None:
            return cached
        images = []
        budget = [limits.MAX_DECODED_BYTES]
        for file, _ in listing.samples:
            rgb = read_pixels(Path(file), "RGB", where=f"imagefolder:{file}", budget=budget)
            images.append(torch.from_numpy(rgb.copy()).permute(2, 0, 1))
        size = Counter(tuple(im.shape[-2:]) for im in images).most_common(1)[0][0]
        images = [im if tuple(im.shape[-2:]) == size else resize(im, list(size), antialias=True) for im in images]
        decoded = torch.stack(images), torch.tensor([t for _, t in listing.samples]), listing.classes
        _save_cached(cache, decoded)
        return decoded

    if (path / "train").is_dir():
        train_x, train_y, classes = read(path / "train")
        if not (path / "test").is_dir():
            raise DataError(f"imagefolder:{path}: has train/ but no test/; add test/<class>/ or drop train/")
        test_x, test_y, test_classes = read(path / "test")
        if test_classes != classes:
            raise DataError(f"imagefolder:{path}: train/ and test/ have different classes; give both the same folders")
    else:
        x, y, classes = read(path)
        test_idx, train_idx = stratified_split(y, test_fraction, seed)
        train_x, train_y, test_x, test_y = x[train_idx], y[train_idx], x[test_idx], y[test_idx]
    return ImageData(f"imagefolder:{path}", train_x, train_y, test_x, test_y, tuple(classes))


def synthetic(n_train: int = 500, n_test: int = 100, classes: int = 10, size: int = 32, seed: int = 0) -> ImageData:
    """A small learnable image set: each class is a smooth random colour pattern, seen through noise
    and a random brightness, so a network must learn the patterns (not a pixel) to tell them apart."""
    g = torch.Generator().manual_seed(seed)
    prototypes = torch.rand(classes, 3, 4, 4, generator=g)
    prototypes = torch.nn.functional.interpolate(prototypes, size=(size, size), mode="bilinear", align_corners=False)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % classes
        y = y[torch.randperm(n, generator=g)]
        brightness = 0.7 + 0.6 * torch.rand(n, 1, 1, 1, generator=g)
        x = prototypes[y] * brightness + 0.15 * torch.randn(n, 3, size, size, generator=g)
        return (x.clamp(0, 1) * 255).round().to(torch.uint8), y

    train_x, train_y = draw(n_train)
    test_x, test_y = draw(n_test)
    return ImageData(
        f"synthetic:{n_train}", train_x, train_y, test_x, test_y, tuple(f"class{i}" for i in range(classes))
    )


def stratified_split(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(held-out indices, kept indices): `fraction` of each class held out, chosen by `seed`.

    A class of two or more images gives at least one when `fraction` > 0, so no split comes out empty.
    """
    g = torch.Generator().manual_seed(seed)
    held, kept = [torch.zeros(0, dtype=torch.long)], [torch.zeros(0, dtype=torch.long)]
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = round(len(idx) * fraction)
        if fraction > 0 and k == 0 and len(idx) > 1:
            k = 1
        held.append(idx[:k])
        kept.append(idx[k:])
    return torch.cat(held).sort().values, torch.cat(kept).sort().values


DATASETS: Registry[Callable[[Path | None, bool], ImageData]] = Registry(
    "dataset",
    {
        "cifar10": _torchvision("CIFAR10", "cifar10"),
        "cifar100": _torchvision("CIFAR100", "cifar100"),
        "fashion-mnist": _torchvision("FashionMNIST", "fashion-mnist"),
        "mnist": _torchvision("MNIST", "mnist"),
    },
    patterns=("imagefolder:PATH", "synthetic[:N]"),
)


def list_datasets() -> list[str]:
    return DATASETS.names()


def load_dataset(spec: str, data_dir: str | Path | None = None, download: bool = True) -> ImageData:
    """Load a dataset by name (see `list_datasets`)."""
    if spec.startswith("imagefolder:"):
        return _imagefolder(Path(spec.removeprefix("imagefolder:")).expanduser())
    if spec == "synthetic" or spec.startswith("synthetic:"):
        n = spec.partition(":")[2] or "500"
        if not (n.isascii() and n.isdigit()) or len(n) > 9 or not 10 <= int(n) <= limits.MAX_SYNTHETIC:
            raise DataError(
                f"{shown(spec)}: the size after 'synthetic:' must be a whole number from 10 to "
                f"{limits.MAX_SYNTHETIC:,}, like synthetic:2000"
            )
        return synthetic(n_train=int(n), n_test=max(10, int(n) // 5))
    return DATASETS.get(spec)(Path(data_dir) if data_dir is not None else None, download)


def subset(data: ImageData, fraction: float, seed: int) -> ImageData:
    """A stratified fraction of the training set (the test set stays whole)."""
    if fraction < 1:
        keep, _ = stratified_split(data.train_y, fraction, seed)
        data = dataclasses.replace(
            data, name=f"{data.name}[{fraction:g}]", train_x=data.train_x[keep], train_y=data.train_y[keep]
        )
    return data
