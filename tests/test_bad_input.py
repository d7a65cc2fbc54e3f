"""Hostile and careless input, run as a user would: the CLI as a subprocess under a memory limit
(`resource.setrlimit`) and a time limit. Every case gives one `error:` line and the stated exit code,
no traceback, and creates or changes nothing outside what the command owns (every file of the working
folder is hashed before and after)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import socket
import sqlite3
import stat
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pytest

from inas import limits

OUTSIDE = "outside"  # beside the working folder: where planted links point; it must not change
DEVICES = ("/dev/null", "/dev/zero")
MEMORY = 8 << 30  # address space: torch maps about 3 GiB before it does anything
SECONDS = 90


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    message: str
    make: Callable[[Path], None] = lambda root: None
    code: int = 2
    owns: tuple[str, ...] = ()  # paths under the working folder the command may create or change
    env: dict[str, str] = field(default_factory=dict)
    make_config: dict[str, object] = field(default_factory=dict)  # fields of model/config.json to replace


def text(name: str, body: str | bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    """`root/name` holding `body` (made when the case runs, if it is a function)."""

    def make(root: Path) -> None:
        data = body() if callable(body) else body
        (root / name).write_bytes(data.encode() if isinstance(data, str) else data)

    return make


def alias_bomb() -> str:
    levels = ["  - &a0 [" + ", ".join(["lol"] * 10) + "]"]
    levels += [f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "name: bomb\nbase: seed/googlenet\nnum_classes:\n" + "\n".join(levels) + "\n"


def study_db(root: Path, name: str, study: str, trials: int = 3) -> Path:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    path = root / name
    s = optuna.create_study(study_name=study, storage=f"sqlite:///{path}", directions=["minimize", "minimize"])
    for i in range(trials):
        t = s.ask()
        t.suggest_float("x", 0, 1)
        t.set_user_attr("note", "x" * 2000)  # enough pages for damage in the middle to be read
        s.tell(t, [i / 10, i])
    return path


def plain_sqlite(root: Path) -> None:
    with sqlite3.connect(root / "other.db") as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.close()


def damaged(root: Path) -> None:
    path = study_db(root, "broken.db", "broken", trials=40)
    data = bytearray(path.read_bytes())
    page = 4096
    pages = len(data) // page
    for i in range(pages // 3, 2 * pages // 3):  # the middle third: the trials' pages, not the schema
        data[i * page : (i + 1) * page] = b"\xa5" * page
    path.write_bytes(bytes(data))


def bundle(root: Path, channels: int) -> None:
    folder = root / "model"
    folder.mkdir()
    arch = {"stem": "cifar", "stages": [{"modules": [[channels, 8, 8, 4, 8, 8]]}], "input_size": 32}
    config = {"format": "inas-model/1", "arch": arch, "classes": ["a", "b"]}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "metrics.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")


def one_class(root: Path) -> None:
    from PIL import Image

    folder = root / "images" / "cat"
    folder.mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(folder / f"{i}.png")


def link(name: str, target: str, make_target: str | None = None) -> Callable[[Path], None]:
    """A symbolic link `name` -> `target` (relative to the working folder); `make_target`: give the
    target that content first ("folder" for an empty folder)."""

    def make(root: Path) -> None:
        dest = root / target
        if make_target == "folder":
            dest.mkdir(parents=True, exist_ok=True)
        elif make_target is not None:
            dest.write_text(make_target)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(target)

    return make


def fifo(name: str) -> Callable[[Path], None]:
    return lambda root: os.mkfifo(root / name)


def both(*makers: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        for m in makers:
            m(root)

    return make


def study(root: Path) -> None:
    study_db(root, "s.db", "s")


def wal_study(root: Path) -> None:
    """A study in WAL mode, as a search leaves it (readers of such a file make -wal and -shm)."""
    path = study_db(root, "s.db", "s")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def null_node(root: Path) -> None:
    """A character device like /dev/null, made where the test may harm nothing (root only)."""
    os.mknod(root / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))


def png(width: int, height: int, rows: bool = True, text_bytes: int = 0) -> bytes:
    """A PNG that claims `width` x `height` (black pixels if `rows`, else no image data), with a zTXt
    chunk that inflates to `text_bytes`: small files that decode to a great deal."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if text_bytes:
        body += chunk(b"zTXt", b"note\0\0" + zlib.compress(b"a" * text_bytes, 9))
    if rows:
        z = zlib.compressobj(1)
        row = bytes(1 + 3 * width)
        data = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    else:
        data = zlib.compress(b"")
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def model_folder(root: Path, **config: object) -> None:
    """A real, tiny exported model (3 classes, 32 px) in `root/model`; `config`: fields of its config.json
    replaced afterwards (the weights, and their hash, stay right)."""
    from inas.model.config import ArchConfig
    from inas.model.network import build
    from inas.train.bundle import BundleConfig, write_bundle

    arch = ArchConfig.from_dict(TINY, where="tiny").with_classes(3)
    bundle_config = BundleConfig(arch, {}, "synthetic:20", ("a", "b", "c"), (0.5,) * 3, (0.25,) * 3, 32)
    write_bundle(root / "model", build(arch), bundle_config, {"epochs": []}, "a tiny model\n")
    edit_config(root, **config)


