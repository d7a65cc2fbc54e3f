"""Reading untrusted image files and image folders within bounds.

An image is read from a regular file only (a FIFO or a device would block or never end), at most
`limits.MAX_IMAGE_FILE_BYTES` on disk, and its width x height is checked against
`limits.MAX_IMAGE_PIXELS` from the header, before a pixel is decoded (a 0.9 MB PNG can claim
30000 x 30000). An image folder is listed without following a link out of it or round in a loop, and
no file is listed twice (the same image in the training and the test split). Every refusal is a
`DataError` naming the file.
"""

from __future__ import annotations

import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inas import limits
from inas.errors import DataError

# What torchvision's ImageFolder reads (torchvision.datasets.folder.IMG_EXTENSIONS).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def _open_regular(path: Path, where: str):
    """A binary file object of `path`, which must be a regular file of bounded size (a link to one is
    followed: the caller decides which links may be). Opened non-blocking, so a FIFO never hangs."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        dangling = os.path.islink(path)
        raise DataError(f"{where}: no such file" + (" (a link to nothing)" if dangling else "")) from None
    except OSError as e:
        raise DataError(f"{where}: cannot open ({e.strerror}); give a readable image file") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a FIFO, device or socket)"
        raise DataError(f"{where}: {kind}; give an image file")
    if st.st_size > limits.MAX_IMAGE_FILE_BYTES:
        os.close(fd)
        raise DataError(
            f"{where}: {st.st_size:,} bytes, over the {limits.MAX_IMAGE_FILE_BYTES:,} an image file may hold; "
            "give a smaller image"
        )
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_pixels(path: Path, mode: str, where: str | None = None, budget: list[int] | None = None) -> np.ndarray:
    """The pixels of the image file `path` as H x W (mode "L") or H x W x 3 (mode "RGB") uint8.
    `budget`: a one-item list of bytes the decoded pixels may still take, lowered by this image's."""
    from PIL import Image, UnidentifiedImageError

    where = where or str(path)
    with _open_regular(path, where) as f:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own bound follows
                im = Image.open(f)  # reads the header only
            with im:
                width, height = im.size
                if width * height > limits.MAX_IMAGE_PIXELS:
                    raise DataError(
                        f"{where}: {width} x {height} pixels, over the {limits.MAX_IMAGE_PIXELS:,} an image may "
                        "have; give a smaller image"
                    )
                need = width * height * len(mode)
                if budget is not None:
                    if need > budget[0]:
                        raise DataError(
                            f"{where}: decoding it would take the images past the {limits.MAX_DECODED_BYTES:,} "
                            "bytes a dataset may decode to; use fewer or smaller images"
                        )
                    budget[0] -= need
                pixels = np.asarray(im.convert(mode))
        except Image.DecompressionBombError:
            raise DataError(
                f"{where}: claims more than {limits.MAX_IMAGE_PIXELS:,} pixels (a decompression bomb?); "
                "give a smaller image"
            ) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as e:
            # ValueError: PIL's bound on a text chunk's inflated size ("Decompressed Data Too Large")
            raise DataError(
                f"{where}: cannot decode, not an image this can read ({e}); give a PNG, JPEG or similar image"
            ) from None
    return pixels


@dataclass(frozen=True)
class Listing:
    """The image files of a folder of class folders: (path, label) sorted as ImageFolder sorts them."""

    classes: list[str]
    samples: list[tuple[str, int]]


def list_image_folder(folder: Path) -> Listing:
    """`folder/<class>/**/*.png` etc. A link is followed only where it leads inside `folder` and to
    something not already listed (a folder reached twice is a loop or a copy, a file reached twice
    would land in both splits); anything else a link does, and anything not a folder or regular file
    that has an image's name, is refused naming it."""
    root = Path(os.path.realpath(folder))
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: dict[tuple[int, int], str] = {}

    def inside(path: Path) -> Path:
        real = Path(os.path.realpath(path))
        if real != root and root not in real.parents:
            raise DataError(f"imagefolder:{path}: a link out of the image folder (to {real}); remove it")
        return real

    def enter(path: Path) -> None:
        st = os.stat(path)
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            raise DataError(f"imagefolder:{path}: a link back to a folder already listed (a loop?); remove it")
        seen_dirs.add(key)

    def walk(path: Path, label: int, out: list[tuple[str, int]]) -> None:
        enter(path)
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            child = Path(entry.path)
            if entry.is_symlink():
                inside(child)
                if not os.path.exists(child):
                    raise DataError(f"imagefolder:{child}: a link to nothing; remove it")
            if entry.is_dir():
                if len(seen_dirs) > limits.MAX_IMAGE_FOLDERS:
                    raise DataError(
                        f"imagefolder:{folder}: over {limits.MAX_IMAGE_FOLDERS:,} folders; give a smaller one"
                    )
                walk(child, label, out)
            elif entry.name.lower().endswith(IMAGE_SUFFIXES):
                st = os.stat(child)
                if not stat.S_ISREG(st.st_mode):
                    raise DataError(f"imagefolder:{child}: not a regular file (a FIFO, device or socket); remove it")
                key = (st.st_dev, st.st_ino)
                if key in seen_files:
                    raise DataError(f"imagefolder:{child}: the same file as {seen_files[key]}; keep one")
                seen_files[key] = str(child)
                if len(seen_files) > limits.MAX_IMAGES:
                    raise DataError(f"imagefolder:{folder}: over {limits.MAX_IMAGES:,} images; give a smaller folder")
                out.append((str(child), label))

    try:
        enter(folder)
        classes = sorted(e.name for e in os.scandir(folder) if e.is_dir())
        samples: list[tuple[str, int]] = []
        for label, name in enumerate(classes):
            cls = folder / name
            if cls.is_symlink():
                inside(cls)
            walk(cls, label, samples)
    except OSError as e:
        raise DataError(f"imagefolder:{e.filename or folder}: cannot list ({e.strerror}); check the folder") from None
    if not classes:
        raise DataError(f"imagefolder:{folder}: no class folders; put images in <class>/ subfolders")
    empty = sorted(set(classes) - {classes[label] for _, label in samples})
    if empty:
        raise DataError(
            f"imagefolder:{folder}: no image files ({', '.join(IMAGE_SUFFIXES)}) in {', '.join(empty)[:200]}; "
            "add images or remove the folder"
        )
    return Listing(classes, samples)
