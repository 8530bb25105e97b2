"""The Ray engine's reading passes: the cluster joined, the source opened (a Ray Dataset, Parquet /
CSV files or an image folder), rows numbered, blocks encoded with the broadcast layout, and
columns brought to the driver in row order."""

from __future__ import annotations

import os
import pickle
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datafix.data.encoding import FeatureLayout
from datafix.data.image_folder import IMAGE_EXTENSIONS, ImageFolderDataset
from datafix.data.labels import encode_labels
from datafix.errors import InvalidInputError, InvalidTypeError
from datafix.scale import blocks as B

#: Seconds to wait for a cluster at ``address`` before saying it cannot be reached.
CONNECT_TIMEOUT = 5.0


@dataclass
class Passes:
    """The passes over one audit's data: Ray, the rows per batch of the block functions, progress bars."""

    ray: Any
    batch_size: int
    verbose: bool

    def with_row_ids(self, ds: Any, name: str = "data") -> Any:
        """The dataset materialised, with each row's position as :data:`blocks.ROW`."""
        ray = self.ray
        count, add_ids = ray.remote(_num_rows), ray.remote(_add_row_ids)
        refs = ds.to_arrow_refs()
        counts = ray.get([count.remote(r) for r in refs])
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        if sum(counts) == 0:
            raise InvalidInputError(f"The {name!r} argument is empty: there are no rows to audit.")
        ids = ray.data.from_arrow_refs([add_ids.remote(r, int(o)) for r, o in zip(refs, offsets, strict=True)])
        return ids, int(sum(counts))

    def encode(self, ds: Any, layout: B.Layout) -> Any:
        """The rows encoded with ``layout`` (:func:`blocks.encode_block`), materialised."""
        if isinstance(layout.features_fn, type):  # a class: built once per actor of a pool
            return ds.map_batches(_Encoder, fn_constructor_args=(layout,), batch_format="pandas",
                                  batch_size=self.batch_size, **actor_pool(self.ray)).materialize()
        return ds.map_batches(B.encode_block, fn_kwargs={"layout": layout}, batch_format="pandas",
                              batch_size=self.batch_size).materialize()

    def moments(self, encoded: Any, name: str = "data") -> tuple[int, np.ndarray, np.ndarray]:
        """The rows, column means and standard deviations of the features, refusing missing or
        infinite values."""
        parts = [pickle.loads(row["moments"]) for row in
                 encoded.map_batches(B.moments_block, batch_format="numpy", batch_size=self.batch_size).take_all()]
        bad = sum(p[3] for p in parts)
        if bad:
            rows = [r for p in parts for r in p[4]][:5]
            raise InvalidInputError(f"{bad} rows of {name}= have missing or infinite feature values (rows {rows}, by "
                                    "position). The Ray engine does not drop or impute them: filter them out "
                                    "(ds.filter) or fill them (ds.map_batches) first, or audit with "
                                    "datafix.audit(nan_policy=...).")
        return B.merge_moments([p[:3] for p in parts])

    def collect(self, ds: Any, columns: list[str], rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Columns of ``ds`` on the driver, in row order (only the rows ``rows`` when given)."""
        wanted = [B.ROW, *columns]
        out: dict[str, list] = {c: [] for c in wanted}
        for batch in ds.select_columns(wanted).iter_batches(batch_format="numpy", batch_size=65536):
            keep = slice(None) if rows is None else np.isin(batch[B.ROW], rows)
            for c in wanted:
                out[c].append(np.asarray(batch[c])[keep])
        merged = {c: np.concatenate(v) for c, v in out.items()}
        order = np.argsort(merged[B.ROW], kind="stable")
        return {c: v[order] for c, v in merged.items()}

    def predict_others(self, out: np.ndarray, encoded: Any, row_ids: np.ndarray, sample: np.ndarray,
                       block_fn: Callable[..., dict[str, np.ndarray]], column: str, **fn_kwargs: Any) -> None:
        """Fill ``out`` (by position among ``row_ids``) at the rows outside the ``sample`` with
        ``block_fn``'s ``column``: the sample's fitted model predicting them on the cluster."""
        predicted = encoded.map_batches(block_fn, fn_kwargs=fn_kwargs, batch_format="numpy", batch_size=self.batch_size)
        got = self.collect(predicted, [column], np.setdiff1d(row_ids, sample))
        out[np.searchsorted(row_ids, got[B.ROW])] = got[column]

    def sample_table(self, ds: Any, layout: B.Layout, sample: np.ndarray) -> pd.DataFrame:
        """The raw feature columns of the ``sample``'s rows, in row order (the null check's columns table)."""
        keep = set(sample.tolist()) if len(sample) < 1_000_000 else None
        frames = []
        for batch in ds.select_columns([B.ROW, *layout.table_columns]).iter_batches(batch_format="pandas",
                                                                                    batch_size=65536):
            frames.append(batch if keep is None else batch[batch[B.ROW].isin(keep)])
        table = pd.concat(frames).sort_values(B.ROW)
        return table.drop(columns=[B.ROW]).reset_index(drop=True)


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InvalidInputError("The Ray engine needs Ray Data: pip install 'datafix[ray]'.") from None
    return ray


def connect(ray: Any, address: str | None) -> None:
    """Join the cluster at ``address`` (checked to answer within :data:`CONNECT_TIMEOUT`
    seconds), the one this process is connected to, or a new local one."""
    if address is None:
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False)
        return
    if not isinstance(address, str) or not address:
        raise InvalidInputError("The 'address' argument (--address) is a Ray cluster's 'host:port' or "
                                f"'ray://host:port'; got {address!r}.")
    if address != "auto":
        host, _, port = address.removeprefix("ray://").rpartition(":")
        if not host or not port.isdigit():
            raise InvalidInputError(f"The 'address' argument (--address) {address!r} is not 'host:port' or "
                                    "'ray://host:port'.")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
        except OSError as err:
            raise InvalidInputError(
                f"Cannot reach a Ray cluster at {address!r} (--address): {err.strerror or err}. Start one with "
                "'ray start --head' there, check the host and port, or leave --address out to run on this "
                "machine.") from None
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address=address, log_to_driver=False)


def read_dataset(ray: Any, data: Any, name: str = "data") -> Any:
    """The rows as a Dataset whose blocks come in the order of its rows (``preserve_order``; a
    Dataset keeps the context it was made with, so the user's is copied, never changed)."""
    if isinstance(data, ray.data.Dataset):
        ordered = ray.data.Dataset.copy(data, _deep_copy=True)
        ordered.context.execution_options.preserve_order = True
        return ordered
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise InvalidInputError(f"The {name!r} argument {str(path)!r} does not exist.")
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        suffixes = {p.suffix.lower() for p in files}
        if path.is_dir() and _images_only(suffixes):
            return ImageFolder.read(path)
        names = [str(p) for p in files]  # sorted: the rows' positions follow the files' names, not the listing
        if suffixes <= {".parquet"} and files:
            return ray.data.read_parquet(names)
        if suffixes <= {".csv"} and files:
            return ray.data.read_csv(names)
        raise InvalidInputError(f"The Ray engine reads Parquet or CSV files or an image folder; {str(path)!r} holds "
                                f"{sorted(suffixes) or 'no files'}.")
    raise InvalidTypeError(f"audit_ray reads {name}= from a ray.data.Dataset, a Parquet / CSV path or an image folder; "
                           f"got {type(data).__name__}.")


def is_image_folder(path: Path) -> bool:
    """Whether the Ray engine reads ``path`` as an image folder: a folder holding image files and
    no Parquet or CSV file."""
    return path.is_dir() and _images_only({p.suffix.lower() for p in path.rglob("*") if p.is_file()})


def _images_only(suffixes: set[str]) -> bool:
    return bool(suffixes & set(IMAGE_EXTENSIONS)) and not suffixes & {".parquet", ".csv"}


@dataclass(frozen=True)
class ImageFolder:
    """``root/<class>/<image>`` files, listed on the driver in the single-machine audit's order
    (:class:`~datafix.data.image_folder.ImageFolderDataset`); the files are read by Ray tasks."""

    root: Path
    paths: list[str]
    labels: list[str]

    #: Files per block of the listing.
    BLOCK = 500

    @classmethod
    def read(cls, root: Path) -> ImageFolder:
        listing = ImageFolderDataset(root)
        return cls(listing.root, [p.relative_to(listing.root).as_posix() for p, _ in listing.samples],
                   list(listing.targets))

    @property
    def index(self) -> pd.Index:
        return pd.Index(self.paths)

    def rows(self, ray: Any) -> Any:
        frame = pd.DataFrame({"path": self.paths, "label": self.labels})
        step = max(1, min(self.BLOCK, -(-len(frame) // 4)))  # at least 4 blocks
        return ray.data.from_pandas([frame.iloc[s : s + step] for s in range(0, len(frame), step)])

    def layout(self, dtype: Any, features: Any = None) -> B.Layout:
        _, classes = encode_labels(pd.Series(self.labels), name="labels")
        return B.Layout("label", classes, [], FeatureLayout((), ()), None, features, np.dtype(dtype))

    def encode(self, ray: Any, ds: Any, layout: B.Layout, image_size: int, batch_size: int, pixels: bool = False
               ) -> Any:
        """The files read and encoded by Ray tasks (:func:`blocks.encode_images_block`; ``pixels``:
        the pixels too, beside a module's features)."""
        kwargs = {"root": str(self.root), "image_size": image_size, "classes": layout.classes, "dtype": layout.dtype,
                  "pixels": pixels}
        size = min(batch_size, self.BLOCK)
        if isinstance(layout.features_fn, (type, partial)):  # built once per actor, on its GPU if any
            return ds.map_batches(_ImageEncoder, fn_constructor_args=(layout.features_fn, kwargs),
                                  batch_format="pandas", batch_size=size, **actor_pool(ray)).materialize()
        return ds.map_batches(B.encode_images_block, fn_kwargs={**kwargs, "module": layout.features_fn},
                              batch_format="pandas", batch_size=size).materialize()


class _ImageEncoder:
    """:func:`blocks.encode_images_block` with the user's module class built once per actor."""

    def __init__(self, module_class: Callable[[], Any], kwargs: dict[str, Any]) -> None:
        import torch

        self.module = module_class()
        if torch.cuda.is_available():
            self.module = self.module.cuda()
        self.kwargs = kwargs

    def __call__(self, block: pd.DataFrame) -> dict[str, np.ndarray]:
        return B.encode_images_block(block, module=self.module, **self.kwargs)


def usable(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The block's rows whose file decoded."""
    keep = np.asarray(batch[B.BROKEN]) == ""
    return {name: np.asarray(values)[keep] for name, values in batch.items()}


class _Encoder:
    """:func:`blocks.encode_block` with the user's feature class built once per actor."""

    def __init__(self, layout: B.Layout) -> None:
        self.layout = replace(layout, features_fn=layout.features_fn())

    def __call__(self, block: pd.DataFrame) -> dict[str, np.ndarray]:
        return B.encode_block(block, self.layout)


def actor_pool(ray: Any) -> dict[str, int]:
    """``map_batches`` options for a class run on an actor pool: one actor per GPU when the cluster
    has GPUs, else one per CPU."""
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    return {"concurrency": max(1, int(ray.cluster_resources().get("GPU" if gpus else "CPU", 1))), "num_gpus": gpus}


def _num_rows(table: Any) -> int:
    return table.num_rows


def _add_row_ids(table: Any, offset: int) -> Any:
    import pyarrow as pa

    if B.ROW in table.column_names:
        table = table.drop_columns([B.ROW])
    return table.append_column(B.ROW, pa.array(np.arange(offset, offset + table.num_rows, dtype=np.int64)))
