"""Every imbalanced-learn sampler by name, with small-class guards, provenance and fast paths."""

from __future__ import annotations

import inspect
import numbers
import re
from collections import Counter

import numpy as np
import pandas as pd
from imblearn.base import BaseSampler
from scipy import sparse
from sklearn.utils._param_validation import Interval, StrOptions

from datafix._validation import py_value
from datafix.balance import fast_resample
from datafix.balance.smoter import REGRESSION_METHODS, oversample_rare_targets
from datafix.data.view import hash_rows
from datafix.errors import InvalidInputError, warn_user
from datafix.signals.neighbors import KNNGraph

#: Over-samplers that look for neighbours inside a class, and the parameter that sets how many.
_WITHIN_CLASS_K = {
    "smote": "k_neighbors",
    "borderline_smote": "k_neighbors",
    "svmsmote": "k_neighbors",
    "adasyn": "n_neighbors",
    "smotenc": "k_neighbors",
    "smoten": "k_neighbors",
}
_FAST = {"adasyn", "borderline_smote", "tomek_links", "edited_nearest_neighbours"}
_COMBINED = {"smoteenn": ("edited_nearest_neighbours", "enn"), "smote_tomek": ("tomek_links", "tomek")}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _registry() -> dict[str, type]:
    import imblearn.combine
    import imblearn.over_sampling
    import imblearn.under_sampling

    out = {}
    for module in (imblearn.over_sampling, imblearn.under_sampling, imblearn.combine):
        for name in module.__all__:
            out[_snake(name)] = getattr(module, name)
    return out


SAMPLERS: dict[str, type] = _registry()


def available_resamplers() -> list[str]:
    """Names accepted by :class:`Resampler` (imbalanced-learn's class names also work).

    Examples
    --------
    >>> {"smote", "adasyn", "tomek_links", "random_under_sampler"} <= set(available_resamplers())
    True
    """
    return sorted([*SAMPLERS, *REGRESSION_METHODS])


def resolve_method(method: str) -> str:
    """The registry name for ``method`` (``"BorderlineSMOTE"`` -> ``"borderline_smote"``)."""
    if isinstance(method, str):
        for key in (method, _snake(method), method.lower()):
            if key in SAMPLERS or key in REGRESSION_METHODS:
                return key
    raise InvalidInputError(f"The 'method' parameter must be one of {available_resamplers()}; got {method!r}.")


