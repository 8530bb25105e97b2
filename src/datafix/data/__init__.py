"""Data adapters: one read-only :class:`DataView` over arrays, DataFrames, torch Datasets and image folders."""

from datafix.data.adapt import as_view
from datafix.data.arrays import from_arrays
from datafix.data.frame import from_frame
from datafix.data.image_folder import ImageFolderDataset, from_image_folder
from datafix.data.image_items import from_image_items
from datafix.data.items import ImageItems
from datafix.data.labels import decode_labels, encode_labels
from datafix.data.test_set import as_test_view
from datafix.data.torch_dataset import from_torch_dataset
from datafix.data.view import DataView

__all__ = [
    "DataView",
    "ImageFolderDataset",
    "ImageItems",
    "as_test_view",
    "as_view",
    "decode_labels",
    "encode_labels",
    "from_arrays",
    "from_frame",
    "from_image_folder",
    "from_image_items",
    "from_torch_dataset",
]
