"""inas: neural architecture search over GoogLeNet / Inception configurations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("inas")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
