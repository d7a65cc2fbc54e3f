"""inas: neural architecture search over GoogLeNet / Inception configurations.

The Python API beside the CLI: `run_search(SearchSettings(...))` (what `inas search` runs),
`load_model(folder)` and `predict(model, images)` (what `inas predict` runs). `import inas` imports
no torch, Optuna or Ray: each name loads what it needs when it is used.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("inas")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

# Plain data, imported when first asked for (these modules import no torch, Optuna or Ray).
_LAZY = {
    "SearchSettings": "inas.search.settings",
    "Budget": "inas.train.budget",
    "BUDGETS": "inas.train.budget",
    "SearchSummary": "inas.search.runner",
}
__all__ = ["BUDGETS", "Budget", "SearchSettings", "SearchSummary", "load_model", "predict", "run_search"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'inas' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def run_search(settings=None, /, *, view: str | None = None, **fields):
    """Run a search into its study and return its SearchSummary: `run_search(SearchSettings(space=...))`,
    or the settings' fields as keywords, with `budget` a Budget or a name in BUDGETS:
    `run_search(space="googlenet_depth", trials=20, budget="proxy")`. `view`: None (silent), "live"
    or "log" (progress on stderr, as `inas search` shows it)."""
    from inas.search.runner import run_search as _run
    from inas.search.settings import BUDGETS, SearchSettings

    if settings is None:
        if isinstance(fields.get("budget"), str):
            fields["budget"] = BUDGETS.get(fields["budget"], "budget")
        settings = SearchSettings(**fields)
    elif fields:
        raise TypeError("run_search: give a SearchSettings or its fields as keywords, not both")
    return _run(settings, view)


def load_model(folder, device="cpu"):
    """An exported model (`inas export --out FOLDER`) in eval mode, with `.config`, `.bundle` and
    `.preprocess` (images -> the normalised batch the network takes, as it was trained)."""
    from inas.train.bundle import load_model as _load

    return _load(folder, device)


def predict(model, images, k: int = 5) -> list[dict[str, Any]]:
    """The top-`k` classes, with probabilities, of each image: files, PIL images, or uint8 (0-255) or
    float ([0, 1]) tensors; resized and normalised as the model was trained (as `inas predict` does)."""
    from inas.export.use import predict as _predict

    return _predict(model, images, k)
