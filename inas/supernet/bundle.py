"""A trained supernet on disk: `supernet.safetensors` and `supernet.json`, plus what a resume needs.

- `supernet.safetensors`: the supernet's tensors (CPU, contiguous);
- `supernet.json`: the space (name, file, fingerprint), the layout's widest config and width, the
  recipe, the dataset with its classes, data fraction and normalisation, the candidates a step trains,
  the epochs done and their history, the code versions, and the SHA-256 of both weights files;
- `resume.safetensors`: the optimizer's tensors, for a run that goes on.

Every epoch rewrites the files, each through a temporary file renamed over the last one, the JSON
last: a folder whose JSON names weights of another epoch (a run killed between two renames, or files
mixed by hand) is refused, never used. Nothing read is trusted: sizes are bounded before a file is
hashed or loaded, and every field is checked before it is used.
"""

from __future__ import annotations

import json
import random
import stat
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from inas.errors import shown
from inas.files import read_json, write_atomic
from inas.space.registry import load_space
from inas.space.schema import space_fingerprint
from inas.supernet.info import (  # noqa: F401  (re-exported: the folder's names and its description)
    CONFIG,
    FORMAT,
    MAX_RESUME_BYTES,
    MAX_WEIGHTS_BYTES,
    RESUME,
    RESUME_JSON,
    TORCH_RNG,
    WEIGHTS,
    SupernetError,
    SupernetInfo,
    folder_error,
    prepare_out,
    read_info,
)
from inas.supernet.layout import SupernetLayout, supernet_layout
from inas.supernet.net import Supernet
from inas.supernet.train import SupernetEpoch, SupernetState
from inas.train.bundle import sha256


def _checked_file(path: Path, limit: int, sha: str) -> dict[str, torch.Tensor]:
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise folder_error(path, "missing") from None
    if not stat.S_ISREG(st.st_mode):
        raise folder_error(path, "not a regular file")
    if st.st_size > limit:  # before it is hashed or read whole
        raise folder_error(path, f"{st.st_size:,} bytes, over the {limit:,} a supernet's file may have")
    if sha256(path) != sha:
        raise folder_error(
            path, f"does not match {CONFIG} (its SHA-256 differs): the files come from different epochs or runs"
        )
    try:
        return load_file(path)
    except (SafetensorError, OSError) as e:
        raise folder_error(path, f"cannot be read ({e})") from None


def layout_of(info: SupernetInfo, where: Path) -> SupernetLayout:
    """The layout a supernet folder was trained with, rebuilt from its space; refused if the space's
    file changed since, or the rebuilt widths are not those the folder records."""
    space = load_space(info.space)
    if space_fingerprint(space) != info.space_fingerprint:
        raise SupernetError(
            f"{where}: trained on another version of space {info.space} (its fingerprint differs); "
            "train a supernet for this space"
        )
    layout = supernet_layout(space, info.classes, info.widest.in_channels, info.width)
    if layout.widest != info.widest:
        raise folder_error(where / CONFIG, "its widest network is not the space's")
    return layout


def load_supernet(folder: str | Path, device: str | torch.device = "cpu") -> tuple[Supernet, SupernetInfo]:
    """A trained supernet and what its folder says of it; everything checked first."""
    folder = Path(folder)
    info = read_info(folder)
    layout = layout_of(info, folder)
    weights = _checked_file(folder / WEIGHTS, MAX_WEIGHTS_BYTES, info.weights_sha256)
    supernet = Supernet(layout)
    try:
        supernet.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)
        raise folder_error(folder / WEIGHTS, f"does not fit the space's supernet ({first})") from None
    return supernet.to(device).eval(), info


