"""Training throughput of the inas pipeline against the seed's pipeline, same device, same data.

inas: `inas.train.train` as every trial runs it (uint8 data on the device, on-device crop/flip, bf16
autocast and channels_last on CUDA, batch 512). Reference: the seed's script (seed 000/002): a
DataLoader over PIL images with RandomHorizontalFlip + ToTensor + Normalize, fp32, batch 64.
Each pipeline trains `--epochs` epochs over `--images` images; the last epoch is timed (the first
pays for warm-up). Prints images per second of both, their ratio, and MFU against `--peak-tflops`.

    python benchmarks/train_throughput.py                        # CPU: small settings
    python benchmarks/train_throughput.py --images 50000 --epochs 2 --data imagefolder:PATH   # GPU
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from inas.data import ImageData, load_dataset
from inas.model import get_preset, measure
from inas.model.network import build
from inas.train import TrainRecipe, pick_device, train


class PilImages(Dataset):
    """The seed's input path: each image a PIL image, transformed one at a time in workers."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        from torchvision import transforms

        self.x, self.y = x.permute(0, 2, 3, 1).numpy(), y.tolist()
        self.transform = transforms.Compose(
            [
                transforms.RandomHorizontalFlip(p=0.5),
                transforms.ToTensor(),
                transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
            ]
        )

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.x[i])), self.y[i]


def seed_style(arch, data: ImageData, images: int, epochs: int, device: torch.device, workers: int) -> float:
    """Images per second of the last epoch of the seed's training loop (Adadelta, fp32, batch 64)."""
    torch.manual_seed(0)
    model = build(arch).to(device)
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
    loader = DataLoader(
        PilImages(data.train_x[:images], data.train_y[:images]),
        batch_size=64,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
    )
    rate = 0.0
    for _ in range(epochs):
        model.train()
        if device.type == "cuda":
            torch.cuda.synchronize()
        start, seen = time.perf_counter(), 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            seen += len(y)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rate = seen / (time.perf_counter() - start)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seed/googlenet")
    parser.add_argument("--data", default="synthetic:2000", help="a dataset name, e.g. imagefolder:PATH or cifar10")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--images", type=int, default=None, help="training images per epoch (default: CPU 192, GPU all)"
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=None, help="inas batch (default: GPU 512, CPU 64)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the reference (the seed: 2)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--peak-tflops", type=float, default=None, help="for MFU (H100 bf16 measured: 780)")
    args = parser.parse_args()

    device = pick_device(args.device)
    gpu = device.type == "cuda"
    data = load_dataset(args.data, args.data_dir)
    images = args.images or (len(data.train_y) if gpu else 192)
    data = data.head(images, 10)
    arch = get_preset(args.preset, data.num_classes)
    flops_per_image = 3 * 2 * measure(arch).macs  # forward + backward ~ 3x the forward pass
    recipe = TrainRecipe(
        epochs=args.epochs, batch_size=args.batch_size or (512 if gpu else 64), val_fraction=0.0, augment="flip"
    )

    _, result = train(arch, recipe, data, device=device, evaluate_test=False)
    ours = result.epochs[-1].images_per_second
    ref = seed_style(arch, data, images, args.epochs, device, args.workers)

    name = torch.cuda.get_device_name(device) if gpu else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {name}; torch {torch.__version__}; {args.preset} ({flops_per_image / 3e9:.2f} GFLOP forward)")
    print(f"data: {data.name}, {images} images, {args.epochs} epochs, last epoch timed")
    print(f"seed-style pipeline (PIL DataLoader, fp32, batch 64): {ref:10,.1f} img/s")
    print(
        f"inas pipeline ({'bf16, channels_last, ' if gpu else 'fp32, '}batch {recipe.batch_size}): {ours:10,.1f} img/s"
    )
    print(f"ratio inas / seed-style: {ours / ref:.2f}x")
    if args.peak_tflops:
        for label, rate in (("seed-style", ref), ("inas", ours)):
            print(f"MFU {label}: {100 * rate * flops_per_image / (args.peak_tflops * 1e12):.1f}%")


if __name__ == "__main__":
    main()
