"""inas: neural architecture search over GoogLeNet / Inception configurations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("inas")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


def load_model(folder, device="cpu"):
    """An exported model (`inas export --out FOLDER`) in eval mode, with `.config` and `.bundle`."""
    from inas.train.bundle import load_model as _load

    return _load(folder, device)
