"""Loading an image folder twice: the first load decodes every file, the second reads the uint8 cache.

    python benchmarks/imagefolder_cache.py [PATH]   # default: ../shared/data/cifar10-jpg.tar.gz, unpacked

Uses a private cache folder (a temporary `$INAS_CACHE`), so the first load always decodes.
"""

from __future__ import annotations

import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["INAS_CACHE"] = str(Path(tmp) / "cache")
        folder = source
        if source.suffixes[-2:] == [".tar", ".gz"]:
            folder = Path(tmp) / "images"
            with tarfile.open(source) as tar:
                tar.extractall(folder, filter="data")
        from inas.data.datasets import load_dataset

        times = []
        for _ in range(2):
            start = time.perf_counter()
            data = load_dataset(f"imagefolder:{folder}")
            times.append(time.perf_counter() - start)
        size = sum(f.stat().st_size for f in (Path(tmp) / "cache").rglob("*.pt"))
        print(f"{source.name}: {len(data.train_y):,} train + {len(data.test_y):,} test images, {os.cpu_count()} CPUs")
        print(
            f"first load (decode) {times[0]:.1f} s, second load (cache) {times[1]:.2f} s, "
            f"{times[0] / times[1]:.0f}x; cache {size / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    main()
