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


def warn_user(message: str, category: type[Warning] = DatafixWarning) -> None:
    """Warn, pointing at the first frame of the user's code (not datafix, torch, scikit-learn, ...).

    Like pandas' ``find_stack_level``: a warning raised deep inside datafix, or inside a
    DataLoader that called a datafix sampler, is shown at the line of the caller's script that
    led to it, so that ``warnings.filterwarnings`` by module and the printed location both make
    sense to the user.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_user("class 'cat' has 1 sample")
    >>> caught[0].category.__name__, str(caught[0].message)
    ('DatafixWarning', "class 'cat' has 1 sample")
    """
    import sys
    import sysconfig
    import warnings

    internal, stdlib = _library_dirs(), sysconfig.get_paths()["stdlib"]
    level, frame = 1, sys._getframe(1)
    while frame is not None and _is_internal(frame.f_code.co_filename, internal, stdlib):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level + 1)


_LIBRARIES = ("datafix", "torch", "sklearn", "numpy", "pandas", "cleanlab", "imblearn", "scipy")


def _is_internal(filename: str, library_dirs: tuple[str, ...], stdlib: str) -> bool:
    """A frame of datafix, a library it calls, or the standard library (functools' cached_property, ...)."""
    return filename.startswith(library_dirs) or (filename.startswith(stdlib) and "-packages" not in filename)


def _library_dirs() -> tuple[str, ...]:
    """Source folders of datafix and of the libraries it calls into (imported ones only)."""
    import os
    import sys

    dirs = []
    for name in _LIBRARIES:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if path:
            dirs.append(os.path.dirname(path) + os.sep)
    return tuple(dirs)
