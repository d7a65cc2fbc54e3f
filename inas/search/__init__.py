"""The search: Ray Tune runs Optuna-proposed candidates into a study (SQLite by default)."""

from inas.lazy import lazy_exports

__all__ = ["BUDGETS", "DEFAULT_OBJECTIVES", "OBJECTIVES", "Budget", "SearchSettings", "SearchSummary", "run_search"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BUDGETS": "inas.search.settings",
        "DEFAULT_OBJECTIVES": "inas.search.settings",
        "OBJECTIVES": "inas.search.settings",
        "Budget": "inas.search.settings",
        "SearchSettings": "inas.search.settings",
        "SearchSummary": "inas.search.runner",
        "run_search": "inas.search.runner",
    },
)
