"""What `supernet.json` says, read and checked field by field without torch: the CLI refuses a folder
that lies before anything heavy loads. The tensors themselves: `inas.supernet.bundle`."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from inas import __version__, limits
from inas.errors import ConfigError, InasError, shown
from inas.files import check_out_dir, read_json
from inas.model.config import ArchConfig
from inas.train.recipe import TrainRecipe, validate_recipe

FORMAT = "inas-supernet/1"
WEIGHTS, CONFIG, RESUME, RESUME_JSON = "supernet.safetensors", "supernet.json", "resume.safetensors", "resume.json"
TORCH_RNG = "torch_rng"  # the resume file's tensor of torch's generator state
# fp32 weights of the largest network inas builds, and an optimizer's two moments (AdamW) of them
MAX_WEIGHTS_BYTES = limits.MAX_PARAMS * 4 + (16 << 20)
MAX_RESUME_BYTES = 2 * MAX_WEIGHTS_BYTES
MAX_EPOCHS = 100_000  # epochs a history may list
# How a step picks the candidates it trains (`inas.supernet.train`): the sandwich rule with in-place
# distillation (BigNAS), or uniform single paths on the labels (SPOS).
RULES = ("sandwich", "uniform")
# How options name a supernet folder (`--evaluator supernet:DIR`, `inas export --init supernet:DIR`), and
# how a record names the supernet that scored it (`supernet:<hash>`).
SUPERNET_PREFIX = "supernet:"
# The narrowest copy a supernet may hold (`--width`, and what a folder may claim): a sixteenth of
# GoogLeNet keeps 4 to 24 channels a branch (from the 4-channel floor of a reduced-width copy up).
MIN_WIDTH = 1 / 16


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
    rule: str = RULES[0]
    inas_version: str = __version__
    torch_version: str = field(default_factory=lambda: version("torch"))

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
            "rule": self.rule,
            "epochs_done": self.epochs_done,
            "history": list(self.history),
            "weights_sha256": self.weights_sha256,
            "resume_sha256": self.resume_sha256,
            "inas_version": self.inas_version,
            "torch_version": self.torch_version,
        }


def supernet_value(value: str, plain: str, option: str, choices: str) -> str | None:
    """DIR of an option's `supernet:DIR`, None for its `plain` value; anything else refused, naming the
    `choices` in words."""
    if value == plain:
        return None
    folder = value.removeprefix(SUPERNET_PREFIX) if value.startswith(SUPERNET_PREFIX) else ""
    if not folder.strip():
        raise ConfigError(f"{option} {shown(value)}: give {choices}")
    return folder


def folder_error(path: Path, what: str) -> SupernetError:
    return SupernetError(f"{path}: {what}; train the supernet again (`inas supernet train`)")


def _number(raw: dict, key: str, path: Path, kind: type = float, low: float = 0, high: float = float("inf")) -> Any:
    value = raw.get(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or isinstance(value, int))
    if not ok or not low <= value <= high:
        raise folder_error(path, f"`{key}` is {shown(value)}, not a number in [{low:g}, {high:g}]")
    return kind(value)


def _text(raw: dict, key: str, path: Path, limit: int = 4096) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or len(value) > limit:
        raise folder_error(path, f"`{key}` is {shown(value)}, not a string")
    return value


def _floats(raw: dict, key: str, path: Path) -> tuple[float, ...]:
    value = raw.get(key)
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise folder_error(path, f"`{key}` is {shown(value)}, not a list of 1 to 4 numbers")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 1e-3 <= abs(v) + 1e-3 <= 10:
            raise folder_error(path, f"`{key}` holds {shown(v)}, not a per-channel statistic")
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
        raise folder_error(
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
        raise folder_error(path, f"its network or recipe does not load ({e})") from None
    if recipe is None:
        raise folder_error(path, "`recipe` is not an object")
    history = raw.get("history")
    if not isinstance(history, list) or len(history) > MAX_EPOCHS or not all(isinstance(h, dict) for h in history):
        raise folder_error(path, "`history` is not a list of epochs")
    sha = _text(raw, "weights_sha256", path, 64)
    rule = raw.get("rule", RULES[0])  # folders written before the rule was a choice: sandwich
    if rule not in RULES:
        raise folder_error(path, f"`rule` is {shown(rule)}, not one of {', '.join(RULES)}")
    return SupernetInfo(
        space=_text(raw, "space", path),
        space_fingerprint=_text(raw, "space_fingerprint", path, 64),
        widest=widest,
        width=_number(raw, "width", path, float, MIN_WIDTH, 1),
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
        rule=rule,
        inas_version=_text(raw, "inas_version", path, 100),
        torch_version=_text(raw, "torch_version", path, 100),
    )


def prepare_out(folder: Path, resume: bool) -> None:
    """Refuse, before any work, an --out folder this run may not write: a new or empty folder, or with
    --resume a supernet folder."""
    if resume:
        read_info(folder)  # refused with its own line if it is not one
        return
    check_out_dir(folder)
    folder.mkdir(parents=True, exist_ok=True)
