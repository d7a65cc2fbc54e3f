"""Search spaces: YAML files of dimensions around a base preset, and sampling from them."""

from inas.space.registry import list_spaces, load_space
from inas.space.sampling import count_points, dimensions, sample, sample_many
from inas.space.schema import Candidate, Dim, SearchSpace

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