def edit_config(root: Path, **config: object) -> None:
    path = root / "model" / "config.json"
    data = json.loads(path.read_text())
    for key, value in config.items():
        if key in ("mean", "std"):
            data["normalisation"][key] = value
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def predicting(make: Callable[[Path], None]) -> Callable[[Path], None]:
    return both(model_folder, make)


def image_folder(root: Path) -> None:
    """images/<cat, dog>/<0..3>.png: a valid folder the cases then spoil."""
    from PIL import Image

    for c in ("cat", "dog"):
        (root / "images" / c).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(root / "images" / c / f"{i}.png")


def spoiled(make: Callable[[Path], None]) -> Callable[[Path], None]:
    return both(image_folder, make)


def wrong_cache(root: Path) -> None:
    """The decoded-image cache of images/ replaced by a valid torch file of the wrong shape."""
    import torch

    from inas.data.datasets import decoded_cache_path
    from inas.data.images import list_image_folder

    listing = list_image_folder(root / "images")
    name = decoded_cache_path(root / "images", listing.samples, listing.classes).name
    path = root.parent / "cache" / "imagefolder" / name  # the case's INAS_CACHE
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "images": torch.zeros(2, 3, 8, 8, dtype=torch.uint8),
            "labels": torch.zeros(2, dtype=torch.int64),
            "classes": listing.classes,
        },
        path,
    )


SEARCH = ("search", "--space", "s.yaml", "--trials", "1", "--dataset", "synthetic", "--budget", "smoke")
TRAIN = ("train", "--preset", "seed/short4", "--dataset", "synthetic:20", "--epochs", "1")


TINY = {"stem": "cifar", "stages": [{"modules": [[8, 8, 8, 4, 8, 8]]}], "input_size": 32}
HUGE_CONFIG = {"stem": "cifar", "stages": [{"modules": [[10**12, 8, 8, 4, 8, 8]]}], "input_size": 32}
BIG_CONFIG = {  # within every per-field limit, over the parameter limit as a whole
    "stem": "cifar",
    "stages": [{"modules": [[8192] * 6] * 8, "downsample": False}],
    "input_size": 8,
}
SPACE = "name: s\nbase: seed/short4\n"
MULTIPLIERS = "{choices: [" + ", ".join(f"{1 + i / 1e5:.5f}" for i in range(50_000)) + "]}"

