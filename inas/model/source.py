"""Where a command's network comes from: a preset name, or a JSON config file (no torch needed)."""

from __future__ import annotations

from pathlib import Path

from inas.errors import ConfigError
from inas.files import read_json
from inas.model.config import ArchConfig
from inas.model.presets import get_preset


def read_config(path: Path) -> ArchConfig:
    """An `ArchConfig` from a JSON file: the config itself, or one candidate of `inas space sample --json`."""
    if not path.is_file():
        raise ConfigError(
            f"{path}: no such file; give a JSON config (for example one item of `inas space sample --json`)"
        )
    data = read_json(path, ConfigError, "give a JSON config")
    if isinstance(data, list):
        if len(data) != 1:
            raise ConfigError(f"{path}: holds {len(data)} candidates; save one of them to its own file")
        data = data[0]
    if isinstance(data, dict) and "arch" in data:
        data = data["arch"]  # a candidate as `inas space sample --json` prints it
    try:
        return ArchConfig.from_dict(data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def load_arch(preset: str | None, config: Path | None) -> ArchConfig:
    """The network of `--preset NAME` or `--config FILE.json` (exactly one of them)."""
    if (preset is None) == (config is None):
        raise ConfigError("give exactly one of --preset NAME or --config FILE.json")
    return get_preset(preset) if preset is not None else read_config(config)  # type: ignore[arg-type]
