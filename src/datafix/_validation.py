"""Small argument checks shared by the public entry points.

Messages follow one format, modelled on scikit-learn's: the argument's name, what was expected,
what was found.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from datafix.errors import InvalidInputError, InvalidTypeError

RandomState = int | np.random.Generator | None


def check_random_state(random_state: RandomState, name: str = "random_state") -> np.random.Generator:
    """Turn an int, a ``numpy.random.Generator`` or None into a Generator.

    A Generator is returned as it is (draws from it advance the caller's stream); None gives a
    fresh unseeded Generator. The global NumPy state is never read or written.
    """
    if random_state is None or isinstance(random_state, numbers.Integral):
        if random_state is not None and int(random_state) < 0:
            raise InvalidInputError(f"The {name!r} parameter must be a non-negative int; got {random_state}.")
        return np.random.default_rng(None if random_state is None else int(random_state))
    if isinstance(random_state, np.random.Generator):
        return random_state
    raise InvalidTypeError(
        f"The {name!r} parameter must be an int, a numpy.random.Generator or None; "
        f"got {type(random_state).__name__}."
    )


def seed_from(rng: np.random.Generator) -> int:
    """Draw one int seed from ``rng``, for libraries that only take ints."""
    return int(rng.integers(0, 2**31 - 1))


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"The {name!r} parameter must be an int; got {value!r}.")
    if minimum is not None and value < minimum:
        raise InvalidInputError(
            f"The {name!r} parameter must be an int in the range [{minimum}, inf); got {value}."
        )
    return int(value)


def check_float(value: Any, name: str, *, low: float, high: float) -> float:
    """Return ``value`` as a float in the closed range [low, high], or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"The {name!r} parameter must be a float; got {value!r}.")
    if not (low <= value <= high):
        raise InvalidInputError(
            f"The {name!r} parameter must be a float in the range [{low}, {high}]; got {value}."
        )
    return float(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, or raise listing them."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise InvalidInputError(f"The {name!r} parameter must be one of {allowed}; got {value!r}.")
    return value


def py_value(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (for messages, dict keys and JSON); others as they are.

    Examples
    --------
    >>> py_value(np.int64(3)), py_value("a")
    (3, 'a')
    """
    return value.item() if isinstance(value, np.generic) else value


def describe_positions(labels: Sequence[Any], limit: int = 5) -> str:
    """Name the first few positions or index labels for an error message."""
    shown = ", ".join(repr(py_value(x)) for x in labels[:limit])
    more = f" and {len(labels) - limit} more" if len(labels) > limit else ""
    return f"[{shown}{more}]"


class Interval:
    """A parameter constraint: an int or float in ``[low, high]`` (scikit-learn's ``Interval``).

    Examples
    --------
    >>> Interval(float, 0.0, 1.0).check(0.5, "share")
    0.5
    """

    def __init__(self, kind: type, low: float | None = None, high: float | None = None) -> None:
        self.kind, self.low, self.high = kind, low, high

    def check(self, value: Any, name: str) -> Any:
        if self.kind is int:
            return check_int(value, name, minimum=None if self.low is None else int(self.low))
        return check_float(value, name, low=-np.inf if self.low is None else self.low,
                           high=np.inf if self.high is None else self.high)

    def __repr__(self) -> str:
        kind = "an int" if self.kind is int else "a float"
        return f"{kind} in [{self.low if self.low is not None else '-inf'}, {self.high if self.high is not None else 'inf'}]"


class Options:
    """A parameter constraint: one of the given values.

    Examples
    --------
    >>> Options("knn", "lof").check("lof", "method")
    'lof'
    """

    def __init__(self, *values: Any) -> None:
        self.values = values

    def check(self, value: Any, name: str) -> Any:
        return check_choice(value, name, self.values)

    def __repr__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


#: A parameter's constraint: an Interval, Options, or a list of them (any one; ``None`` allows None).
Constraint = Interval | Options | list


def check_param(value: Any, name: str, constraint: Constraint) -> Any:
    """``value`` checked against ``constraint`` (a list: any one of its entries), or an error naming ``name``.

    Examples
    --------
    >>> check_param(None, "fence_scale", [None, Interval(float, 0.0)]) is None
    True
    >>> check_param("auto", "knn_weight", [Options("auto"), Interval(float, 0.0, 1.0)])
    'auto'
    """
    if not isinstance(constraint, list):
        return constraint.check(value, name)
    if value is None and None in constraint:
        return None
    choices = [c for c in constraint if c is not None]
    for c in choices:
        try:
            return c.check(value, name)
        except (InvalidInputError, InvalidTypeError):
            continue
    allowed = " or ".join(["None"] * (None in constraint) + [repr(c) for c in choices])
    raise InvalidInputError(f"The {name!r} parameter must be {allowed}; got {value!r}.")


def check_params(options: Mapping[str, Any], constraints: Mapping[str, Constraint], owner: str) -> dict[str, Any]:
    """Every option named in ``constraints`` and valid, or an error naming ``owner`` and the option.

    Examples
    --------
    >>> check_params({"k": 5}, {"k": Interval(int, 1)}, "check 'outlier'")
    {'k': 5}
    >>> check_params({"kk": 5}, {"k": Interval(int, 1)}, "check 'outlier'")
    Traceback (most recent call last):
    ...
    datafix.errors.InvalidTypeError: The check 'outlier' has no option 'kk'; its options are ['k'].
    """
    unknown = [k for k in options if k not in constraints]
    if unknown:
        raise InvalidTypeError(f"The {owner} has no option {unknown[0]!r}; its options are {sorted(constraints)}.")
    return {k: check_param(v, k, constraints[k]) for k, v in options.items()}


class Instance:
    """A parameter constraint: an instance of one of the given types (``callable`` for any callable).

    Examples
    --------
    >>> Instance(dict).check({"a": 1}, "sampling_strategy")
    {'a': 1}
    """

    def __init__(self, *types: Any) -> None:
        self.types = types

    def check(self, value: Any, name: str) -> Any:
        ok = any(callable(value) if t is callable else isinstance(value, t) for t in self.types)
        if not ok or isinstance(value, bool) and bool not in self.types:
            raise InvalidTypeError(f"The {name!r} parameter must be {self!r}; got {value!r}.")
        return value

    def __repr__(self) -> str:
        return " or ".join("a callable" if t is callable else f"a {t.__name__}" for t in self.types)


#: imbalanced-learn's forms of ``sampling_strategy``.
SAMPLING_STRATEGY = [Interval(float, 0.0, 1.0), Options("auto", "minority", "not minority", "not majority", "all"),
                     Instance(dict, callable)]


def sampling_targets(sampling_strategy: Any, codes: np.ndarray, kind: str) -> np.ndarray:
    """Per-class counts an imbalanced-learn ``sampling_strategy`` asks for, over label ``codes``.

    ``kind="over"``: samples to add per class; ``kind="under"``: samples to keep per class.
    Codes below 0 (unknown labels) are ignored; at least two classes need samples.

    Examples
    --------
    >>> sampling_targets("auto", np.array([0, 0, 0, 1]), "over").tolist()
    [0, 2]
    >>> sampling_targets("auto", np.array([0, 0, 0, 1]), "under").tolist()
    [1, 1]
    """
    from imblearn.utils import check_sampling_strategy

    check_param(sampling_strategy, "sampling_strategy", SAMPLING_STRATEGY)
    labelled = codes[codes >= 0]
    if len(np.unique(labelled)) < 2:
        raise InvalidInputError("Resampling needs at least 2 classes with samples.")
    asked = check_sampling_strategy(sampling_strategy, labelled, f"{kind}-sampling")
    counts = np.bincount(labelled, minlength=codes.max() + 1)
    out = counts.copy() if kind == "under" else np.zeros_like(counts)
    for c, n in asked.items():
        out[int(c)] = n
    return out


def resolve_device(device: Any = None, data: Any = None) -> Any:
    """The one device rule: ``device`` when given, else the data's device (a tensor), else CUDA
    when available, else the CPU. Objects store ``device`` as given and resolve it when they run.

    Examples
    --------
    >>> import torch
    >>> resolve_device("cpu"), resolve_device(None, torch.zeros(1))
    (device(type='cpu'), device(type='cpu'))
    """
    import torch

    if device is not None and device != "auto":
        try:
            return torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise InvalidInputError(f"The 'device' parameter must be a torch device such as 'cpu' or 'cuda:0'; got "
                                    f"{device!r} ({err}).") from None
    if isinstance(data, torch.Tensor):
        return data.device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
