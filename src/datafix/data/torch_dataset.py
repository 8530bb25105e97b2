"""Adapter for torch map-style Datasets: labels from attributes, a function or one pass."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from datafix._tensors import shared_tensor
from datafix._validation import check_int
from datafix.data.arrays import as_feature_matrix
from datafix.data.labels import encode_labels
from datafix.data.view import DataView, _readonly, hash_rows
from datafix.errors import InvalidInputError, InvalidTypeError

FeatureSource = torch.nn.Module | Callable[[Any], Any]


def from_torch_dataset(
    dataset: Any,
    labels: Any = None,
    *,
    label_fn: Callable[[Any], Any] | None = None,
    features: Any = None,
    batch_size: int = 256,
    index: Sequence[Any] | None = None,
    kind: str = "torch",
    num_workers: int = 0,
    item_info: Callable[[Any], dict] | None = None,
    unlabelled: Any = False,
    verbose: bool = True,
) -> DataView:
    """Build a :class:`DataView` over a map-style torch Dataset.

    Labels come, in this order, from ``labels`` (``False``: the items have none), the dataset's
    ``targets`` or ``labels`` attribute, ``label_fn(item)``, or ``item[1]`` of each item. Features come from ``features``:
    an array, a ``torch.nn.Module`` run on batches of ``item[0]`` on the module's device, or a
    function ``feature_fn(item) -> array``. When labels or features need the items, the dataset
    is read once; items whose ``__getitem__`` (or ``label_fn``) raises are recorded as broken
    samples with the error, and the rest are used.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        A map-style dataset (``__len__`` and ``__getitem__``). It is only read.
    labels : array-like, optional
        One label per item, when the dataset has none of its own.
    label_fn : callable, optional
        ``label_fn(item) -> label``.
    features : array-like, torch.nn.Module or callable, optional
        Precomputed features, a feature extractor module, or a per-item function.
    batch_size : int, default 256
        Items per batch for the feature module.
    index : sequence, optional
        Identifiers of the items (default: positions).
    kind : str, default "torch"
        Recorded as ``DataView.kind``.
    num_workers : int, default 0
        DataLoader worker processes for the read pass (the dataset must be picklable).
    item_info : callable, optional
        ``item_info(item) -> dict`` of per-item statistics, kept as ``DataView.image_stats``;
        a ``"digest"`` entry replaces the content hash of ``item[0]``.
    unlabelled : bool or label value, default False
        As in :func:`~datafix.data.as_view`: None / NaN labels (and this value) mark unlabelled
        items (code -1) instead of raising.
    verbose : bool, default True
        Show a progress bar while reading the items.

    Returns
    -------
    DataView

    Examples
    --------
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> ds = TensorDataset(torch.randn(6, 3), torch.tensor([0, 1, 0, 1, 0, 1]))
    >>> view = from_torch_dataset(ds, features=torch.nn.Identity(), verbose=False)
    >>> view.features.shape, view.codes.tolist()
    ((6, 3), [0, 1, 0, 1, 0, 1])
    """
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise InvalidTypeError(
            f"The 'data' argument must be a map-style Dataset with __len__ and __getitem__; got "
            f"{type(dataset).__name__}."
        )
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    n = len(dataset)
    idx = pd.Index(index) if index is not None else pd.RangeIndex(n)
    no_labels = labels is False  # items without labels: audited without them
    raw_labels = [None] * n if no_labels else labels if labels is not None else (
        None if label_fn else _label_attribute(dataset))
    if raw_labels is not None and len(raw_labels) != n:
        raise InvalidInputError(f"The 'labels' argument has {len(raw_labels)} entries but the dataset has {n} items.")

    given_features = None
    extractor: FeatureSource | None = None
    if features is not None:
        if isinstance(features, torch.nn.Module) or callable(features):
            extractor = features
        else:
            given_features = as_feature_matrix(features, name="features", n=n)

    num_workers = check_int(num_workers, "num_workers", minimum=0)
    broken: dict[int, str] = {}
    feats = given_features
    hashes = None if given_features is None else hash_rows(given_features)
    info = None
    if raw_labels is None or extractor is not None or item_info is not None:
        raw_labels, feats, broken, hashes, info = _read_items(
            dataset, need_labels=raw_labels is None, given_labels=raw_labels, label_fn=label_fn,
            extractor=extractor, batch_size=batch_size, num_workers=num_workers, item_info=item_info,
            verbose=verbose,
        )
        feats = given_features if given_features is not None else feats
    if len(broken) == n and n:
        first = next(iter(broken.values()))
        raise InvalidInputError(f"Every item of the dataset failed to load; the first error was: {first}")
    codes, classes = (None, None) if no_labels else _encode_partial(raw_labels, broken, idx, unlabelled)
    if feats is not None and broken:
        feats = feats.copy() if feats is given_features else feats
        feats[list(broken)] = np.nan
    return DataView(
        index=idx,
        codes=codes,
        classes=classes,
        features=_readonly(feats),
        feature_names=None if feats is None else [f"f{j}" for j in range(feats.shape[1])],
        broken=broken,
        kind=kind,
        source=dataset,
        hashes=hashes,
        image_stats=None if info is None else info.set_axis(idx),
    )


def _label_attribute(dataset: Any) -> Any:
    for name in ("targets", "labels"):
        values = getattr(dataset, name, None)
        if values is not None and not callable(values):
            return values
    return None


def _read_items(
    dataset: Any,
    *,
    need_labels: bool,
    given_labels: Any,
    label_fn: Callable[[Any], Any] | None,
    extractor: FeatureSource | None,
    batch_size: int,
    num_workers: int,
    item_info: Callable[[Any], dict] | None,
    verbose: bool,
) -> tuple[list[Any], np.ndarray | None, dict[int, str], np.ndarray, pd.DataFrame | None]:
    n = len(dataset)
    labels: list[Any] = [None] * n
    broken: dict[int, str] = {}
    rows: list[np.ndarray | None] = [None] * n
    hashes = np.zeros(n, dtype=np.uint64)
    infos: list[dict] = [{} for _ in range(n)]
    module = extractor if isinstance(extractor, torch.nn.Module) else None
    device = _module_device(module) if module is not None else None
    if module is not None:
        was_training = module.training
        module.eval()
    try:
        with tqdm(total=n, desc="reading items", unit="item", disable=not verbose, leave=False) as bar:
            for batch in _batches(dataset, batch_size, num_workers):
                positions, inputs = [], []
                for i, item, error in batch:
                    try:
                        if error is not None:
                            raise _ItemError(error)
                        if need_labels:
                            labels[i] = label_fn(item) if label_fn else _second(item)
                            if hasattr(labels[i], "item") and getattr(labels[i], "ndim", 1) == 0:
                                labels[i] = labels[i].item()
                        info = item_info(item) if item_info is not None else {}
                        hashes[i] = info.pop("digest", None) or _digest(_first(item))
                        infos[i] = info
                        if extractor is not None:
                            x = _first(item) if module is not None else extractor(item)
                            if module is None:
                                rows[i] = np.asarray(x, dtype=np.float64).reshape(-1)
                            else:
                                inputs.append(shared_tensor(x))
                                positions.append(i)
                    except Exception as err:  # noqa: BLE001 - a failing item is data, not a crash
                        broken[i] = str(err) if isinstance(err, _ItemError) else f"{type(err).__name__}: {err}"
                if module is not None and inputs:
                    for pos, row in zip(positions, _run_module(module, inputs, device), strict=True):
                        rows[pos] = row
                bar.update(len(batch))
    finally:
        if module is not None and was_training:
            module.train()
    if not need_labels:
        labels = list(given_labels)
    feats = None
    if extractor is not None:
        width = next((len(r) for r in rows if r is not None), 0)
        if any(r is not None and len(r) != width for r in rows):
            raise InvalidInputError("The feature extractor returned rows of different lengths.")
        feats = np.full((n, width), np.nan)
        for i, r in enumerate(rows):
            if r is not None:
                feats[i] = r
    info_frame = pd.DataFrame(infos) if item_info is not None else None
    return labels, feats, broken, hashes, info_frame


class _ItemError(Exception):
    """An item's loading error, carried over from a DataLoader worker as text."""


