"""The augmentations the device loader knows, by name (plain data: recipes check against it without torch)."""

AUGMENTS = ("crop_flip", "flip", "none")
"""crop_flip: random crop (zero padding of 1/8 of the side) and horizontal flip; flip: flip only."""
