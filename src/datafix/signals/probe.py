"""Torch linear or MLP probes with the scikit-learn classifier and regressor interfaces."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from datafix._validation import check_int, resolve_device


class _TorchProbe(BaseEstimator):
    """What the classifier and the regressor share: parameters, training, batched inference."""

    def __init__(
        self,
        hidden: int = 0,
        epochs: int = 100,
        lr: float = 1e-2,
        weight_decay: float = 1e-4,
        batch_size: int = 4096,
        device: str | None = None,
        random_state: int = 0,
    ) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state

    def _train(self, X: np.ndarray, target: torch.Tensor, outputs: int, loss_fn: torch.nn.Module) -> torch.nn.Module:
        """Train the linear or MLP network on standardised ``X`` (sets ``mean_``, ``scale_``,
        ``n_features_in_``) and return it in eval mode."""
        hidden = check_int(self.hidden, "hidden", minimum=0)
        epochs = check_int(self.epochs, "epochs", minimum=1)
        batch_size = check_int(self.batch_size, "batch_size", minimum=1)
        X = np.asarray(X, dtype=np.float32)
        device = resolve_device(self.device)
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        gen = torch.Generator().manual_seed(int(self.random_state))
        d = X.shape[1]
        torch_state = torch.random.get_rng_state()
        try:
            torch.manual_seed(int(self.random_state))  # module init reads the global generator
            layers = [torch.nn.Linear(d, outputs)] if hidden == 0 else [
                torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, outputs)
            ]
            model = torch.nn.Sequential(*layers).to(device)
        finally:
            torch.random.set_rng_state(torch_state)
        xt = torch.from_numpy((X - self.mean_) / self.scale_).to(device)
        yt = target.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        n = len(xt)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen).to(device) if batch_size < n else None
            for start in range(0, n, batch_size):
                sel = order[start : start + batch_size] if order is not None else slice(None)
                opt.zero_grad(set_to_none=True)
                loss_fn(model(xt[sel]), yt[sel]).backward()
                opt.step()
        self.n_features_in_ = d
        return model.eval()

    def _outputs(self, X: np.ndarray, head) -> np.ndarray:
        """``head(network output)`` for the rows of ``X``, in blocks of 65,536, as float64."""
        check_is_fitted(self, "model_")
        X = (np.asarray(X, dtype=np.float32) - self.mean_) / self.scale_
        device = next(self.model_.parameters()).device
        out = []
        with torch.inference_mode():
            for start in range(0, len(X), 65536):
                xb = torch.from_numpy(np.ascontiguousarray(X[start : start + 65536])).to(device)
                out.append(head(self.model_(xb)).cpu().numpy())
        width = self.model_[-1].out_features
        return np.concatenate(out).astype(np.float64) if out else np.empty((0, width))


class TorchProbeClassifier(ClassifierMixin, _TorchProbe):
    """Linear or small-MLP classifier trained with Adam in torch, on CPU or GPU.

    Meant as the cross-validation model for large n or when a GPU is there: features are
    standardised, training is full-batch or mini-batch, and every random draw comes from
    ``random_state``, so the same seed gives the same model on the same device.

    Parameters
    ----------
    hidden : int, default 0
        Width of the hidden layer; 0 gives a linear (multinomial logistic) probe.
    epochs : int, default 100
        Passes over the data.
    lr : float, default 1e-2
        Adam learning rate.
    weight_decay : float, default 1e-4
        L2 penalty.
    batch_size : int, default 4096
        Mini-batch size (the whole set when n is smaller).
    device : str, torch.device or None, default None
        None: CUDA when available, else the CPU (``"auto"`` means the same); any torch device.
    random_state : int, default 0
        Seed of the initialisation and the shuffling.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((20, 2)), np.ones((20, 2))] + np.random.default_rng(0).normal(0, .1, (40, 2))
    >>> y = np.r_[np.zeros(20, int), np.ones(20, int)]
    >>> probe = TorchProbeClassifier(epochs=50, device="cpu").fit(X, y)
    >>> probe.predict_proba(X).shape, (probe.predict(X) == y).mean()
    ((40, 2), np.float64(1.0))
    """

    def fit(self, X: np.ndarray, y: np.ndarray) -> TorchProbeClassifier:
        """Fit the probe on features ``X`` (n, d) and labels ``y`` (n,)."""
        self.classes_, y_codes = np.unique(np.asarray(y), return_inverse=True)
        self.model_ = self._train(X, torch.from_numpy(y_codes.astype(np.int64)), len(self.classes_),
                                  torch.nn.CrossEntropyLoss())
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self._outputs(X, lambda z: torch.softmax(z, dim=1))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class of each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class TorchProbeRegressor(RegressorMixin, _TorchProbe):
    """Linear or small-MLP regressor trained with Adam in torch, on CPU or GPU.

    The regression counterpart of :class:`TorchProbeClassifier`, with the same parameters:
    features and the target are standardised, and the loss is the Huber loss on the
    standardised target, so that a few wildly wrong targets do not drag the fit.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X @ [1.0, -2.0, 0.5] + 10
    >>> probe = TorchProbeRegressor(epochs=300, lr=0.05, device="cpu").fit(X, y)
    >>> bool(np.abs(probe.predict(X) - y).mean() < 0.1)
    True
    """

    def fit(self, X: np.ndarray, y: np.ndarray) -> TorchProbeRegressor:
        """Fit the probe on features ``X`` (n, d) and targets ``y`` (n,)."""
        y = np.asarray(y, dtype=np.float64)
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std()) or 1.0
        target = torch.from_numpy(((y - self.y_mean_) / self.y_scale_).astype(np.float32)).unsqueeze(1)
        self.model_ = self._train(X, target, 1, torch.nn.HuberLoss())
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The predicted target of each row."""
        return self._outputs(X, lambda z: z)[:, 0] * self.y_scale_ + self.y_mean_
