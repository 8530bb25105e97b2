"""SMOTE in torch, on CPU or GPU, with provenance for every synthetic row.

Same semantics as imbalanced-learn's SMOTE: for each class to grow, a synthetic row is
``x + u * (x_nn - x)`` with ``x`` a uniformly drawn row of the class, ``x_nn`` one of its ``k``
nearest same-class rows (uniformly) and ``u ~ U(0, 1)``; the per-class counts come from the same
``sampling_strategy``. Neighbours come from datafix's search (exact, or the inverted-file
search for classes above 30,000 rows on a CPU, where SMOTE does not need exact neighbours), on
the device the data is on; the interpolation is one batched gather-and-lerp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from datafix._tensors import shared_tensor
from datafix._validation import (
    check_choice,
    check_int,
    py_value,
    resolve_device,
    sampling_targets,
)
from datafix.data.classes import class_codes
from datafix.errors import InvalidInputError, warn_user
from datafix.signals.neighbors import knn_graph


@dataclass(frozen=True)
class SyntheticRows:
    """New rows and where they came from.

    Attributes
    ----------
    X : numpy.ndarray or torch.Tensor of shape (m, d)
        The synthetic features (a tensor on the input's device when the input was a tensor).
    y : numpy.ndarray of shape (m,)
        Their labels, in the user's values.
    provenance : pandas.DataFrame
        One row per synthetic sample: ``is_synthetic`` (True), ``parent`` and ``neighbour``
        (source rows), ``step``, ``method``, ``seed``.
    """

    X: Any
    y: np.ndarray
    provenance: pd.DataFrame


class TorchSMOTE:
    """SMOTE on torch tensors (CPU or CUDA), with imbalanced-learn's sampling semantics.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default "auto"
        As in imbalanced-learn's SMOTE (``"auto"``: every class up to the largest).
    k_neighbors : int, default 5
        Same-class neighbours to interpolate towards; lowered for a class with ``k`` or fewer
        rows, and a class with one row is copied (both with a warning).
    knn_backend : {"auto", "exact", "ivf"}, default "auto"
        The neighbour search (see :func:`datafix.signals.knn_graph`): ``"auto"`` is exact on a GPU
        and below 30,000 rows per class.
    device : str or torch.device, optional
        Where to run (default: the tensor's device, else CUDA when available, else CPU).
    random_state : int, default 0
        Seeds the draws.

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0]])
    >>> new = TorchSMOTE(k_neighbors=1, random_state=0).sample(X, [0, 0, 0, 1, 1])
    >>> new.X.shape, new.y.tolist(), new.provenance["parent"].isin([3, 4]).all()
    ((1, 2), [1], np.True_)
    """

    def __init__(self, sampling_strategy: Any = "auto", *, k_neighbors: int = 5, knn_backend: str = "auto",
                 device: str | torch.device | None = None, random_state: int = 0) -> None:
        self.sampling_strategy = sampling_strategy
        self.k_neighbors = check_int(k_neighbors, "k_neighbors", minimum=1)
        self.knn_backend = check_choice(knn_backend, "knn_backend", ("auto", "exact", "ivf"))
        self.device = device
        self.random_state = check_int(random_state, "random_state", minimum=0)

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        """The input rows followed by the synthetic ones (like imbalanced-learn's ``fit_resample``)."""
        new = self.sample(X, y)
        if isinstance(X, torch.Tensor):
            return torch.cat([X, new.X.to(X.dtype)]), np.concatenate([np.asarray(y), new.y])
        return np.vstack([np.asarray(X), new.X]), np.concatenate([np.asarray(y), new.y])

    def sample(self, X: Any, y: Any) -> SyntheticRows:
        """Only the synthetic rows, with their provenance."""
        is_tensor = isinstance(X, torch.Tensor)
        device = resolve_device(self.device, X)
        Xt = (X.detach() if is_tensor else shared_tensor(np.asarray(X))).to(device)
        if Xt.ndim != 2 or not torch.is_floating_point(Xt):
            raise InvalidInputError(f"The 'X' argument must be a 2-D float array; got {Xt.dtype} of shape {tuple(Xt.shape)}.")
        if not torch.isfinite(Xt).all():
            raise InvalidInputError("The 'X' argument has NaN or inf values; impute or drop them first.")
        codes, classes = class_codes(y, None, name="y")
        if len(codes) != len(Xt):
            raise InvalidInputError(f"The 'y' argument has {len(codes)} labels for {len(Xt)} rows of X.")
        add = sampling_targets(self.sampling_strategy, codes, "over")
        gen = torch.Generator(device=device).manual_seed(self.random_state)
        parts, parent, neighbour, steps, labels, adapted = [], [], [], [], [], {}
        for c in np.flatnonzero(add):
            members = np.flatnonzero(codes == c)
            m = int(add[c])
            k = min(self.k_neighbors, len(members) - 1)
            if k < self.k_neighbors:
                adapted[py_value(classes[c])] = k
            members_t = torch.as_tensor(members, device=device)
            rows = torch.randint(len(members), (m,), generator=gen, device=device)
            if k == 0:  # one row: copies of it
                nn_rows, step = rows, torch.zeros(m, device=device, dtype=Xt.dtype)
            else:
                nns = torch.as_tensor(self._neighbours(Xt[members_t], k, device), device=device)
                cols = torch.randint(k, (m,), generator=gen, device=device)
                nn_rows = nns[rows, cols]
                step = torch.rand(m, generator=gen, device=device, dtype=Xt.dtype)
            base, other = Xt[members_t[rows]], Xt[members_t[nn_rows]]
            parts.append(torch.lerp(base, other, step[:, None]))
            parent.append(members_t[rows])
            neighbour.append(members_t[nn_rows])
            steps.append(step)
            labels.append(np.full(m, c))
        if adapted:
            warn_user(f"TorchSMOTE: classes with too few rows for k_neighbors={self.k_neighbors} use fewer "
                          f"neighbours (class: k; k=0 copies the single row): {adapted}")
        new = torch.cat(parts) if parts else Xt.new_zeros((0, Xt.shape[1]))
        prov = pd.DataFrame({
            "is_synthetic": True,
            "parent": torch.cat(parent).cpu().numpy() if parts else np.zeros(0, np.int64),
            "neighbour": torch.cat(neighbour).cpu().numpy() if parts else np.zeros(0, np.int64),
            "step": torch.cat(steps).cpu().numpy().astype(np.float64) if parts else np.zeros(0),
            "method": "smote",
            "seed": self.random_state,
        })
        y_new = classes[np.concatenate(labels)] if labels else classes[:0]
        return SyntheticRows(new if is_tensor else new.cpu().numpy(), y_new, prov)

    def _neighbours(self, Xc: torch.Tensor, k: int, device: torch.device) -> np.ndarray:
        backend = self.knn_backend
        if backend == "auto":
            backend = "ivf" if device.type == "cpu" and len(Xc) > 30_000 else "exact"
        return knn_graph(Xc, k, standardize=False, knn_backend=backend, device=device).indices
