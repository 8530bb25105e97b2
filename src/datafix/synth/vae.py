"""A class-conditional variational autoencoder for DataFrames, in the style of TVAE.

Numeric columns enter as normal scores of their ranks (plus a missing-value indicator where a
column has gaps), categorical columns as one-hot blocks; the class is a one-hot condition of
both encoder and decoder. The decoder outputs a Gaussian mean per numeric score and logits per
categorical block; sampling maps scores back through each column's empirical quantiles and draws
categories from the softmax. It trains on a GPU when there is one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import norm
from torch import nn

from datafix._validation import check_int, resolve_device
from datafix.errors import InvalidInputError
from datafix.synth._table import (
    from_quantiles,
    provenance,
    rank_scores,
    restore_dtypes,
    split_frame,
    table_roles,
)


class ConditionalVAEGenerator:
    """Class-conditional VAE: ``fit(df, labels=...)``, ``sample(n, label=...)``.

    Parameters
    ----------
    epochs : int, default 300
    latent_dim : int, default 16
    hidden : int, default 128
    batch_size : int, default 256
    device : str or torch.device, optional
        Default: CUDA when available, else CPU.
    random_state : int, default 0
        Seeds the draws.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=100), "y": rng.choice(["a", "b"], 100)})
    >>> gen = ConditionalVAEGenerator(epochs=5).fit(df, labels="y")
    >>> out = gen.sample(4, label="a")
    >>> out.shape, set(out["y"])
    ((4, 2), {'a'})
    """

    method = "conditional_vae"

    def __init__(self, *, epochs: int = 300, latent_dim: int = 16, hidden: int = 128, batch_size: int = 256,
                 device: str | torch.device | None = None, random_state: int = 0) -> None:
        self.epochs = check_int(epochs, "epochs", minimum=1)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.hidden = check_int(hidden, "hidden", minimum=1)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.device = device  # resolved when fitting (datafix._validation.resolve_device)
        self.random_state = check_int(random_state, "random_state", minimum=0)

    def fit(self, df: pd.DataFrame, labels: Any) -> ConditionalVAEGenerator:
        """Train on ``df`` (not modified).

        ``labels``: the name of the label column.
        """
        label = labels
        self.device_ = resolve_device(self.device)
        self.roles_ = table_roles(df, label)
        X, y, self.numeric_, self.categorical_ = split_frame(df, label, self.roles_)
        self.label_, self.columns_, self._like = label, list(df.columns), df.iloc[:0]
        self.classes_, codes, self.class_counts_ = np.unique(y.to_numpy(), return_inverse=True, return_counts=True)
        blocks, self._quantiles, self._gaps, self._cats = [], {}, [], {}
        for c in self.numeric_:
            v = X[c].to_numpy(dtype=np.float64)
            ok = ~np.isnan(v)
            self._quantiles[c] = np.sort(v[ok]) if ok.any() else np.array([np.nan])
            blocks.append(np.nan_to_num(rank_scores(v))[:, None])
            if not ok.all():
                self._gaps.append(c)
                blocks.append((~ok).astype(np.float64)[:, None])
        for c in self.categorical_:
            col = X[c].astype(object).where(X[c].notna(), None)
            cats = list(pd.unique(col))
            self._cats[c] = cats
            pos = {v: i for i, v in enumerate(cats)}
            blocks.append(np.eye(len(cats))[[pos[v] for v in col]])
        data = torch.as_tensor(np.hstack(blocks), dtype=torch.float32)
        cond = torch.as_tensor(np.eye(len(self.classes_))[codes], dtype=torch.float32)
        self._layout = self._make_layout()
        torch.manual_seed(self.random_state)
        d, k, h = data.shape[1], cond.shape[1], self.hidden
        self._encoder = nn.Sequential(nn.Linear(d + k, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(),
                                      nn.Linear(h, 2 * self.latent_dim)).to(self.device_)
        self._decoder = nn.Sequential(nn.Linear(self.latent_dim + k, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(),
                                      nn.Linear(h, d)).to(self.device_)
        self._log_sigma = torch.zeros(1, device=self.device_, requires_grad=True)
        params = [*self._encoder.parameters(), *self._decoder.parameters(), self._log_sigma]
        opt = torch.optim.Adam(params, lr=1e-3, weight_decay=1e-5)
        gen = torch.Generator().manual_seed(self.random_state)
        data, cond = data.to(self.device_), cond.to(self.device_)
        for _ in range(self.epochs):
            for idx in torch.randperm(len(data), generator=gen).split(self.batch_size):
                x, c = data[idx.to(self.device_)], cond[idx.to(self.device_)]
                mu, logvar = self._encoder(torch.cat([x, c], 1)).chunk(2, dim=1)
                z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
                loss = self._reconstruction(self._decoder(torch.cat([z, c], 1)), x)
                loss = loss + (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        self._sampler = torch.Generator(device=self.device_).manual_seed(self.random_state + 1)
        self._class_draws = torch.Generator().manual_seed(self.random_state + 2)
        return self

    def _make_layout(self) -> list[tuple[str, str, int, int]]:
        layout, at = [], 0
        for c in self.numeric_:
            layout.append(("numeric", c, at, at + 1))
            at += 1
            if c in self._gaps:
                layout.append(("gap", c, at, at + 1))
                at += 1
        for c in self.categorical_:
            layout.append(("categorical", c, at, at + len(self._cats[c])))
            at += len(self._cats[c])
        return layout

    def _reconstruction(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        sigma = self._log_sigma.exp()
        loss = out.new_zeros(len(out))
        for kind, _, a, b in self._layout:
            if kind == "numeric":
                loss = loss + ((out[:, a] - x[:, a]) ** 2) / (2 * sigma**2) + self._log_sigma
            elif kind == "gap":
                loss = loss + nn.functional.binary_cross_entropy_with_logits(out[:, a], x[:, a], reduction="none")
            else:
                loss = loss + nn.functional.cross_entropy(out[:, a:b], x[:, a:b].argmax(1), reduction="none")
        return loss.mean()

    def sample_with_provenance(self, n: int, label: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """:meth:`sample`'s rows and their provenance table (``is_synthetic``, ``parents``, ``method``, ``seed``)."""
        frame = self._sample(n, label)
        return frame, provenance(len(frame), self.method, self.random_state)

    def sample(self, n: int, label: Any = None) -> pd.DataFrame:
        """``n`` synthetic rows of class ``label`` (default: classes in their training proportions).

        :meth:`sample_with_provenance` also returns the provenance table.
        """
        return self._sample(n, label)

    def _sample(self, n: int, label: Any) -> pd.DataFrame:
        if not hasattr(self, "_decoder"):
            raise InvalidInputError("ConditionalVAEGenerator is not fitted: call fit(df, labels=...) first.")
        n = check_int(n, "n", minimum=0)
        if label is None:
            probs = torch.as_tensor(self.class_counts_ / self.class_counts_.sum(), dtype=torch.float32)
            codes = (torch.multinomial(probs, n, replacement=True, generator=self._class_draws) if n
                     else torch.zeros(0, dtype=torch.long))
        else:
            hits = np.flatnonzero(self.classes_ == label)
            if not len(hits):
                raise InvalidInputError(f"There is no class {label!r}; the classes are {self.classes_.tolist()[:20]}.")
            codes = torch.full((n,), int(hits[0]), dtype=torch.long)
        cond = torch.eye(len(self.classes_), device=self.device_)[codes.to(self.device_)]
        with torch.no_grad():
            z = torch.randn(n, self.latent_dim, generator=self._sampler, device=self.device_)
            out = self._decoder(torch.cat([z, cond], 1))
            noise = torch.randn(out.shape, generator=self._sampler, device=self.device_)
            cols = {}
            for kind, name, a, b in self._layout:
                if kind == "numeric":
                    score = (out[:, a] + self._log_sigma.exp() * noise[:, a]).cpu().numpy()
                    cols[name] = from_quantiles(norm.cdf(score), self._quantiles[name])
                elif kind == "gap":
                    missing = torch.rand(n, generator=self._sampler, device=self.device_) < torch.sigmoid(out[:, a])
                    cols[name][missing.cpu().numpy()] = np.nan
                else:
                    pick = torch.multinomial(torch.softmax(out[:, a:b], 1), 1, generator=self._sampler).squeeze(1) if n else out.new_zeros(0, dtype=torch.long)
                    cols[name] = np.array(self._cats[name], dtype=object)[pick.cpu().numpy()]
        cols[self.label_] = self.classes_[codes.numpy()]
        return restore_dtypes(pd.DataFrame(cols), self._like, self.roles_) if n else self._like.copy()
