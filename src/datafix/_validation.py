"""Small argument checks shared by the public entry points.

Messages follow one format, modelled on scikit-learn's: the argument's name, what was expected,
what was found.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
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
