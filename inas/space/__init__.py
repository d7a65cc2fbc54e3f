"""Search spaces: YAML files of dimensions around a base preset, and sampling from them."""

from inas.lazy import lazy_exports

__all__ = [
    "Candidate",
    "Dim",
    "SearchSpace",
    "count_points",
    "dimensions",
    "list_spaces",
    "load_space",
    "sample",
    "sample_many",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "list_spaces": "inas.space.registry",
        "load_space": "inas.space.registry",
        **dict.fromkeys(["count_points", "dimensions"], "inas.space.dims"),
        **dict.fromkeys(["sample", "sample_many"], "inas.space.sampling"),
        **dict.fromkeys(["Candidate", "Dim", "SearchSpace"], "inas.space.schema"),
    },
)
