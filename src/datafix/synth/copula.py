"""A class-conditional Gaussian copula for DataFrames: the fast default tabular generator.

Per class, every column is mapped to normal scores through its empirical distribution (numeric:
ranks; categorical: each category owns an interval of [0, 1] as wide as its frequency), the
correlation of the scores is estimated (shrunk towards the identity), and sampling inverts the
same maps: ``z ~ N(0, R)``, ``u = Phi(z)``, then the empirical quantile (interpolated between
observed values) or the category whose interval holds ``u``. Missing values are drawn at each
column's missing rate. The marginals are the data's own, and the rank correlations are kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from datafix._validation import check_float, check_int
from datafix.errors import InvalidInputError, warn_user
from datafix.synth._table import (
    from_quantiles,
    provenance,
    rank_scores,
    restore_dtypes,
    split_frame,
    table_roles,
)


class GaussianCopulaGenerator:
    """Class-conditional Gaussian copula: ``fit(df, labels=...)``, ``sample(n, label=...)``.

    Parameters
    ----------
    shrinkage : float, default 0.02
        Weight of the identity in the correlation estimate (stabilises small classes).
    random_state : int, default 0
        Seeds the draws.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=200), "colour": rng.choice(["red", "blue"], 200),
    ...                    "y": rng.choice(["a", "b"], 200)})
    >>> gen = GaussianCopulaGenerator().fit(df, labels="y")
    >>> new = gen.sample(5, label="b")
    >>> list(new.columns), set(new["y"]), set(new["colour"]) <= {"red", "blue"}
    (['x', 'colour', 'y'], {'b'}, True)
    """

    method = "gaussian_copula"

    def __init__(self, *, shrinkage: float = 0.02, random_state: int = 0) -> None:
        self.shrinkage = check_float(shrinkage, "shrinkage", low=0.0, high=1.0)
        self.random_state = check_int(random_state, "random_state", minimum=0)

    def fit(self, df: pd.DataFrame, labels: Any) -> GaussianCopulaGenerator:
        """Learn each class's marginals and score correlation from ``df`` (not modified).

        ``labels``: the name of the label column.
        """
        label = labels
        self.roles_ = table_roles(df, label)
        X, y, self.numeric_, self.categorical_ = split_frame(df, label, self.roles_)
        self.label_, self.columns_, self.dtypes_ = label, list(df.columns), df.dtypes
        self._like = df.iloc[:0]
        rng = np.random.default_rng(self.random_state)
        self.classes_, self.class_counts_ = np.unique(y.to_numpy(), return_counts=True)
        self._models = {}
        small = []
        for c in self.classes_:
            part = X[(y == c).to_numpy()]
            if len(part) < 2:
                small.append(c)
            self._models[c] = self._fit_class(part, X, rng)
        if small:
            warn_user(f"Classes {small[:10]} have one row: their samples copy its values (no spread to learn).")
        self._draws = np.random.default_rng([self.random_state, 1])  # successive sample() calls continue this stream
        return self

    def _fit_class(self, part: pd.DataFrame, everything: pd.DataFrame, rng: np.random.Generator) -> dict:
        n = len(part)
        margins, scores = {}, []
        for c in self.numeric_:
            v = part[c].to_numpy(dtype=np.float64)
            ok = ~np.isnan(v)
            values = np.sort(v[ok]) if ok.any() else np.sort(everything[c].dropna().to_numpy(dtype=np.float64))
            if len(values) == 0:
                values = np.array([np.nan])
            margins[c] = ("numeric", values, float(1 - ok.mean()))
            scores.append(rank_scores(v))  # NaN rows do not count in the correlation (pairwise estimate)
        for c in self.categorical_:
            col = part[c].astype(object).where(part[c].notna(), None)
            freq = col.value_counts(dropna=False, normalize=True, sort=False)
            cats, p = list(freq.index), freq.to_numpy(dtype=np.float64)
            upper = np.cumsum(p)
            lower = upper - p
            pos = {cat: i for i, cat in enumerate(cats)}
            idx = np.array([pos[v] for v in col.to_numpy()], dtype=np.int64)
            u = lower[idx] + rng.random(n) * p[idx]
            margins[c] = ("categorical", cats, upper)
            scores.append(norm.ppf(np.clip(u, 1e-6, 1 - 1e-6)) if len(cats) > 1 else np.zeros(n))
        Z = np.column_stack(scores)
        corr = np.eye(Z.shape[1])
        observed = ~np.isnan(Z)
        varying = np.array([observed[:, j].sum() > 1 and np.ptp(Z[observed[:, j], j]) > 0 for j in range(Z.shape[1])],
                           dtype=bool)
        if n > 2 and varying.sum() > 1:
            sub = pd.DataFrame(Z[:, varying]).corr(min_periods=3).to_numpy()
            sub = np.where(np.isnan(sub), 0.0, sub)
            np.fill_diagonal(sub, 1.0)
            corr[np.ix_(varying, varying)] = (1 - self.shrinkage) * sub + self.shrinkage * np.eye(int(varying.sum()))
        w, V = np.linalg.eigh(corr)
        return {"margins": margins, "factor": V * np.sqrt(np.clip(w, 1e-9, None)), "n": n}

    def sample_with_provenance(self, n: int, label: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """:meth:`sample`'s rows and their provenance table (``is_synthetic``, ``parents``, ``method``, ``seed``)."""
        frame = self._sample(n, label)
        return frame, provenance(len(frame), self.method, self.random_state)

    def sample(self, n: int, label: Any = None) -> pd.DataFrame:
        """``n`` synthetic rows of class ``label`` (default: classes in their training proportions).

        Returns a DataFrame with the training frame's columns and dtypes (integers rounded).
        :meth:`sample_with_provenance` also returns the provenance table.
        """
        return self._sample(n, label)

    def _sample(self, n: int, label: Any) -> pd.DataFrame:
        self._check_fitted()
        n = check_int(n, "n", minimum=0)
        position = self._class_position(label)
        rng = self._draws
        if label is None:
            per_class = rng.multinomial(n, self.class_counts_ / self.class_counts_.sum())
            labels = np.repeat(self.classes_, per_class)
        else:
            labels = np.full(n, self.classes_[position], dtype=self.classes_.dtype)
        frames = [self._sample_class(c, int((labels == c).sum()), rng) for c in self.classes_ if (labels == c).any()]
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=self.columns_)
        return restore_dtypes(out, self._like, self.roles_) if len(out) else self._like.copy()

    def _sample_class(self, c: Any, m: int, rng: np.random.Generator) -> pd.DataFrame:
        model = self._models[c]
        factor = model["factor"]
        u = norm.cdf(rng.standard_normal((m, factor.shape[0])) @ factor.T)
        cols = {}
        for j, name in enumerate(self.numeric_ + self.categorical_):
            kind, a, b = model["margins"][name]
            if kind == "numeric":
                x = from_quantiles(u[:, j], a)
                x[rng.random(m) < b] = np.nan
                cols[name] = x
            else:
                pick = np.minimum(np.searchsorted(b, u[:, j], side="right"), len(a) - 1)
                cols[name] = np.array(a, dtype=object)[pick]
        cols[self.label_] = np.full(m, c, dtype=object)
        return pd.DataFrame(cols)

    def _class_position(self, label: Any) -> int:
        if label is None:
            return 0
        hits = np.flatnonzero(self.classes_ == label)
        if not len(hits):
            raise InvalidInputError(f"There is no class {label!r}; the classes are {self.classes_.tolist()[:20]}.")
        return int(hits[0])

    def _check_fitted(self) -> None:
        if not hasattr(self, "_models"):
            raise InvalidInputError(f"{type(self).__name__} is not fitted: call fit(df, labels=...) first.")

