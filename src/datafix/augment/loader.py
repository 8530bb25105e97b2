"""Feeding the GPU pipeline: uint8 batches copied to the device ahead of time, then augmented.

DataLoader workers only decode; :class:`DeviceLoader` pins each batch, copies it to the device
on a side stream while the model works on the previous one, and runs the batch pipeline there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from datafix.errors import InvalidTypeError


def _map(obj: Any, fn: Callable[[Tensor], Tensor]) -> Any:
    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, tuple | list):
        return type(obj)(_map(o, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: _map(v, fn) for k, v in obj.items()}
    return obj


class DeviceLoader:
    """Wrap a DataLoader: batches arrive on ``device``, images augmented by ``transform``.

    Parameters
    ----------
    loader : iterable
        Yields tensors, or tuples / lists / dicts of tensors (the first tensor, or ``"image"``
        of a dict, is the image batch).
    device : str or torch.device
    transform : callable, optional
        Applied to the image batch on the device (a :class:`~datafix.augment.Compose`).
    with_ids : bool, default False
        The loader's items end with the sample indices; they are passed to the transform as
        ``sample_ids`` (keyed draws) and dropped from the batch.

    Notes
    -----
    On CUDA the copy of batch ``k + 1`` runs on a side stream while batch ``k`` is used; the
    consumer's stream waits on it, so no host synchronisation is added. On a CPU the batch is
    passed through.

    Examples
    --------
    >>> import torch
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> from datafix.augment import Compose, DeviceLoader, HorizontalFlip
    >>> data = TensorDataset(torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8), torch.arange(10))
    >>> loader = DeviceLoader(DataLoader(data, batch_size=4), "cpu", Compose([HorizontalFlip()]))
    >>> [(x.dtype, tuple(x.shape)) for x, y in loader][0]
    (torch.float32, (4, 3, 8, 8))
    """

    def __init__(self, loader: Any, device: str | torch.device, transform: Callable[..., Any] | None = None,
                 *, with_ids: bool = False) -> None:
        if transform is not None and not callable(transform):
            raise InvalidTypeError(f"The 'transform' argument must be callable; got {type(transform).__name__}.")
        self.loader = loader
        self.device = torch.device(device)
        self.transform = transform
        self.with_ids = with_ids

    def __len__(self) -> int:
        return len(self.loader)

    def _copy(self, batch: Any) -> Any:
        cuda = self.device.type == "cuda"

        def move(t: Tensor) -> Tensor:
            if cuda and not t.is_pinned():
                t = t.pin_memory()
            return t.to(self.device, non_blocking=cuda)

        return _map(batch, move)

    def _augment(self, batch: Any) -> Any:
        ids = None
        if self.with_ids:
            batch, ids = batch[:-1], batch[-1]
            batch = batch[0] if len(batch) == 1 else batch
        if self.transform is None:
            return batch
        keys = {} if ids is None else {"sample_ids": ids}
        if isinstance(batch, Tensor):
            return self.transform(batch, **keys)
        if isinstance(batch, dict):
            return {**batch, "image": self.transform(batch["image"], **keys)}
        return type(batch)([self.transform(batch[0], **keys), *batch[1:]])

    def __iter__(self) -> Iterator[Any]:
        if self.device.type != "cuda":
            for batch in self.loader:
                yield self._augment(self._copy(batch))
            return
        stream = torch.cuda.Stream(device=self.device)
        pending = None
        for batch in self.loader:
            with torch.cuda.stream(stream):
                ready = self._copy(batch)
            event = stream.record_event()
            if pending is not None:
                yield self._finish(*pending)
            pending = (ready, event)
        if pending is not None:
            yield self._finish(*pending)

    def _finish(self, batch: Any, event: torch.cuda.Event) -> Any:
        torch.cuda.current_stream(self.device).wait_event(event)
        _map(batch, lambda t: t.record_stream(torch.cuda.current_stream(self.device)) or t)
        return self._augment(batch)
