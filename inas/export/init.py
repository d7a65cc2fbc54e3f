"""`inas export --init`: the weights a retraining starts from, seeded (`scratch`) or the ones the
candidate inherits from a full-width supernet of the study's space (`supernet:DIR`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from inas.errors import ConfigError, shown
from inas.study.keys import SETTINGS_KEY, SPACE_FINGERPRINT_KEY
from inas.supernet.info import SUPERNET_PREFIX, supernet_value

if TYPE_CHECKING:
    import torch

    from inas.data.datasets import ImageData
    from inas.model.config import ArchConfig
    from inas.study.load import StudyRef
    from inas.supernet.info import SupernetInfo

SCRATCH = "scratch"
INIT_CHOICES = f"{SCRATCH}|{SUPERNET_PREFIX}DIR"


def init_folder(init: str) -> Path | None:
    """The supernet folder of `--init supernet:DIR`, None for `scratch`; anything else is refused."""
    folder = supernet_value(
        init,
        SCRATCH,
        "--init",
        "`scratch` (seeded weights) or `supernet:DIR` (the weights the candidate inherits from the supernet "
        "`inas supernet train --width 1 --out DIR` wrote)",
    )
    return None if folder is None else Path(folder)


def check_init(init: str) -> SupernetInfo | None:
    """What `--init`'s supernet says of itself, checked without torch; None for `scratch`."""
    from inas.supernet.info import read_info

    folder = init_folder(init)
    if folder is None:
        return None
    info = read_info(folder)
    _refuse_narrow(info, folder)
    return info


def _refuse_narrow(info: SupernetInfo, folder: Path) -> None:
    """An export trains at full width, so a supernet of reduced-width copies cannot start it."""
    if info.width != 1.0:
        raise ConfigError(
            f"--init: the supernet in {folder} holds width x{info.width:g} copies and an export trains at full "
            "width; train a full-width one (`inas supernet train --width 1`), or give --init scratch"
        )


def inherited(init: str, ref: StudyRef, arch: ArchConfig, data: ImageData) -> tuple[dict[str, torch.Tensor], str]:
    """The state dict candidate `arch` (full width) inherits from `--init`'s supernet, and the supernet's
    name for the record (`supernet:<hash>`). Refused: a reduced-width supernet, one of another space or
    of other data. Every check reads the description loaded with the weights, not an earlier read."""
    from inas.supernet.bundle import load_supernet

    folder = init_folder(init)
    assert folder is not None, "inherited() is for --init supernet:DIR"
    supernet, info = load_supernet(folder)  # every tensor checked against the description
    _refuse_narrow(info, folder)
    settings = ref.study.user_attrs.get(SETTINGS_KEY, {})
    if settings.get(SPACE_FINGERPRINT_KEY) != info.space_fingerprint:
        raise ConfigError(
            f"--init: the supernet in {folder} holds space {info.space}, and study {shown(ref.name)} searched "
            f"{shown(settings.get('space', 'another'))}; give a supernet of the study's space, or --init scratch"
        )
    if (data.num_classes, data.channels) != (info.classes, info.widest.in_channels):
        raise ConfigError(
            f"--init: the supernet in {folder} was trained on {info.classes} classes of "
            f"{info.widest.in_channels}-channel images, and {data.name} has {data.num_classes} of {data.channels}; "
            "export on the supernet's kind of data, or give --init scratch"
        )
    try:
        weights = supernet.inherit(arch)
    except ValueError as e:
        raise ConfigError(f"--init: the supernet in {folder} does not hold this candidate ({e})") from None
    return {k: v.detach().clone() for k, v in weights.items()}, f"{SUPERNET_PREFIX}{info.hash}"
