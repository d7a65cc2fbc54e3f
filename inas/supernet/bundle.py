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
import os
import random
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from inas import __version__, limits
from inas.errors import InasError, shown
from inas.files import check_out_dir, make_ordinary, read_json
from inas.model.config import ArchConfig
from inas.space.registry import load_space
from inas.space.schema import space_fingerprint
from inas.supernet.layout import SupernetLayout, supernet_layout
from inas.supernet.net import Supernet
from inas.supernet.train import SupernetEpoch, SupernetState
from inas.train.bundle import sha256
from inas.train.recipe import TrainRecipe, validate_recipe

FORMAT = "inas-supernet/1"
WEIGHTS, CONFIG, RESUME, RESUME_JSON = "supernet.safetensors", "supernet.json", "resume.safetensors", "resume.json"
TORCH_RNG = "torch_rng"  # the resume file's tensor of torch's generator state
# fp32 weights of the largest network inas builds, and an optimizer's two moments (AdamW) of them
MAX_WEIGHTS_BYTES = limits.MAX_PARAMS * 4 + (16 << 20)
MAX_RESUME_BYTES = 2 * MAX_WEIGHTS_BYTES
MAX_EPOCHS = 100_000  # epochs a history may list


class SupernetError(InasError):
    """A supernet folder that is missing, incomplete, corrupt, or of another space."""


@dataclass(frozen=True)
class SupernetInfo:
    """What `supernet.json` says."""

    space: str  # as given to `--space`: a built-in name or a file's path
    space_fingerprint: str
    widest: ArchConfig
    width: float
    dataset: str
    classes: int
    data_fraction: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    recipe: TrainRecipe
    n_random: int
    epochs_done: int
    history: tuple[dict[str, Any], ...]
    weights_sha256: str
    resume_sha256: str = ""
    inas_version: str = __version__
    torch_version: str = torch.__version__

    @property
    def hash(self) -> str:
        """The supernet's id in a study's fidelity (`supernet:<hash>`): its weights' hash."""
        return self.weights_sha256[:12]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "space": self.space,
            "space_fingerprint": self.space_fingerprint,
            "widest": self.widest.to_dict(),
            "width": self.width,
            "dataset": self.dataset,
            "classes": self.classes,
            "data_fraction": self.data_fraction,
            "mean": list(self.mean),
            "std": list(self.std),
            "recipe": self.recipe.to_dict(),
            "n_random": self.n_random,
            "epochs_done": self.epochs_done,
            "history": list(self.history),
            "weights_sha256": self.weights_sha256,
            "resume_sha256": self.resume_sha256,
            "inas_version": self.inas_version,
            "torch_version": self.torch_version,
        }


def _bad(path: Path, what: str) -> SupernetError:
    return SupernetError(f"{path}: {what}; train the supernet again (`inas supernet train`)")


def _number(raw: dict, key: str, path: Path, kind: type = float, low: float = 0, high: float = float("inf")) -> Any:
    value = raw.get(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or isinstance(value, int))
    if not ok or not low <= value <= high:
        raise _bad(path, f"`{key}` is {shown(value)}, not a number in [{low:g}, {high:g}]")
    return kind(value)


def _text(raw: dict, key: str, path: Path, limit: int = 4096) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(path, f"`{key}` is {shown(value)}, not a string")
    return value


def _floats(raw: dict, key: str, path: Path) -> tuple[float, ...]:
    value = raw.get(key)
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise _bad(path, f"`{key}` is {shown(value)}, not a list of 1 to 4 numbers")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 1e-3 <= abs(v) + 1e-3 <= 10:
            raise _bad(path, f"`{key}` holds {shown(v)}, not a per-channel statistic")
        out.append(float(v))
    return tuple(out)