CASES = [
    # 1. unbounded work from small files
    Case("alias-bomb", ("space", "show", "s.yaml"), "aliases (*name) are not allowed", text("s.yaml", alias_bomb())),
    Case(
        "depth-1e9",
        ("space", "show", "s.yaml"),
        "over the 26 modules",
        text("s.yaml", SPACE + "depth: {4: 1000000000}\n"),
    ),
    Case(
        "depth-range-aux",
        ("space", "sample", "s.yaml"),
        "over the 26 modules",
        text("s.yaml", SPACE + "depth: {4: {low: 1, high: 1000000000}}\naux_heads: {choices: [[], [4a]]}\n"),
    ),
    Case(
        "50k-choices",
        ("space", "show", "s.yaml"),
        "50,000 values, over the 1,000",
        text("s.yaml", SPACE + f"channels: {{multiplier: {MULTIPLIERS}}}\n"),
    ),
    Case(
        "50MB-file",
        ("space", "show", "s.yaml"),
        "bytes, over the 1,048,576",
        text("s.yaml", SPACE + "description: " + "x" * 50_000_000 + "\n"),
    ),
    Case(
        "long-description",
        ("space", "show", "s.yaml"),
        "characters; keep it under",
        text("s.yaml", SPACE + "description: " + "x" * 900_000 + "\n"),
    ),
    Case(
        "wide-multiplier",
        ("space", "show", "s.yaml"),
        "lower the multiplier",
        text("s.yaml", SPACE + "channels: {multiplier: {low: 1, high: 1.0e+9}}\n"),
    ),
    Case("deep-yaml", ("space", "show", "s.yaml"), "s.yaml:", text("s.yaml", SPACE + "head: " + "[" * 100_000)),
    Case("deep-json", ("model", "summary", "--config", "c.json"), "nested too deeply", text("c.json", "[" * 100_000)),
    Case(
        "huge-channels",
        ("model", "summary", "--config", "c.json"),
        "over the 8,192",
        text("c.json", json.dumps(HUGE_CONFIG)),
    ),
    Case(
        "too-many-params",
        ("train", "--config", "c.json", "--dataset", "synthetic:60", "--epochs", "1"),
        "parameters, over the 500,000,000",
        text("c.json", json.dumps(BIG_CONFIG)),
    ),
    Case(
        "bundle-huge-channels",
        ("evaluate", "model", "--dataset", "synthetic:60"),
        "over the 8,192",
        lambda r: bundle(r, 10**12),
    ),
    # 2. names that become paths
    Case("study-slash", ("search", "--space", "s.yaml", "--study", "a/b"), "a study name is", text("s.yaml", SPACE)),
    Case(
        "study-dotdot",
        ("search", "--space", "s.yaml", "--study", "../../etc/evil"),
        "a study name is",
        text("s.yaml", SPACE),
    ),
    Case(
        "study-control", ("search", "--space", "s.yaml", "--study", "a\x01b"), "a study name is", text("s.yaml", SPACE)
    ),
    Case("trials-dotdot", ("trials", "../../etc/evil"), "a study name is"),
    Case(
        "report-pwned-name",
        ("report", "pwned.db"),
        "",
        lambda r: study_db(r, "pwned.db", "../../PWNED_REPORT"),
        code=0,
        owns=("dashboards/",),
    ),
    # 3. reading must not write
    Case("report-plain-sqlite", ("report", "other.db"), "not an Optuna study storage", plain_sqlite),
    Case(
        "trials-plain-sqlite",
        ("trials", "x", "--storage", "sqlite:///other.db"),
        "not an Optuna study storage",
        plain_sqlite,
    ),
    Case("report-empty-file", ("report", "empty.db"), "empty file", text("empty.db", b"")),
    Case("report-not-sqlite", ("report", "junk.db"), "not a readable SQLite database", text("junk.db", b"junk" * 1000)),
    # 4. tracebacks turned into one line
    Case("report-damaged", ("report", "broken.db"), "malformed", damaged),
    Case("trials-damaged", ("trials", "broken.db"), "malformed", damaged),
    # 6. silently wrong
    Case(
        "duplicate-key",
        ("space", "show", "s.yaml"),
        "key 'base' is given twice",
        text("s.yaml", SPACE + "base: seed/naive\n"),
    ),
    Case(
        "duplicate-json-key",
        ("model", "summary", "--config", "c.json"),
        "given twice",
        text("c.json", '{"stem": "cifar", "stem": "d2l"}'),
    ),
    Case(
        "imagefolder-one-class",
        ("train", "--preset", "seed/short4", "--dataset", "imagefolder:images", "--epochs", "1"),
        "one class folder",
        one_class,
    ),
    # 7. outputs never replace or write through what is at their path (issue 24)
    Case(
        "report-out-link-to-null",
        ("report", "s.db", "--out", "n.html"),
        "is a symbolic link",
        both(study, link("n.html", "/dev/null")),
    ),
    Case(
        "report-out-fifo", ("report", "s.db", "--out", "p.html"), "is not a regular file", both(study, fifo("p.html"))
    ),
    Case(
        "trials-out-link-to-stdout",
        ("trials", "s.db", "--out", "o.txt"),
        "is a symbolic link",
        both(study, link("o.txt", "/dev/stdout")),
    ),
    Case(
        "trials-out-link-outside",
        ("trials", "s.db", "--out", "o.txt"),
        "is a symbolic link",
        both(study, link("o.txt", f"../{OUTSIDE}/victim.txt")),
    ),
    Case(
        "compare-out-dangling",
        ("compare", "s.db", "s2.db", "--out", "c.html"),
        "is a symbolic link",
        both(study, lambda r: study_db(r, "s2.db", "s2"), link("c.html", f"../{OUTSIDE}/new.html")),
    ),
    Case(
        "report-out-folder", ("report", "s.db", "--out", "d"), "is a folder", both(study, lambda r: (r / "d").mkdir())
    ),
    Case("report-out-proc", ("report", "s.db", "--out", "/proc/inas-x.html"), "cannot write under /proc", study),
    Case(
        "report-default-out-link",
        ("report", "s.db"),
        "is a symbolic link",
        both(study, link("dashboards/s.html", f"../../{OUTSIDE}/victim.html")),
    ),
    Case("train-save-dangling", (*TRAIN, "--save", "m"), "is a symbolic link", link("m", f"../{OUTSIDE}/m")),
    Case(
        "train-save-link-to-empty",
        (*TRAIN, "--save", "m"),
        "is a symbolic link",
        link("m", f"../{OUTSIDE}/empty", "folder"),
    ),
    Case("train-save-proc", (*TRAIN, "--save", "/proc/inas-m"), "cannot write under /proc"),
    Case("train-save-file", (*TRAIN, "--save", "m"), "not an empty folder", text("m", "mine")),
    Case(
        "export-out-dangling",
        ("export", "s.db", "--out", "m"),
        "is a symbolic link",
        both(study, link("m", f"../{OUTSIDE}/m")),
    ),
    Case("export-out-proc", ("export", "s.db", "--out", "/proc/inas-m"), "cannot write under /proc", study),
    # 8. the study's database and lock are never followed through a planted link (issue 24)
    Case(
        "search-db-dangling",
        (*SEARCH, "--study", "s", "--storage", "sqlite:///studies/s.db"),
        "a symbolic link to nothing",
        both(text("s.yaml", SPACE), link("studies/s.db", f"../../{OUTSIDE}/s.db")),
    ),
    Case(
        "search-lock-link",
        (*SEARCH, "--study", "s", "--storage", "sqlite:///s.db"),
        "is a symbolic link",
        both(
            text("s.yaml", SPACE),
            lambda r: (r.parent / OUTSIDE / "victim").write_text("keep me"),
            link(".s.db.s.lock", f"../{OUTSIDE}/victim"),
        ),
    ),
    Case(
        "search-lock-fifo",
        (*SEARCH, "--study", "s", "--storage", "sqlite:///s.db"),
        "is not a regular file",
        both(text("s.yaml", SPACE), fifo(".s.db.s.lock")),
    ),
    Case("search-in-memory", (*SEARCH, "--storage", "sqlite://"), "in-memory", text("s.yaml", SPACE)),
    Case("search-in-memory-uri", (*SEARCH, "--storage", "sqlite:///:memory:"), "in-memory", text("s.yaml", SPACE)),
    # 9. untrusted image files and image folders (issue 24)
    Case(
        "predict-bomb-30000",
        ("predict", "model", "x.png"),
        "a decompression bomb",
        predicting(text("x.png", lambda: png(30000, 30000, rows=False))),
    ),
    Case(
        "predict-12000",
        ("predict", "model", "x.png"),
        "12000 x 12000 pixels, over the 16,777,216",
        predicting(text("x.png", lambda: png(12000, 12000))),
    ),
    Case(
        "predict-text-chunk",
        ("predict", "model", "x.png"),
        "x.png: cannot decode",
        predicting(text("x.png", lambda: png(8, 8, text_bytes=100_000_000))),
    ),
    Case("predict-fifo", ("predict", "model", "x.png"), "x.png: not a regular file", predicting(fifo("x.png"))),
    Case(
        "predict-dangling",
        ("predict", "model", "x.png"),
        "x.png: no such file (a link to nothing)",
        predicting(link("x.png", f"../{OUTSIDE}/none.png")),
    ),
    Case(
        "predict-folder", ("predict", "model", "x.png"), "x.png: a folder", predicting(lambda r: (r / "x.png").mkdir())
    ),
    Case(
        "predict-huge-file",
        ("predict", "model", "x.png"),
        "over the 67,108,864",
        predicting(text("x.png", lambda: png(8, 8) + bytes(65 << 20))),
    ),
    Case(
        "imagefolder-bomb",
        (*TRAIN[:3], "--dataset", "imagefolder:images", "--epochs", "1"),
        "dog/x.png:",
        spoiled(text("images/dog/x.png", lambda: png(30000, 30000, rows=False))),
    ),
    Case(
        "imagefolder-fifo",
        (*TRAIN[:3], "--dataset", "imagefolder:images", "--epochs", "1"),
        "dog/x.png: not a regular file",
        spoiled(fifo("images/dog/x.png")),
    ),
    Case(
        "imagefolder-loop",
        (*TRAIN[:3], "--dataset", "imagefolder:images", "--epochs", "1"),
        "cat/again: a link back to a folder already listed",
        spoiled(link("images/cat/again", ".")),
    ),
    Case(
        "imagefolder-link-out",
        (*TRAIN[:3], "--dataset", "imagefolder:images", "--epochs", "1"),
        "dog/x.png: a link out of the image folder",
        spoiled(
            both(
                lambda r: (r.parent / OUTSIDE / "x.png").write_bytes(png(8, 8)),
                link("images/dog/x.png", f"../../../{OUTSIDE}/x.png"),
            )
        ),
    ),
    Case(
        "imagefolder-same-file-twice",
        (*TRAIN[:3], "--dataset", "imagefolder:images", "--epochs", "1"),
        "the same file as",
        spoiled(link("images/dog/9.png", "../cat/0.png")),
    ),
    Case(
        "imagefolder-dangling",
        (*TRAIN[:3], "--dataset", "imagefolder:images", "--epochs", "1"),
        "dog/x.png: a link to nothing",
        spoiled(link("images/dog/x.png", "none.png")),
    ),
    Case(
        "imagefolder-wrong-cache",
        (*TRAIN, "--dataset", "imagefolder:images", "--batch-size", "4"),
        "",
        spoiled(wrong_cache),
        code=0,
    ),
    # 10. a model folder's config.json is checked against its weights and the limits (issue 24)
    Case(
        "model-few-classes",
        ("predict", "model", "x.png"),
        "classes must be 3 names",
        predicting(text("x.png", lambda: png(8, 8))),
        make_config={"classes": ["a"]},
    ),
    Case(
        "model-no-classes",
        ("predict", "model", "x.png"),
        "classes must be 3 names",
        predicting(text("x.png", lambda: png(8, 8))),
        make_config={"classes": []},
    ),
    Case(
        "model-input-100000",
        ("evaluate", "model", "--dataset", "synthetic:20"),
        "input_size 100000 is not",
        model_folder,
        make_config={"input_size": 100000},
    ),
    Case(
        "model-input-0",
        ("predict", "model", "x.png"),
        "input_size 0 is not",
        predicting(text("x.png", lambda: png(8, 8))),
        make_config={"input_size": 0},
    ),
    Case(
        "model-input-negative",
        ("predict", "model", "x.png"),
        "input_size -32 is not",
        predicting(text("x.png", lambda: png(8, 8))),
        make_config={"input_size": -32},
    ),
    Case(
        "model-input-float",
        ("predict", "model", "x.png"),
        "expected a whole number",
        predicting(text("x.png", lambda: png(8, 8))),
        make_config={"input_size": 31.9},
    ),
    Case(
        "model-mean-length",
        ("predict", "model", "x.png"),
        "mean must be 3 finite numbers",
        predicting(text("x.png", lambda: png(8, 8))),
        make_config={"mean": [0.5]},
    ),
    Case(
        "model-std-length",
        ("predict", "model", "x.png"),
        "std must be 3 finite numbers",
        predicting(text("x.png", lambda: png(8, 8))),
        make_config={"std": [0.2] * 4},
    ),
    Case(
        "model-std-zero",
        ("predict", "model", "x.png"),
        "must be >= 0.001",
        predicting(text("x.png", lambda: png(8, 8))),
        make_config={"std": [0.2, 0, 0.2]},
    ),
    Case(
        "model-class-name-huge",
        ("predict", "model", "x.png"),
        "over 1000 characters",
        predicting(text("x.png", lambda: png(8, 8))),
        make_config={"classes": ["a", "b", "c" * 5000]},
    ),
    # 11. numbers and the environment (issue 24)
    Case("seed-negative", ("space", "sample", "s.yaml", "--seed", "-1"), "'--seed'", text("s.yaml", SPACE)),
    Case("seed-20-digits", ("space", "sample", "s.yaml", "--seed", "1" * 20), "'--seed'", text("s.yaml", SPACE)),
    Case("search-seed-20-digits", (*SEARCH, "--seed", "1" * 20), "'--seed'", text("s.yaml", SPACE)),
    Case("train-seed-negative", (*TRAIN, "--seed", "-1"), "seed: must be a whole number from 0"),
    Case("train-seed-20-digits", (*TRAIN, "--seed", "1" * 20), "seed: must be a whole number from 0"),
    Case("cpus-per-trial-nan", (*SEARCH, "--cpus-per-trial", "nan"), "'--cpus-per-trial'", text("s.yaml", SPACE)),
    Case("gpus-per-trial-nan", (*SEARCH, "--gpus-per-trial", "nan"), "'--gpus-per-trial'", text("s.yaml", SPACE)),
    Case("reproduce-gpus-nan", ("reproduce", "d2l", "--gpus-per-trial", "nan"), "'--gpus-per-trial'"),
    *(
        Case(f"max-memory-{name}", SEARCH, "INAS_MAX_MEMORY=", text("s.yaml", SPACE), env={"INAS_MAX_MEMORY": value})
        for name, value in (("dot", "."), ("two-dots", "1.2.3GB"), ("400-nines", "9" * 400), ("zero", "0"))
    ),
    Case("train-max-memory-dot", TRAIN, "INAS_MAX_MEMORY=", env={"INAS_MAX_MEMORY": "."}),
    Case(
        "summary-input-1e15",
        ("model", "summary", "--preset", "seed/short4", "--input-size", str(10**15)),
        "'--input-size'",
    ),
    Case("synthetic-3000000", (*TRAIN[:3], "--dataset", "synthetic:3000000"), "from 10 to 200,000"),
    Case("synthetic-unicode-digits", (*TRAIN[:3], "--dataset", "synthetic:\u0663\u0660"), "from 10 to 200,000"),
    Case("lr-1e308", (*TRAIN, "--lr", "1e308"), "lr: 1e+308 is over the 1e+30"),
    Case("sample-10-million", ("space", "sample", "googlenet_depth", "--n", "10000000"), "'--n'"),
    Case(
        "yaml-500KB-key",
        ("space", "show", "s.yaml"),
        "unknown key",
        text("s.yaml", SPACE + "? " + "k" * 500_000 + "\n: 1\n"),
    ),
    # 12. found on the way: the same classes elsewhere (issue 24)
    Case("config-fifo", ("model", "summary", "--config", "c.json"), "c.json: ", fifo("c.json")),
    Case("space-fifo", ("space", "show", "s.yaml"), "s.yaml: ", fifo("s.yaml")),
    Case(
        "model-weights-3GB",
        ("predict", "model", "x.png"),
        "bytes, over the 2,016,777,216",
        predicting(
            both(text("x.png", lambda: png(8, 8)), lambda r: os.truncate(r / "model" / "model.safetensors", 3 << 30))
        ),
    ),
    # earlier cases
    Case("unknown-preset", ("model", "summary", "--preset", "nope"), "unknown preset 'nope'"),
    Case("unknown-option", ("model", "summary", "--bogus"), "No such option: --bogus"),
]


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under `root` as it is itself: a link by where it points (never followed), a file by
    its bytes, a device or FIFO by its kind and number (never opened)."""
    out = {}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = path.relative_to(root).as_posix()
        if stat.S_ISLNK(st.st_mode):
            out[rel] = f"link -> {os.readlink(path)}"
        elif stat.S_ISDIR(st.st_mode):
            out[rel + "/"] = "folder"
        elif stat.S_ISREG(st.st_mode):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = f"special {stat.S_IFMT(st.st_mode):o} {st.st_rdev} {st.st_ino}"
    return out


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_bounded_and_leaves_nothing(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    (tmp_path / OUTSIDE).mkdir()
    case.make(root)
    if case.make_config:
        edit_config(root, **case.make_config)
    before, outside = snapshot(root), snapshot(tmp_path / OUTSIDE)
    env = {**os.environ, "INAS_CACHE": str(tmp_path / "cache"), **case.env}
    proc = subprocess.run(
        [sys.executable, "-m", "inas", *case.args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=SECONDS,
        preexec_fn=limited,
    )
    assert proc.returncode == case.code, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    if case.code == 2:
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr[-3000:]
        assert case.message in proc.stderr
        assert len(proc.stderr) < 600  # a quoted value is cut short
    after = snapshot(root)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert {p for p in changed if not p.startswith(case.owns)} == set() if case.owns else changed == set(), changed
    assert snapshot(tmp_path / OUTSIDE) == outside  # what a planted link points at is untouched
    for device in DEVICES:  # a case may aim at the machine's own nodes
        assert Path(device).is_char_device(), device


def test_report_of_a_hostile_study_name_stays_in_dashboards(tmp_path: Path) -> None:
    study_db(tmp_path, "pwned.db", "../../PWNED_REPORT")
    proc = subprocess.run(
        [sys.executable, "-m", "inas", "report", "pwned.db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=SECONDS,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "dashboards" / "PWNED_REPORT.html").is_file()
    assert not list(tmp_path.parent.parent.glob("PWNED_REPORT*"))


def test_limits_are_what_the_readme_says() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for value in (limits.MAX_MODULES_PER_STAGE, f"{limits.MAX_CHANNELS:,}", f"{limits.MAX_CHOICES:,}"):
        assert str(value) in readme
    for name in (
        "MAX_IMAGE_FILE_BYTES", "MAX_IMAGE_PIXELS", "MAX_DECODED_BYTES", "MAX_IMAGES", "MAX_IMAGE_FOLDERS",
        "MAX_SYNTHETIC", "MAX_CLASS_NAME_CHARS", "MAX_SEED", "MAX_SAMPLES",
    ):  # fmt: skip
        value = getattr(limits, name)
        assert f"{value:,.0f}" in readme, name
    assert "1 PiB" in readme and limits.MAX_MEMORY_BYTES == 1 << 50
    assert f"learning rate at most {limits.MAX_LR:g}" in readme


def inas(root: Path, *args: str, timeout: float = SECONDS) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "inas", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limited,
    )


def test_out_dash_streams_to_stdout(tmp_path: Path) -> None:
    study(tmp_path)
    before = snapshot(tmp_path)
    page = inas(tmp_path, "report", "s.db", "--out", "-")
    assert page.returncode == 0 and page.stdout.lstrip().lower().startswith("<!doctype html"), page.stderr
    rows = inas(tmp_path, "trials", "s.db", "--format", "csv", "--out", "-")
    assert rows.returncode == 0 and rows.stdout.startswith("number,"), rows.stderr
    assert snapshot(tmp_path) == before  # nothing written, not even dashboards/


def test_a_device_node_is_never_replaced(tmp_path: Path) -> None:
    try:
        null_node(tmp_path)
    except PermissionError:
        pytest.skip("making a device node needs root")
    study(tmp_path)
    for args in (("report", "s.db", "--out", "null"), ("trials", "s.db", "--out", "null")):
        proc = inas(tmp_path, *args)
        assert proc.returncode == 2 and "is not a regular file" in proc.stderr, proc.stderr
        assert (tmp_path / "null").is_char_device()


def test_two_spellings_of_one_database_share_its_lock(tmp_path: Path) -> None:
    """A search holds D/s.db; a second one through a link to it (s2.db -> s.db) is refused, and so is
    one spelled through `..`, before either touches the study."""
    from inas.study.storage import StudyLock

    folder = tmp_path / "D"
    folder.mkdir()
    study_db(folder, "s.db", "s")
    (folder / "s2.db").symlink_to("s.db")
    (tmp_path / "s.yaml").write_text(SPACE)
    with StudyLock(f"sqlite:///{folder / 's.db'}", "s"):
        before = snapshot(folder)
        for url in (f"sqlite:///{folder / 's2.db'}", f"sqlite:///{tmp_path / 'D' / '..' / 'D' / 's.db'}"):
            proc = inas(tmp_path, *SEARCH, "--study", "s", "--storage", url, "--resume")
            assert proc.returncode == 2 and "is being searched by pid" in proc.stderr, proc.stderr
        assert snapshot(folder) == before


def test_a_stale_lock_is_replaced_never_written(tmp_path: Path) -> None:
    """A lock file left by a search that died (its flock is gone) is unlinked and made again; a lock
    file with a second name (a hard link planted to another file) is refused, the other file unchanged."""
    from inas.errors import InasError
    from inas.study.storage import StudyLock

    url = f"sqlite:///{tmp_path / 's.db'}"
    lock = tmp_path / ".s.db.s.lock"
    lock.write_text("pid 1")
    with StudyLock(url, "s"):
        assert lock.read_text() == f"pid {os.getpid()}"
    assert not lock.exists()
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    os.link(victim, lock)
    with pytest.raises(InasError, match="has other names"), StudyLock(url, "s"):
        pass
    assert victim.read_text() == "keep me"


def test_reading_a_read_only_study_leaves_no_files(tmp_path: Path) -> None:
    """An immutable (or read-only mounted) WAL study is read without -wal, -shm or journal files."""
    wal_study(tmp_path)
    db = tmp_path / "s.db"
    db.chmod(0o444)
    immutable = (
        subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode == 0 if os.geteuid() == 0 else False
    )
    if os.geteuid() == 0 and not immutable:
        pytest.skip("root reads and writes a mode-0444 file; chattr +i is not available here")
    try:
        before = snapshot(tmp_path)
        for args in (("trials", "s.db"), ("report", "s.db", "--out", "-")):
            proc = inas(tmp_path, *args)
            assert proc.returncode == 0, proc.stderr
            assert snapshot(tmp_path) == before, args
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(db)], check=True)


def test_dashboard_on_every_interface_says_so(tmp_path: Path) -> None:
    study(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "inas", "dashboard", "s.db", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = [proc.stderr.readline(), proc.stderr.readline()]
    finally:
        proc.kill()
        proc.wait()
    assert lines[0].startswith("warning: --host 0.0.0.0 serves the study to every machine"), lines
    assert lines[1].startswith("optuna-dashboard: http://0.0.0.0"), lines


@pytest.mark.parametrize("kind", ["link", "dangling", "file", "fifo", "relative"])
def test_a_hostile_inas_home_is_refused_before_anything_is_written(tmp_path: Path, kind: str) -> None:
    """INAS_HOME is checked like any path inas writes under: a link (to a folder or to nothing) is never
    written through, a file or FIFO is not a folder, a relative path would depend on the folder the
    command runs in. Each is one line, exit 2, and nothing changes here or where a link points."""
    root, outside = tmp_path / "work", tmp_path / OUTSIDE
    root.mkdir()
    outside.mkdir()
    study(root)
    (root / "s.yaml").write_text(SPACE)
    home = root / "home"
    if kind == "link":
        home.symlink_to(outside)
    elif kind == "dangling":
        home.symlink_to(outside / "new")
    elif kind == "file":
        home.write_text("mine")
    elif kind == "fifo":
        os.mkfifo(home)
    value = "home" if kind == "relative" else str(home)
    before, there = snapshot(root), snapshot(outside)
    for args in (SEARCH, ("report", "s"), ("trials", "s")):
        proc = subprocess.run(
            [sys.executable, "-m", "inas", *args],
            cwd=root,
            env={**os.environ, "INAS_HOME": value, "INAS_CACHE": str(tmp_path / "cache")},
            capture_output=True,
            text=True,
            timeout=SECONDS,
            preexec_fn=limited,
        )
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        assert proc.stderr.startswith("error: INAS_HOME=") and proc.stderr.count("\n") == 1, proc.stderr
    assert snapshot(root) == before and snapshot(outside) == there
