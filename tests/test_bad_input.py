"""Hostile and careless input, run as a user would: the CLI as a subprocess under a memory limit
(`resource.setrlimit`) and a time limit. Every case gives one `error:` line and the stated exit code,
no traceback, and creates or changes nothing outside what the command owns (every file of the working
folder is hashed before and after)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pytest

from inas import limits

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


def text(name: str, body: str | bytes) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / name).write_bytes(body.encode() if isinstance(body, str) else body)

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
    # earlier cases
    Case("unknown-preset", ("model", "summary", "--preset", "nope"), "unknown preset 'nope'"),
    Case("unknown-option", ("model", "summary", "--bogus"), "No such option: --bogus"),
]


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix() + ("/" if path.is_dir() else "")
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
    return out


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_bounded_and_leaves_nothing(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    case.make(root)
    before = snapshot(root)
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
