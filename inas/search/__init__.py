"""The search: Ray Tune runs Optuna-proposed candidates into a study (SQLite by default)."""

from inas.search.runner import SearchSettings, SearchSummary, run_search
from inas.search.settings import BUDGETS, DEFAULT_OBJECTIVES, OBJECTIVES, Budget

__all__ = ["BUDGETS", "DEFAULT_OBJECTIVES", "OBJECTIVES", "Budget", "SearchSettings", "SearchSummary", "run_search"]
