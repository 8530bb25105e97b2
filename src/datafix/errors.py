"""Errors and warnings raised by datafix.

Every error datafix raises for bad user input is a :class:`DatafixError`; it also derives from
the built-in class a caller would catch (``ValueError`` or ``TypeError``), so both
``except datafix.errors.DatafixError`` and ``except ValueError`` work.

Examples
--------
>>> import datafix as dfx
>>> try:
...     dfx.audit([[0.0], [1.0]], labels=[0, 0])
... except dfx.errors.DatafixError as err:
...     print(type(err).__name__)
InvalidInputError
"""

from __future__ import annotations


class DatafixError(Exception):
    """Base class of every error datafix raises on purpose."""


class InvalidInputError(DatafixError, ValueError):
    """An argument has the right type but an unusable value (shape, NaN, range, ...)."""


class InvalidTypeError(DatafixError, TypeError):
    """An argument has a type datafix cannot use."""


class DatafixWarning(UserWarning):
    """Base class of datafix's warnings (a fallback was used, a rule changed a setting)."""
