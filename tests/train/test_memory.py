"""A training step's memory, estimated before it runs, and the batch that fits."""

import json
import subprocess
import sys

import pytest
import torch

from inas.errors import ConfigError
from inas.model.presets import get_preset
from inas.train.memory import SHARE, fit_batch, memory_budget, step_bytes
from inas.train.recipe import RECIPES

RECIPE = RECIPES.get("inas", "--recipe")()
GOOGLENET = get_preset("seed/googlenet")


def test_the_estimate_grows_with_batch_and_image_size():
    small = step_bytes(GOOGLENET, RECIPE.with_overrides({"image_size": 16}), 64)
    assert step_bytes(GOOGLENET, RECIPE.with_overrides({"image_size": 16}), 128) > 1.9 * small - 1e8
    assert step_bytes(GOOGLENET, RECIPE, 64) > 3 * small  # 32 px: four times the pixels


def test_a_stated_limit_halves_the_default_batch_and_refuses_an_explicit_one(monkeypatch):
    monkeypatch.setenv("INAS_MAX_MEMORY", "2GB")
    assert memory_budget(torch.device("cpu")) == 2 * 2**30
    fitted, note = fit_batch(GOOGLENET, RECIPE, torch.device("cpu"), explicit=False)
    assert fitted.batch_size < RECIPE.batch_size and "training at batch" in note
    assert step_bytes(GOOGLENET, fitted, fitted.batch_size) <= 2 * 2**30
    assert step_bytes(GOOGLENET, fitted, fitted.batch_size * 2) > 2 * 2**30  # the largest power-of-two halving
    with pytest.raises(ConfigError, match=f"use --batch-size {fitted.batch_size} or less"):
        fit_batch(GOOGLENET, RECIPE, torch.device("cpu"), explicit=True)
    monkeypatch.setenv("INAS_MAX_MEMORY", "lots")
    with pytest.raises(ConfigError, match="INAS_MAX_MEMORY='lots'"):
        memory_budget(torch.device("cpu"))


def test_a_trial_sharing_its_device_fits_to_its_share(monkeypatch):
    monkeypatch.delenv("INAS_MAX_MEMORY", raising=False)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (60 * 2**30, 80 * 2**30))
    cuda = torch.device("cuda")
    assert memory_budget(cuda) == int(60 * 2**30 * SHARE)  # alone: what is free
    assert memory_budget(cuda, 0.5) == int(40 * 2**30 * SHARE)  # half the GPU: half its memory
    assert memory_budget(cuda, 0.9) == int(60 * 2**30 * SHARE)  # never more than is free
    alone, quarter = memory_budget(torch.device("cpu")), memory_budget(torch.device("cpu"), 0.25)
    assert quarter == pytest.approx(alone / 4, rel=0.1)  # MemAvailable moves a little between reads


def test_train_keeps_a_step_under_the_stated_memory(tmp_path):
    """seed/googlenet at 32 px and the default batch of 512 needs tens of GiB a step; with a stated
    1 GiB, the command trains at a batch that fits, and its peak RSS shows it."""
    code = (
        "import sys\n"
        "from inas.cli import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "finally:\n"
        # VmHWM, the peak of this process's own memory: ru_maxrss also counts the parent's, whose pages
        # the child held between fork and exec (a long test session's pytest is over 2 GiB).
        "    hwm = [line for line in open('/proc/self/status') if line.startswith('VmHWM:')][0]\n"
        "    print('PEAK', hwm.split()[1], file=sys.stderr)\n"
    )
    args = ["train", "--preset", "seed/googlenet", "--dataset", "synthetic:300", "--epochs", "1", "--json"]
    env = {"INAS_MAX_MEMORY": "1GB", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["recipe"]["batch_size"] < 512 and "note: batch 512 needs about" in done.stderr
    peak_kib = int(done.stderr.split("PEAK")[-1].split()[0])
    # 1 GiB for the step, and what Python, torch and the data take before it (under 1 GiB here).
    assert peak_kib * 1024 < 2 * 2**30
