"""`inas export --init supernet:DIR`: a candidate retrained from the weights it inherits from a
full-width supernet of the study's space; every other supernet refused in one line."""

import json
import subprocess
import sys

import pytest
import torch
from typer.testing import CliRunner

from inas.cli import app
from inas.errors import ConfigError
from inas.export.init import SCRATCH, init_folder
from inas.supernet.bundle import load_supernet, read_info
from tests.supernet.tiny_supernet import TINY_SPACE, train_tiny_supernet, write_space

runner = CliRunner()
OTHER_SPACE = TINY_SPACE.replace("name: tinynet", "name: othernet").replace("high: 2", "high: 3")


@pytest.fixture(scope="module")
def searched(tmp_path_factory, ray_cpu):
    """A full-width supernet of the tiny space, a quarter-width one, one of another space, and a
    two-trial study scored on the full-width one."""
    root = tmp_path_factory.mktemp("init")
    space = write_space(root)
    train_tiny_supernet(root / "full", space, width=1.0)
    train_tiny_supernet(root / "narrow", space)
    train_tiny_supernet(root / "other", write_space(root, OTHER_SPACE, "othernet.yaml"), width=1.0)
    storage = f"sqlite:///{root}/s.db"
    args = ["search", "--space", space, "--storage", storage, "--evaluator", f"supernet:{root / 'full'}"]
    result = runner.invoke(app, [*args, "--trials", "2", "--calibration-images", "20", "--quiet"])
    assert result.exit_code == 0, result.output
    return root, storage


def export(root, storage, out, *extra):
    args = ["export", "tinynet", "--storage", storage, "--out", str(out), "--device", "cpu", "--epochs", "1"]
    return runner.invoke(app, [*args, "--budget", "smoke", *extra])


def test_the_init_values():
    assert init_folder(SCRATCH) is None and str(init_folder("supernet:/a/b")) == "/a/b"
    for bad in ("supernet:", "weights", ""):
        with pytest.raises(ConfigError, match="give `scratch`"):
            init_folder(bad)


def test_export_starts_from_the_inherited_weights(searched, tmp_path):
    root, storage = searched
    result = export(root, storage, tmp_path / "model", "--init", f"supernet:{root / 'full'}")
    assert result.exit_code == 0, result.output
    name = f"supernet:{read_info(root / 'full').hash}"
    assert f"from the weights it inherits from {name}" in result.stderr.splitlines()[0]
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["source"]["init"] == name
    scratch = export(root, storage, tmp_path / "scratch")
    assert scratch.exit_code == 0, scratch.output
    assert json.loads((tmp_path / "scratch" / "config.json").read_text())["source"]["init"] == SCRATCH


def test_training_starts_from_init():
    """A learning rate too small to move a weight: what training hands back is what it started from."""
    import dataclasses

    from inas.data.datasets import load_dataset
    from inas.model.network import build
    from inas.model.presets import get_preset
    from inas.train.loop import train
    from inas.train.recipe import TrainRecipe

    arch = get_preset("seed/short4", 10)
    torch.manual_seed(123)
    start = build(arch).state_dict()
    recipe = dataclasses.replace(TrainRecipe(), epochs=1, lr=1e-12, weight_decay=0.0, image_size=8, batch_size=32)
    model, result = train(arch, recipe, load_dataset("synthetic:64", None), device="cpu", init=start)
    assert result.status == "ok"
    got = model.state_dict()
    weights = [k for k, v in start.items() if v.is_floating_point() and "running" not in k]
    assert weights and all(torch.allclose(got[k], start[k], atol=1e-6) for k in weights)
    seeded, _ = train(arch, recipe, load_dataset("synthetic:64", None), device="cpu")
    assert not torch.allclose(seeded.state_dict()[weights[0]], start[weights[0]])


def test_the_inherited_weights_are_the_candidates(searched):
    from inas.data.datasets import load_dataset
    from inas.export.init import inherited
    from inas.export.run import candidate
    from inas.study.load import open_study

    root, storage = searched
    ref = open_study("tinynet", storage)
    arch, _ = candidate(ref, 0)
    weights, name = inherited(f"supernet:{root / 'full'}", ref, arch, load_dataset("synthetic:200", None))
    supernet, info = load_supernet(root / "full")
    own = supernet.candidate(arch).state_dict()
    assert name == f"supernet:{info.hash}" and weights.keys() == own.keys()
    assert all(torch.equal(weights[k], own[k]) for k in own)


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        ("narrow", "holds width x0.125 copies and an export trains at full width"),
        ("other", "holds space "),
        ("missing", "missing"),
    ],
)
def test_a_supernet_it_cannot_start_from_is_refused(searched, tmp_path, folder, message):
    root, storage = searched
    result = export(root, storage, tmp_path / "model", "--init", f"supernet:{root / folder}")
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "model").exists() or not any((tmp_path / "model").iterdir())


def test_a_bad_init_exits_2_as_a_subprocess(tmp_path):
    cmd = [sys.executable, "-m", "inas", "export", "nostudy", "--out", str(tmp_path / "m"), "--init", "weights"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--init 'weights': give `scratch`" in done.stderr, done.stderr
