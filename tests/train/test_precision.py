"""The precision policy: what each device trains in, how it is forced, and that bf16 trains soundly."""

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from inas.cli import app
from inas.errors import ConfigError
from inas.train import TrainRecipe, threads, train
from inas.train import precision as policy
from inas.train.loop import forcing_precision, numerics_for
from tests.train.conftest import TINY

CPU = torch.device("cpu")
FAST = TrainRecipe(epochs=3, batch_size=32, lr=0.05, image_size=12)


@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU with native bf16, whatever this one has (bf16 autocast runs on any CPU, only slower)."""
    monkeypatch.setattr(policy, "cpu_bf16_missing", lambda: None)


@pytest.fixture
def plain_cpu(monkeypatch):
    monkeypatch.setattr(policy, "cpu_bf16_missing", lambda: "the CPU has no avx512_bf16 or amx_bf16 instructions")


def test_a_cpu_with_bf16_trains_in_bf16_channels_last(bf16_cpu):
    n = policy.resolve("auto", CPU)
    assert (n.precision, n.memory_format, n.channels_last) == ("bf16", "channels_last", True)


def test_a_cpu_without_bf16_falls_back_to_fp32_channels_last(plain_cpu, monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    n = policy.resolve("auto", CPU)
    assert (n.precision, n.memory_format) == ("fp32", "channels_last")  # oneDNN runs it faster in fp32 too
    assert "avx512_bf16" in n.reason


def test_a_cpu_without_onednn_trains_nchw(plain_cpu, monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert policy.resolve("auto", CPU).memory_format == "contiguous"
    assert policy.resolve("fp32", CPU).memory_format == "contiguous"
    assert policy.channels_last_layout("cpu") == "contiguous"


FP32_LAYOUT = "channels_last" if torch.backends.mkldnn.is_available() else "contiguous"


def test_fp32_is_always_honoured(bf16_cpu):
    assert policy.resolve("fp32", CPU) == policy.Numerics("fp32", FP32_LAYOUT, "fp32 asked")
    assert numerics_for(TrainRecipe(precision="fp32"), CPU).precision == "fp32"


def test_the_seed_recipe_keeps_fp32(bf16_cpu):
    assert numerics_for(TrainRecipe.seed_recipe(), CPU).precision == "fp32"
    assert numerics_for(TrainRecipe(), CPU).precision == "bf16"


def test_bf16_on_a_cpu_without_it_is_refused(plain_cpu):
    with pytest.raises(ConfigError, match=r"^--precision: bf16 needs native bf16 and the CPU has no avx512_bf16"):
        policy.resolve("bf16", CPU, "--precision")
    with pytest.raises(ConfigError, match="choose one of auto, bf16, fp32"):
        policy.resolve("fp16", CPU)


def test_detection_reads_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(policy, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert "no avx512_bf16 or amx_bf16" in policy.cpu_bf16_missing()
    monkeypatch.setattr(policy, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert policy.cpu_bf16_missing() is None
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")  # ATEN_CPU_CAPABILITY=avx2
    assert "run at AVX2" in policy.cpu_bf16_missing()
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert "without oneDNN" in policy.cpu_bf16_missing()


def test_this_machines_flags_are_read():
    flags = policy.cpu_flags()
    assert isinstance(flags, frozenset)
    if flags:  # Linux: the flags line of /proc/cpuinfo
        assert ("avx512_bf16" in flags) == ("avx512_bf16" in Path("/proc/cpuinfo").read_text())


def test_forcing_overrides_the_recipe_and_is_undone(bf16_cpu):
    with forcing_precision("fp32"):
        assert numerics_for(TrainRecipe(), CPU).precision == "fp32"
    assert numerics_for(TrainRecipe(), CPU).precision == "bf16"
    with pytest.raises(ConfigError, match="--precision: unknown value 'half'"):
        forcing_precision("half")


def test_bf16_trains_as_well_as_fp32(data, monkeypatch):
    """Autocast keeps BatchNorm's statistics and the loss in fp32: the same network trained both ways
    ends with finite, close errors, fp32 weights and fp32 running statistics."""
    monkeypatch.setattr(policy, "cpu_bf16_missing", lambda: None)
    runs = {p: train(TINY, dataclasses.replace(FAST, precision=p), data, device="cpu") for p in ("fp32", "bf16")}
    (_, r32), (m16, r16) = runs["fp32"], runs["bf16"]
    assert (r32.precision, r32.memory_format) == ("fp32", FP32_LAYOUT)
    assert (r16.precision, r16.memory_format) == ("bf16", "channels_last")
    for r in (r32, r16):
        assert r.status == "ok" and all(math.isfinite(e.train_loss) for e in r.epochs)
        assert r.val_top1 < 0.5  # chance is 0.9
    print("val top-1 error fp32", r32.val_top1, "bf16", r16.val_top1)
    assert abs(r16.val_top1 - r32.val_top1) <= 0.15
    assert abs(r16.epochs[-1].train_loss - r32.epochs[-1].train_loss) <= 0.25 * r32.epochs[-1].train_loss + 0.05
    state = m16.state_dict()
    assert all(v.dtype == torch.float32 for k, v in state.items() if v.is_floating_point())
    assert all(torch.isfinite(v).all() for k, v in state.items() if "running" in k)


runner = CliRunner()


def train_json(config, *args: str) -> dict:
    base = ["train", "--config", str(config), "--dataset", "synthetic:60", "--epochs", "1", "--batch-size", "16"]
    result = runner.invoke(app, [*base, *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ("bf16", "channels_last", "auto")),
        (("--precision", "fp32"), ("fp32", FP32_LAYOUT, "fp32")),
        (("--recipe", "seed"), ("fp32", FP32_LAYOUT, "fp32")),
    ],
)
def test_train_json_states_precision_and_format(bf16_cpu, tiny_config, args, expected):
    s = train_json(tiny_config, *args)
    assert (s["precision"], s["memory_format"], s["recipe"]["precision"]) == expected
    assert s["threads"] >= 1


def test_train_json_on_a_cpu_without_bf16(plain_cpu, tiny_config):
    s = train_json(tiny_config)
    assert (s["precision"], s["memory_format"]) == ("fp32", FP32_LAYOUT)
    result = runner.invoke(
        app, ["train", "--config", str(tiny_config), "--dataset", "synthetic:60", "--precision", "bf16"]
    )
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: --precision: bf16 needs native bf16 and the CPU has no avx512_bf16")
    bad = runner.invoke(app, ["train", "--config", str(tiny_config), "--precision", "half"])
    assert bad.exit_code == 2 and "option.precision: unknown value 'half'; choose one of auto, bf16, fp32" in bad.stderr


def test_threads_stay_within_the_cpus_given(tmp_path, monkeypatch):
    quota = tmp_path / "cpu.max"
    quota.write_text("100000 100000\n")  # a container given one CPU
    monkeypatch.setattr(threads, "CGROUP_CPU_MAX", quota)
    assert threads.usable_cpus() == 1
    quota.write_text("max 100000\n")
    assert threads.usable_cpus() >= 1
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        assert threads.set_threads(1) == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert threads.set_threads() == torch.get_num_threads()  # the user's choice is kept
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    "command",
    [
        ["search", "--space", "googlenet_depth"],
        ["export", "no-such-study", "--out", "x"],
        ["reproduce", "seed-table"],
        ["reproduce", "d2l"],
    ],
)
def test_every_training_command_checks_precision_first(command):
    result = runner.invoke(app, [*command, "--precision", "half"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "precision: unknown value 'half'; choose one of auto, bf16, fp32" in result.stderr


@pytest.mark.parametrize(
    ("recipe", "native", "bf16"),
    [
        ({"precision": "auto"}, True, True),
        ({"precision": "auto"}, False, False),
        ({"precision": "bf16"}, False, False),  # evaluated in fp32 where bf16 is missing, not refused
        ({"precision": "fp32"}, True, False),
        ({"mixed_precision": True}, True, True),  # a model folder written before `precision`
        ({"mixed_precision": False}, True, False),
    ],
)
def test_an_exported_model_is_evaluated_as_it_trained(monkeypatch, recipe, native, bf16):
    from types import SimpleNamespace

    from inas.export.use import _autocast

    monkeypatch.setattr(policy, "cpu_bf16_missing", lambda: None if native else "no bf16 here")
    model = SimpleNamespace(bundle=SimpleNamespace(recipe=recipe))
    assert isinstance(_autocast(model, CPU)(), torch.autocast) == bf16