def resume_state(folder: Path, info: SupernetInfo, supernet: Supernet) -> SupernetState:
    """The state a killed run left at its last finished epoch (optimizer, schedule, draws)."""
    extra = read_json(folder / RESUME_JSON, SupernetError, "train the supernet again without --resume")
    tensors = _checked_file(folder / RESUME, MAX_RESUME_BYTES, info.resume_sha256)
    if not isinstance(extra, dict) or extra.get("epoch") != info.epochs_done:
        raise folder_error(folder / RESUME_JSON, "is not of the epoch supernet.json records")
    optimizer = extra.get("optimizer")
    if not isinstance(optimizer, dict) or not isinstance(optimizer.get("state"), dict):
        raise folder_error(folder / RESUME_JSON, "`optimizer` is not an optimizer's state")
    for index, names in optimizer["state"].items():
        if not isinstance(names, dict):
            raise folder_error(folder / RESUME_JSON, "`optimizer.state` is malformed")
        for name, value in list(names.items()):
            if value == "tensor":
                key = f"{index}.{name}"
                if key not in tensors:
                    raise folder_error(folder / RESUME, f"holds no tensor {shown(key)}")
                names[name] = tensors[key]
    try:
        optimizer["state"] = {int(k): v for k, v in optimizer["state"].items()}
        history = tuple(SupernetEpoch(**h) for h in info.history)
    except (TypeError, ValueError):
        raise folder_error(folder / RESUME_JSON, "its optimizer state or the history is malformed") from None
    rng = extra.get("rng")
    try:
        rng_state = (rng[0], tuple(rng[1]), rng[2])
        random.Random().setstate(rng_state)  # checks what it holds
    except (TypeError, IndexError, KeyError, ValueError, OverflowError):
        raise folder_error(folder / RESUME_JSON, "`rng` is not a generator's state") from None
    torch_rng = tensors.get(TORCH_RNG)
    if torch_rng is not None and (torch_rng.dtype != torch.uint8 or torch_rng.shape != torch.get_rng_state().shape):
        raise folder_error(folder / RESUME, "its generator state is not torch's")
    return SupernetState(
        epoch=info.epochs_done,
        model=supernet.state_dict(),
        optimizer=optimizer,
        scheduler=extra.get("scheduler") if isinstance(extra.get("scheduler"), dict) else {},
        rng=rng_state,
        torch_rng=torch_rng,
        history=history,
    )


def _replace(folder: Path, name: str, content) -> None:
    """Write `folder/name` (text, or a function writing the path it is given) through a temporary file
    renamed over it (never through a link)."""
    write_atomic(folder / name, content, "--out", stream=False)


def write_epoch(folder: Path, info: SupernetInfo, state: SupernetState) -> SupernetInfo:
    """Write the supernet after an epoch: weights, the resume state, then `supernet.json`."""
    folder = Path(folder)
    weights = {k: v.detach().cpu().contiguous() for k, v in state.model.items()}
    _replace(folder, WEIGHTS, lambda p: save_file(weights, p, metadata={"format": FORMAT}))
    optimizer = {"state": {}, "param_groups": state.optimizer.get("param_groups", [])}
    tensors: dict[str, torch.Tensor] = {}
    for index, values in state.optimizer.get("state", {}).items():
        optimizer["state"][str(index)] = {}
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
                value = "tensor"
            optimizer["state"][str(index)][name] = value
    if state.torch_rng is not None:
        tensors[TORCH_RNG] = state.torch_rng
    _replace(folder, RESUME, lambda p: save_file(tensors, p, metadata={"format": FORMAT}))
    rng = state.rng
    extra = {
        "epoch": state.epoch,
        "optimizer": optimizer,
        "scheduler": state.scheduler,
        "rng": [rng[0], list(rng[1]), rng[2]],
    }
    _replace(folder, RESUME_JSON, json.dumps(extra) + "\n")
    info = SupernetInfo(
        **{
            **info.__dict__,
            "epochs_done": state.epoch,
            "history": tuple(h.__dict__ for h in state.history),
            "weights_sha256": sha256(folder / WEIGHTS),
            "resume_sha256": sha256(folder / RESUME),
        }
    )
    _replace(folder, CONFIG, json.dumps(info.to_dict(), indent=2) + "\n")
    return info
