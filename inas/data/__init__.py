"""Datasets in memory and the device-resident loader."""

from inas.data.datasets import ImageData, list_datasets, load_dataset, stratified_split, synthetic
from inas.data.loader import DeviceLoader

__all__ = ["DeviceLoader", "ImageData", "list_datasets", "load_dataset", "stratified_split", "synthetic"]
