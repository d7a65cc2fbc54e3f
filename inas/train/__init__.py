"""Training: the recipe, the loop and its metrics."""

from inas.train.loop import evaluate, pick_device, train
from inas.train.metrics import EpochMetrics, TrainResult, topk_correct
from inas.train.recipe import TrainRecipe

__all__ = ["EpochMetrics", "TrainRecipe", "TrainResult", "evaluate", "pick_device", "topk_correct", "train"]