class _SafeItems(torch.utils.data.Dataset):
    """Wraps a dataset so that a failing item becomes ``(i, None, error)`` instead of killing a batch."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[int, Any, str | None]:
        try:
            return i, self.dataset[i], None
        except Exception as err:  # noqa: BLE001
            return i, None, f"{type(err).__name__}: {err}"


def _batches(dataset: Any, batch_size: int, num_workers: int) -> Iterator[list[tuple[int, Any, str | None]]]:
    safe = _SafeItems(dataset)
    if num_workers == 0:
        for start in range(0, len(safe), batch_size):
            yield [safe[i] for i in range(start, min(start + batch_size, len(safe)))]
        return
    loader = torch.utils.data.DataLoader(
        safe, batch_size=batch_size, num_workers=num_workers, collate_fn=list, shuffle=False
    )
    yield from loader


def _digest(x: Any) -> int:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    raw = hashlib.blake2b(np.ascontiguousarray(arr).tobytes() + str(arr.shape).encode(), digest_size=8).digest()
    return int.from_bytes(raw, "little")


def _run_module(module: torch.nn.Module, inputs: list[torch.Tensor], device: torch.device) -> np.ndarray:
    try:
        batch = torch.stack(inputs).to(device)
    except RuntimeError as err:
        raise InvalidInputError(
            f"The dataset's inputs (item[0]) cannot be stacked into a batch for the feature module: {err}"
        ) from None
    if not batch.is_floating_point() and not getattr(module, "accepts_uint8", False):
        batch = batch.float()
    with torch.inference_mode():
        out = module(batch)
    return out.detach().float().flatten(1).cpu().numpy().astype(np.float64)


def embed_images(module: torch.nn.Module, images: Any, batch_size: int = 256) -> np.ndarray:
    """``module``'s outputs for an (N, C, H, W) image array or tensor, in batches on the module's
    device, as a float64 matrix (N, D).

    Examples
    --------
    >>> embed_images(torch.nn.Flatten(), torch.ones(3, 1, 2, 2)).shape
    (3, 4)
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    device = _module_device(module)
    was_training = module.training
    module.eval()
    try:
        chunks = [_run_module(module, list(shared_tensor(images[start:start + batch_size])), device)
                  for start in range(0, len(images), batch_size)]
    finally:
        module.train(was_training)
    return np.concatenate(chunks) if chunks else np.zeros((0, 0))


