"""The registry of checks: a plain dict filled by a decorator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch

import pandas as pd

from datafix.errors import InvalidInputError

CheckFunc = Callable[..., pd.DataFrame]


@dataclass(frozen=True)
class CheckSpec:
    """What the audit needs to know to run a check and to show its results.

    Attributes
    ----------
    name : str
        Registry key, also the issue type's name in the report (``"label"``).
    func : callable
        ``func(signals, **params) -> DataFrame`` with one row per audited sample, in order.
    requires : tuple of str
        Signals the check cannot run without; ``"a|b"`` means either one.
    uses : tuple of str
        Signals it reads when they are available.
    flag : str
        The boolean column that marks a sample as having the issue (``"is_label_issue"``).
        A check may also attach ``result.attrs["rule"]`` (its threshold rule, shown in the
        report) and ``result.attrs["tables"]`` (extra tables, e.g. one row per class or column).
    score : str
        The score column; lower means more likely an issue.
    label_columns : tuple of str
        Columns holding label codes, decoded to the user's label values by the audit.
    description : str
        One line for reports.
    validate : callable, optional
        ``validate(**params)`` raises for bad check options; the audit calls it before any work.
    """

    name: str
    func: CheckFunc
    requires: tuple[str, ...]
    flag: str
    score: str
    uses: tuple[str, ...] = ()
    label_columns: tuple[str, ...] = ()
    description: str = ""
    validate: Callable[..., None] | None = None


CHECKS: dict[str, CheckSpec] = {}


def register_check(
    name: str,
    *,
    requires: tuple[str, ...],
    flag: str,
    score: str,
    uses: tuple[str, ...] = (),
    label_columns: tuple[str, ...] = (),
    description: str = "",
    validate: Callable[..., None] | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Decorator that adds a check function to :data:`CHECKS` under ``name``.

    Examples
    --------
    >>> @register_check("always", requires=(), flag="is_always", score="always_score")
    ... def always(signals):
    ...     return pd.DataFrame({"is_always": [True], "always_score": [0.0]})
    >>> "always" in CHECKS
    True
    >>> del CHECKS["always"]
    """

    def add(func: CheckFunc) -> CheckFunc:
        if name in CHECKS:
            raise ValueError(f"A check named {name!r} is already registered.")
        CHECKS[name] = CheckSpec(name, func, requires, flag, score, uses, label_columns, description, validate)
        return func

    return add


def list_checks(pattern: str = "*") -> list[str]:
    """Names of the registered checks matching a shell-style ``pattern``.

    Examples
    --------
    >>> list_checks("lab*")
    ['label', 'label_values']
    """
    return sorted(n for n in CHECKS if fnmatch(n, pattern))


def resolve_checks(names: str | list[str] | tuple[str, ...] | None) -> list[CheckSpec]:
    """The specs for ``names`` (None: all), in registry order; unknown names raise.

    Examples
    --------
    >>> [spec.flag for spec in resolve_checks("label")]
    ['is_label_issue']
    """
    if names is None:
        return list(CHECKS.values())
    if isinstance(names, str):
        names = [names]
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise InvalidInputError(
            f"The 'checks' parameter names unknown checks {unknown}; the checks are {list_checks()}."
        )
    return [CHECKS[n] for n in CHECKS if n in names]
