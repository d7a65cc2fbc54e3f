"""Datasets in memory and the device-resident loader."""

from inas.lazy import lazy_exports

__all__ = ["DeviceLoader", "ImageData", "list_datasets", "load_dataset", "stratified_split", "synthetic"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DeviceLoader": "inas.data.loader",
        **dict.fromkeys(
            ["ImageData", "list_datasets", "load_dataset", "stratified_split", "synthetic"], "inas.data.datasets"
        ),
    },
)
