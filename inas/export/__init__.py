"""The end of the journey: a chosen candidate retrained, written as a model folder, and used again."""