def read_info(folder: Path) -> SupernetInfo:
    """`supernet.json` of a folder, every field checked."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SupernetError(f"{folder}: no such supernet folder; give the --out folder of `inas supernet train`")
    path = folder / CONFIG
    if not path.is_file() or path.is_symlink():
        raise SupernetError(
            f"{path}: missing (or not a regular file); the training did not finish an epoch: train again"
        )
    raw = read_json(path, SupernetError, "train the supernet again")
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise _bad(
            path, f"not a supernet description (format {shown(raw.get('format') if isinstance(raw, dict) else raw)})"
        )
    try:
        widest = ArchConfig.from_dict(raw.get("widest"), f"{path}: widest")
        recipe = (
            validate_recipe(TrainRecipe(**raw["recipe"]), f"{path}: recipe")
            if isinstance(raw.get("recipe"), dict)
            else None
        )
    except (TypeError, InasError) as e:
        raise _bad(path, f"its network or recipe does not load ({e})") from None
    if recipe is None:
        raise _bad(path, "`recipe` is not an object")
    history = raw.get("history")
    if not isinstance(history, list) or len(history) > MAX_EPOCHS or not all(isinstance(h, dict) for h in history):
        raise _bad(path, "`history` is not a list of epochs")
    sha = _text(raw, "weights_sha256", path, 64)
    return SupernetInfo(
        space=_text(raw, "space", path),
        space_fingerprint=_text(raw, "space_fingerprint", path, 64),
        widest=widest,
        width=_number(raw, "width", path, float, 1e-3, 1),
        dataset=_text(raw, "dataset", path),
        classes=_number(raw, "classes", path, int, 2, limits.MAX_CLASSES),
        data_fraction=_number(raw, "data_fraction", path, float, 1e-6, 1),
        mean=_floats(raw, "mean", path),
        std=_floats(raw, "std", path),
        recipe=recipe,
        n_random=_number(raw, "n_random", path, int, 0, 64),
        epochs_done=_number(raw, "epochs_done", path, int, 1, MAX_EPOCHS),
        history=tuple(history),
        weights_sha256=sha,
        resume_sha256=_text(raw, "resume_sha256", path, 64),
        inas_version=_text(raw, "inas_version", path, 100),
        torch_version=_text(raw, "torch_version", path, 100),
    )


def _checked_file(path: Path, limit: int, sha: str) -> dict[str, torch.Tensor]:
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise _bad(path, "missing") from None
    if not stat.S_ISREG(st.st_mode):
        raise _bad(path, "not a regular file")
    if st.st_size > limit:  # before it is hashed or read whole
        raise _bad(path, f"{st.st_size:,} bytes, over the {limit:,} a supernet's file may have")
    if sha256(path) != sha:
        raise _bad(path, f"does not match {CONFIG} (its SHA-256 differs): the files come from different epochs or runs")
    try:
        return load_file(path)
    except (SafetensorError, OSError) as e:
        raise _bad(path, f"cannot be read ({e})") from None


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
        raise _bad(where / CONFIG, "its widest network is not the space's")
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
        raise _bad(folder / WEIGHTS, f"does not fit the space's supernet ({first})") from None
    return supernet.to(device).eval(), info


def resume_state(folder: Path, info: SupernetInfo, supernet: Supernet) -> SupernetState:
    """The state a killed run left at its last finished epoch (optimizer, schedule, draws)."""
    extra = read_json(folder / RESUME_JSON, SupernetError, "train the supernet again without --resume")
    tensors = _checked_file(folder / RESUME, MAX_RESUME_BYTES, info.resume_sha256)
    if not isinstance(extra, dict) or extra.get("epoch") != info.epochs_done:
        raise _bad(folder / RESUME_JSON, "is not of the epoch supernet.json records")
    optimizer = extra.get("optimizer")
    if not isinstance(optimizer, dict) or not isinstance(optimizer.get("state"), dict):
        raise _bad(folder / RESUME_JSON, "`optimizer` is not an optimizer's state")
    for index, names in optimizer["state"].items():
        if not isinstance(names, dict):
            raise _bad(folder / RESUME_JSON, "`optimizer.state` is malformed")
        for name, value in list(names.items()):
            if value == "tensor":
                key = f"{index}.{name}"
                if key not in tensors:
                    raise _bad(folder / RESUME, f"holds no tensor {shown(key)}")
                names[name] = tensors[key]
    optimizer["state"] = {int(k): v for k, v in optimizer["state"].items()}
    rng = extra.get("rng")
    try:
        rng_state = (rng[0], tuple(rng[1]), rng[2])
        random.Random().setstate(rng_state)  # checks what it holds
    except (TypeError, IndexError, KeyError, ValueError, OverflowError):
        raise _bad(folder / RESUME_JSON, "`rng` is not a generator's state") from None
    torch_rng = tensors.get(TORCH_RNG)
    if torch_rng is not None and (torch_rng.dtype != torch.uint8 or torch_rng.shape != torch.get_rng_state().shape):
        raise _bad(folder / RESUME, "its generator state is not torch's")
    return SupernetState(
        epoch=info.epochs_done,
        model=supernet.state_dict(),
        optimizer=optimizer,
        scheduler=extra.get("scheduler") if isinstance(extra.get("scheduler"), dict) else {},
        rng=rng_state,
        torch_rng=torch_rng,
        history=[SupernetEpoch(**h) for h in info.history],
    )


def _replace(folder: Path, name: str, write) -> None:
    """Write `folder/name` through a temporary file renamed over it (never through a link)."""
    target = folder / name
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise SupernetError(f"{target}: not a regular file; inas never writes through it: choose a new --out folder")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".partial")
    os.close(fd)
    try:
        write(Path(tmp))
        make_ordinary(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    _replace(folder, RESUME_JSON, lambda p: p.write_text(json.dumps(extra) + "\n"))
    info = SupernetInfo(
        **{
            **info.__dict__,
            "epochs_done": state.epoch,
            "history": tuple(h.__dict__ for h in state.history),
            "weights_sha256": sha256(folder / WEIGHTS),
            "resume_sha256": sha256(folder / RESUME),
        }
    )
    _replace(folder, CONFIG, lambda p: p.write_text(json.dumps(info.to_dict(), indent=2) + "\n"))
    return info


def prepare_out(folder: Path, resume: bool) -> None:
    """Refuse, before any work, an --out folder this run may not write: a new or empty folder, or with
    --resume a supernet folder."""
    if resume:
        read_info(folder)  # refused with its own line if it is not one
        return
    check_out_dir(folder)
    folder.mkdir(parents=True, exist_ok=True)