class Resampler(BaseSampler):
    """Any imbalanced-learn sampler by name, as a scikit-learn style sampler that never crashes
    on a small class and says where every output row came from.

    Parameters
    ----------
    method : str, default "smote"
        A name from :func:`available_resamplers` (``"smote"``, ``"adasyn"``,
        ``"borderline_smote"``, ``"random_over_sampler"``, ``"tomek_links"``,
        ``"edited_nearest_neighbours"``, ``"near_miss"``, ``"smoteenn"``, ...) or the
        imbalanced-learn class name (``"BorderlineSMOTE"``). For a regression target:
        ``"smoter"`` or ``"gaussian_noise"``, new rows in the target's rare ranges (see
        ``datafix.balance.smoter.oversample_rare_targets``, whose options go in ``params``).
    sampling_strategy : float, str, dict, list or callable, default "auto"
        As in imbalanced-learn for that sampler.
    params : dict, optional
        Other parameters of the imbalanced-learn sampler (``{"k_neighbors": 3}``).
    random_state : int, RandomState instance or None, default None
        Passed to samplers that take one.
    backend : {"auto", "datafix", "imblearn"}, default "auto"
        ADASYN, BorderlineSMOTE, Tomek links and ENN run on datafix's neighbour search (same
        output for the same neighbours) unless ``"imblearn"``, or unless the input is sparse or
        a neighbour estimator object is given in ``params``.

    Attributes
    ----------
    sampling_strategy_ : dict
        As in imbalanced-learn.
    source_indices_ : numpy.ndarray of int64
        For each output row, the input row it is (or copies); -1 for a synthetic row.
    is_synthetic_ : numpy.ndarray of bool
        ``source_indices_ == -1``.
    backend_ : str
        ``"datafix"`` or ``"imblearn"``.
    adapted_ : dict
        Classes for which the neighbour count was lowered, and classes with one sample that
        were oversampled by copying it instead.

    Notes
    -----
    Small classes: for SMOTE-like samplers, a class with ``n_c <= k`` samples is oversampled with
    ``k = n_c - 1`` neighbours (the other classes keep the given ``k``), and a class with a single
    sample is oversampled by copying it; a :class:`~datafix.errors.DatafixWarning` names them.
    Nothing changes when every class is large enough, and the output is then imbalanced-learn's.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(23, 2))
    >>> y = np.array([0] * 20 + [1] * 2 + [2])
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     X_res, y_res = Resampler("smote", random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [20, 20, 20]
    >>> r = Resampler("smote", random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     _ = r.fit_resample(X, y)
    >>> int(r.is_synthetic_.sum()), r.adapted_["single_sample_classes"]
    (18, [2])
    """

    _parameter_constraints: dict = {
        "method": [str],
        "sampling_strategy": [
            Interval(numbers.Real, 0, 1, closed="right"),
            StrOptions({"auto", "majority", "not minority", "not majority", "all", "minority"}),
            dict,
            list,
            callable,
        ],
        "params": [dict, None],
        "random_state": ["random_state"],
        "backend": [StrOptions({"auto", "datafix", "imblearn"})],
    }

    def __init__(self, method="smote", *, sampling_strategy="auto", params=None, random_state=None, backend="auto"):
        self.method = method
        self.sampling_strategy = sampling_strategy
        self.params = params
        self.random_state = random_state
        self.backend = backend

    @property
    def _sampling_type(self) -> str:
        name = resolve_method(self.method)
        return "over-sampling" if name in REGRESSION_METHODS else SAMPLERS[name]._sampling_type

    def _template(self):
        """An unfitted instance of the sampler, with the given params it accepts."""
        name = resolve_method(self.method)
        cls = SAMPLERS["random_over_sampler" if name in REGRESSION_METHODS else name]
        accepted = inspect.signature(cls).parameters
        try:
            return cls(**{k: v for k, v in (self.params or {}).items() if k in accepted})
        except TypeError:  # a required parameter is missing; the call in fit names it
            return object.__new__(cls)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            inner = self._template().__sklearn_tags__()
        except InvalidInputError:
            return tags
        tags.input_tags = inner.input_tags
        tags.sampler_tags = inner.sampler_tags
        return tags

    def _check_X_y(self, X, y, accept_sparse=None):
        template = self._template()
        X, y, binarize_y = template._check_X_y(X, y)
        self.n_features_in_ = template.n_features_in_
        if hasattr(template, "feature_names_in_"):
            self.feature_names_in_ = template.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return X, y, binarize_y

    def fit_resample(self, X, y, **params):
        """Resample ``X, y``; see the class docstring.

        Parameters
        ----------
        X : array-like, DataFrame or sparse matrix of shape (n, d)
            Features (left unchanged).
        y : array-like of shape (n,)
            Class labels.
        **params
            ``neighbors`` (KNNGraph, optional):
            A neighbour graph over the rows of ``X`` (self excluded, raw features), reused by
            the fast paths instead of a new search.

        Returns
        -------
        X_resampled, y_resampled
        """
        name = resolve_method(self.method)
        if name in REGRESSION_METHODS:
            return self._fit_resample_regression(name, X, y)
        return super().fit_resample(X, y, **params)

    def _fit_resample_regression(self, name: str, X, y):
        """SMOTER or Gaussian noise on a regression target (imbalanced-learn has neither)."""
        strategy = self.sampling_strategy
        if not (strategy == "auto" or (isinstance(strategy, numbers.Real) and strategy >= 0)):
            raise InvalidInputError(f"For {name!r} the 'sampling_strategy' must be 'auto' or a number >= 0 (new rows "
                                    f"per rare row); got {strategy!r}.")
        accepted = set(inspect.signature(oversample_rare_targets).parameters) - {"X", "y", "method", "random_state",
                                                                                "sampling_strategy"}
        unknown = sorted(set(self.params or {}) - accepted)
        if unknown:
            raise InvalidInputError(f"{name!r} has no parameter {unknown[0]!r}; its parameters are {sorted(accepted)}.")
        frame = X if isinstance(X, pd.DataFrame) else None
        if frame is not None:
            text = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
                    or isinstance(frame[c].dtype, pd.CategoricalDtype)]
            if text:
                raise InvalidInputError(f"{name!r} interpolates numbers; columns {text[:5]} are not numeric. Encode "
                                        "them first (one-hot, or codes), or leave them out.")
        X_res, y_res, source = oversample_rare_targets(
            frame.to_numpy(dtype=np.float64) if frame is not None else X, y, name, sampling_strategy=strategy,
            random_state=self.random_state, **(self.params or {}))
        self.adapted_ = {"k_neighbors": {}, "single_sample_classes": []}
        self.backend_ = "datafix"
        self.source_indices_ = source
        self.is_synthetic_ = source < 0
        self.sampling_strategy_ = {"new_rows": int(self.is_synthetic_.sum())}
        self.n_features_in_ = X_res.shape[1]
        if frame is not None:
            X_res = pd.DataFrame(X_res, columns=frame.columns)
            for col in frame.columns:  # an integer column's new values are rounded, not truncated, to its dtype
                if pd.api.types.is_integer_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
                    X_res[col] = X_res[col].round()
            X_res = X_res.astype(frame.dtypes.to_dict(), errors="ignore")
        return X_res, y_res

    def _fit_resample(self, X, y, neighbors: KNNGraph | None = None):
        name = resolve_method(self.method)
        for attr in ("sample_indices_",):
            if hasattr(self, attr):
                delattr(self, attr)
        self.adapted_ = {"k_neighbors": {}, "single_sample_classes": []}
        self.backend_ = "imblearn"
        if name in _COMBINED and not self._extra_params():
            X_res, y_res, source = self._combined(name, X, y, neighbors)
        elif name in _WITHIN_CLASS_K:
            X_res, y_res, source = self._oversample_guarded(name, X, y, neighbors)
        else:
            X_res, y_res, source = self._run(name, self._inner_params(name), X, y, neighbors)
        self.source_indices_ = source
        self.is_synthetic_ = source < 0
        if self._template().__sklearn_tags__().sampler_tags.sample_indices:
            self.sample_indices_ = source
        return X_res, y_res

    # -- pieces -------------------------------------------------------------------------------

    def _extra_params(self) -> dict:
        return dict(self.params or {})

    def _inner_params(self, name: str, **overrides) -> dict:
        params = self._extra_params()
        accepted = inspect.signature(SAMPLERS[name]).parameters
        unknown = set(params) - set(accepted)
        if unknown:
            raise InvalidInputError(
                f"The 'params' argument has {sorted(unknown)}, which {SAMPLERS[name].__name__} does not take; "
                f"it takes {sorted(accepted)}."
            )
        if "random_state" in accepted:
            params.setdefault("random_state", self.random_state)
        params.setdefault("sampling_strategy", self.sampling_strategy)
        params.update(overrides)
        return params

    def _run(self, name, params, X, y, neighbors):
        """One sampler call -> (X_res, y_res, source_indices)."""
        if self._fast_ok(name, params, X):
            return self._run_fast(name, params, X, y, neighbors)
        sampler = SAMPLERS[name](**params)
        X_res, y_res = sampler.fit_resample(X, y)
        if hasattr(sampler, "sample_indices_"):
            source = np.asarray(sampler.sample_indices_, dtype=np.int64)
        elif sampler._sampling_type == "over-sampling":
            source = np.concatenate([np.arange(len(y)), np.full(len(y_res) - len(y), -1)])
        else:
            source = _match_rows(X, y, X_res, y_res)
        return X_res, y_res, source

    def _fast_ok(self, name, params, X) -> bool:
        if self.backend == "imblearn" or name not in _FAST or sparse.issparse(X):
            return False
        counts = [v for k, v in params.items() if k.endswith("neighbors")]
        return all(isinstance(v, numbers.Integral) for v in counts) and X.dtype.kind == "f" and np.isfinite(X).all()

    def _run_fast(self, name, params, X, y, neighbors):
        self.backend_ = "datafix"
        cls = SAMPLERS[name]
        probe = cls(**params)
        from imblearn.utils import check_sampling_strategy

        strategy = check_sampling_strategy(params["sampling_strategy"], y, probe._sampling_type)
        defaults = {k: v.default for k, v in inspect.signature(cls).parameters.items()}
        get = {**defaults, **params}.get
        if name in ("adasyn", "borderline_smote"):
            if name == "adasyn":
                parts = fast_resample.adasyn(X, y, strategy, n_neighbors=get("n_neighbors"),
                                             random_state=get("random_state"), graph=neighbors)
            else:
                parts = fast_resample.borderline_smote(
                    X, y, strategy, k_neighbors=get("k_neighbors"), m_neighbors=get("m_neighbors"),
                    kind=get("kind"), random_state=get("random_state"), graph=neighbors,
                )
            new_X, new_y = parts
            X_res = np.vstack([X, *new_X])
            y_res = np.hstack([y, *new_y])
            return X_res, y_res, np.concatenate([np.arange(len(y)), np.full(len(y_res) - len(y), -1)])
        if name == "tomek_links":
            kept = fast_resample.tomek_links(X, y, strategy, graph=neighbors)
        else:
            kept = fast_resample.edited_nearest_neighbours(
                X, y, strategy, n_neighbors=get("n_neighbors"), kind_sel=get("kind_sel"), graph=neighbors
            )
        return X[kept], y[kept], kept.astype(np.int64)

    def _oversample_guarded(self, name, X, y, neighbors):
        k_param = _WITHIN_CLASS_K[name]
        params = self._inner_params(name)
        k = params.get(k_param, inspect.signature(SAMPLERS[name]).parameters[k_param].default)
        if not isinstance(k, numbers.Integral):  # a neighbour estimator: the user's call
            return self._run(name, params, X, y, neighbors)
        counts = Counter(y.tolist())
        targets = {c: n for c, n in self.sampling_strategy_.items() if n > 0}
        single = [c for c in targets if counts[c] == 1]
        adapted = {c: min(k, counts[c] - 1) for c in targets if counts[c] > 1}
        if not single and all(v == k for v in adapted.values()):
            return self._run(name, params, X, y, neighbors)
        lowered = {c: v for c, v in adapted.items() if v < k}
        self.adapted_ = {"k_neighbors": {py_value(c): v for c, v in lowered.items()},
                         "single_sample_classes": [py_value(c) for c in single]}
        warn_user(
            f"{SAMPLERS[name].__name__}: classes with too few samples for {k_param}={k}: "
            + (f"{self.adapted_['k_neighbors']} (class: neighbours) use fewer neighbours" if lowered else "")
            + ("; " if lowered and single else "")
            + (f"{self.adapted_['single_sample_classes']} have one sample and are oversampled by copying it"
               if single else "")
            + ".")
        parts_X, parts_y, parts_src = [X], [y], [np.arange(len(y))]
        for k_c in sorted(set(adapted.values()), reverse=True):
            group = {c: counts[c] + targets[c] for c, v in adapted.items() if v == k_c}
            X_res, y_res, _ = self._run(name, self._inner_params(name, sampling_strategy=group, **{k_param: k_c}),
                                        X, y, neighbors)
            parts_X.append(X_res[len(y):])
            parts_y.append(y_res[len(y):])
            parts_src.append(np.full(len(y_res) - len(y), -1))
        for c in single:
            row = np.flatnonzero(y == c)
            copies = np.repeat(row, targets[c])
            parts_X.append(X[copies])
            parts_y.append(y[copies])
            parts_src.append(copies)
        stack = sparse.vstack if sparse.issparse(X) else np.vstack
        return stack(parts_X), np.hstack(parts_y), np.concatenate(parts_src).astype(np.int64)

    def _combined(self, name, X, y, neighbors):
        cleaner, _ = _COMBINED[name]
        over = Resampler("smote", sampling_strategy=self.sampling_strategy, random_state=self.random_state,
                         backend=self.backend)
        X_over, y_over = over._fit_resample_validated(X, y)
        clean = Resampler(cleaner, sampling_strategy="all", backend=self.backend)
        X_res, y_res = clean._fit_resample_validated(X_over, y_over)
        self.adapted_ = over.adapted_
        self.backend_ = clean.backend_
        return X_res, y_res, over.source_indices_[clean.source_indices_]

    def _fit_resample_validated(self, X, y):
        from imblearn.utils import check_sampling_strategy

        self.sampling_strategy_ = check_sampling_strategy(self.sampling_strategy, y, self._sampling_type)
        return self._fit_resample(X, y)


def _match_rows(X, y, X_res, y_res) -> np.ndarray:
    """Source rows of a sampler's output by content (label and features); -1 for new rows."""
    if sparse.issparse(X):
        X, X_res = X.toarray(), X_res.toarray()
    key, key_res = (hash_rows(pd.DataFrame(a).assign(_label=np.asarray(b))) for a, b in ((X, y), (X_res, y_res)))
    first = {}
    for i, h in enumerate(key.tolist()):
        first.setdefault(h, i)
    return np.array([first.get(h, -1) for h in key_res.tolist()], dtype=np.int64)
