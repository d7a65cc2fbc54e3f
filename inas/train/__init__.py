"""Training recipes (the training loop itself arrives with issue [2/6])."""

from inas.train.recipe import TrainRecipe

__all__ = ["TrainRecipe"]