def _module_device(module: torch.nn.Module) -> torch.device:
    for tensor in [*module.parameters(), *module.buffers()]:
        return tensor.device
    return torch.device("cpu")


def _first(item: Any) -> Any:
    return item[0] if isinstance(item, (tuple, list)) else item


def _second(item: Any) -> Any:
    if isinstance(item, (tuple, list)) and len(item) >= 2:
        return item[1]
    if isinstance(item, dict) and "label" in item:
        return item["label"]
    raise InvalidInputError(
        "Cannot find the label in a dataset item: it is not a (input, label) pair and has no "
        "'label' key. Pass labels=..., or label_fn=lambda item: ..."
    )


def _encode_partial(raw: Any, broken: dict[int, str], index: pd.Index, unlabelled: Any = False
                    ) -> tuple[np.ndarray, np.ndarray]:
    values = raw.detach().cpu().numpy() if isinstance(raw, torch.Tensor) else raw
    if not broken:
        return encode_labels(values, index=index, unlabelled=unlabelled)
    ok = np.ones(len(index), dtype=bool)
    ok[list(broken)] = False
    kept = [v for v, good in zip(values, ok, strict=True) if good]
    codes_ok, classes = encode_labels(kept, index=index[ok], unlabelled=unlabelled)
    codes = np.full(len(index), -1, dtype=np.int64)
    codes[ok] = codes_ok
    return codes, classes
