"""Training: the recipe (plain data), the loop and its metrics."""

from inas.lazy import lazy_exports

__all__ = ["EpochMetrics", "TrainRecipe", "TrainResult", "evaluate", "pick_device", "topk_correct", "train"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "EpochMetrics": "inas.train.metrics",
        "TrainResult": "inas.train.metrics",
        "topk_correct": "inas.train.metrics",
        "TrainRecipe": "inas.train.recipe",
        "evaluate": "inas.train.loop",
        "pick_device": "inas.train.loop",
        "train": "inas.train.loop",
    },
)
