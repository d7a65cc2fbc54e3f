"""Writing a model folder and loading it back: exact logits, and clear errors for broken folders."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import inas
from inas.data.datasets import load_dataset
from inas.data.loader import DeviceLoader
from inas.errors import InasError
from inas.model.presets import get_preset
from inas.train.bundle import (
    BundleConfig,
    BundleError,
    metrics_of,
    model_card,
    read_config,
    read_metrics,
    shown_figures,
    write_bundle,
)
from inas.train.loop import train
from inas.train.normalise import normalisation
from inas.train.recipe import TrainRecipe


@pytest.fixture(scope="module")
def trained():
    data = load_dataset("synthetic:60")
    arch = get_preset("seed/short4", num_classes=10)
    recipe = TrainRecipe(epochs=1, batch_size=16, image_size=16)
    model, result = train(arch, recipe, data, device="cpu")
    mean, std = normalisation(data, recipe)
    config = BundleConfig(model.config, recipe.to_dict(), data.name, data.classes, mean, std, 16, {"command": "test"})
    return model, config, metrics_of(result, 123)


def write(tmp_path, trained, name="m"):
    model, config, metrics = trained
    write_bundle(tmp_path / name, model, config, metrics, model_card(config, metrics))
    return tmp_path / name


def test_round_trip_gives_the_same_logits_exactly(tmp_path, trained):
    model = trained[0].eval()
    loaded = inas.load_model(write(tmp_path, trained))
    x = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert not loaded.training and loaded.config == model.config
    assert loaded.bundle.classes == trained[1].classes and loaded.bundle.input_size == 16


def test_loading_a_model_leaves_the_trainer_unimported(tmp_path, trained):
    """`inas.load_model` needs the network and the bundle, not the training loop (nor what it imports)."""
    code = (
        "import sys, inas; inas.load_model(sys.argv[1]); "
        "loaded = sorted(m for m in sys.modules if m.startswith('inas.')); "
        "assert 'inas.train.loop' not in loaded, loaded"
    )
    run = subprocess.run([sys.executable, "-c", code, str(write(tmp_path, trained))], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_failed_write_leaves_nothing(tmp_path, trained):
    model, config, metrics = trained

    def boom(folder):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_bundle(tmp_path / "m", model, config, metrics, "card", extra=boom)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("")
    with pytest.raises(InasError, match="exists and is not an empty folder"):
        write_bundle(tmp_path / "busy", model, config, metrics, "card")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "model.safetensors").unlink(), "model.safetensors missing; the export did not finish"),
        (lambda d: (d / "config.json").write_text("{not json"), "config.json: not valid JSON"),
        (lambda d: (d / "model.safetensors").write_bytes(b"garbage"), "does not match config.json"),
        (
            lambda d: (d / "config.json").write_text(
                json.dumps({**json.loads((d / "config.json").read_text()), "format": "other/9"})
            ),
            "format 'other/9' is not 'inas-model/1'",
        ),
    ],
)
def test_broken_folders_are_clear_errors(tmp_path, trained, damage, message):
    folder = write(tmp_path, trained)
    damage(folder)
    with pytest.raises(BundleError, match=message):
        inas.load_model(folder)


def test_weights_of_another_architecture(tmp_path, trained):
    folder = write(tmp_path, trained)
    raw = json.loads((folder / "config.json").read_text())
    other = get_preset("seed/short2", num_classes=10).to_dict()
    (folder / "config.json").write_text(json.dumps({**raw, "arch": other}))
    with pytest.raises(BundleError, match="does not fit the architecture"):
        inas.load_model(folder)
    assert read_config(folder).arch.num_classes == 10


def test_figures_people_read_are_rounded():
    raw = {"test_top1": 1 - 0.9000000000000000222, "curve": [[1, 0.30000000000000004]], "epochs": 3, "name": "x"}
    assert shown_figures(raw) == {"test_top1": 0.1, "curve": [[1, 0.3]], "epochs": 3, "name": "x"}


def test_preprocess_feeds_the_network_what_evaluation_fed_it(tmp_path, trained):
    """`model.preprocess` on a dataset's uint8 images gives exactly the batch evaluation gave the
    network (same resize, same normalisation); float pixels in [0, 1] give the same."""
    loaded = inas.load_model(write(tmp_path, trained))
    b = loaded.bundle
    data = load_dataset("synthetic:60")
    loader = DeviceLoader(data.test_x[:5], data.test_y[:5], batch_size=5, mean=b.mean, std=b.std, size=b.input_size)
    expected, _ = next(iter(loader))
    assert torch.equal(loaded.preprocess(data.test_x[:5]), expected)
    assert torch.equal(loaded.preprocess(list(data.test_x[:5])), expected)  # a list of C x H x W
    assert torch.allclose(loaded.preprocess(data.test_x[:5].float() / 255), expected, atol=1e-4)
    assert loaded.preprocess(data.test_x[0]).shape == (1, 3, 16, 16)
    assert pickle.loads(pickle.dumps(loaded.preprocess)) == loaded.preprocess  # plain data, as the model is


def test_preprocess_reads_files_and_pil_images(tmp_path, trained):
    loaded = inas.load_model(write(tmp_path, trained))
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    as_tensor = torch.from_numpy(np.array(Image.open(tmp_path / "a.png"))).permute(2, 0, 1)
    expected = loaded.preprocess(as_tensor)
    assert expected.shape == (1, 3, 16, 16)
    assert torch.equal(loaded.preprocess(tmp_path / "a.png"), expected)
    assert torch.equal(loaded.preprocess(str(tmp_path / "a.png")), expected)
    assert torch.equal(
        loaded.preprocess(Image.open(tmp_path / "a.png").convert("L")),
        loaded.preprocess(Image.open(tmp_path / "a.png").convert("L").convert("RGB")),
    )  # greyscale is given the model's three channels
    assert loaded.preprocess([tmp_path / "a.png", as_tensor]).shape == (2, 3, 16, 16)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.rand(2, 3, 32, 32) * 255, r"float pixels from .* must lie in \[0, 1\]"),  # 0-255 as floats
        (torch.randn(2, 3, 32, 32), r"must lie in \[0, 1\]"),  # already normalised
        (torch.zeros(2, 1, 32, 32, dtype=torch.uint8), "the model takes 3-channel images"),
        (torch.zeros(32, 32, dtype=torch.uint8), r"a tensor of shape \(32, 32\)"),
        (torch.zeros(0, 3, 32, 32, dtype=torch.uint8), "an empty tensor"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.int64), "pass uint8"),
        ([], "none given"),
        (3.5, "a float; pass image files"),
    ],
)
def test_preprocess_refuses_what_would_mislead(tmp_path, trained, images, message):
    loaded = inas.load_model(write(tmp_path, trained))
    with pytest.raises(InasError, match=message):
        loaded.preprocess(images)


def test_metrics_say_what_the_speed_was_measured_in(tmp_path, trained):
    metrics = read_metrics(write(tmp_path, trained))
    assert metrics["precision"] in ("fp32", "bf16") and metrics["memory_format"] in ("contiguous", "channels_last")
    assert metrics["threads"] >= 1
