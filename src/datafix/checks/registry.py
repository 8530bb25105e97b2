"""The registry of checks: a plain dict filled by a decorator, and the typed result every check returns."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Any

import pandas as pd

from datafix._validation import Constraint, check_params
from datafix.errors import InvalidInputError, InvalidTypeError

#: The label tasks a check can apply to: one class per sample, a set of labels per sample, or a
#: number per sample.
TASKS = ("single", "multilabel", "regression")


@dataclass(frozen=True)
class CheckResult:
    """What a check found.

    Attributes
    ----------
    columns : pandas.DataFrame
        One row per audited sample, in order (per test sample for a check on the test set):
        the flag, the score and any extra columns.
    rule : str
        The threshold rule applied, with its numbers (shown in the report).
    tables : dict of str to pandas.DataFrame
        Findings that are not per sample (one row per class, per column, per label value).
    advice : str
        What to do about it, where the check knows.
    """

    columns: pd.DataFrame
    rule: str = ""
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    advice: str = ""


CheckFunc = Callable[..., CheckResult]


@dataclass(frozen=True)
class CheckSpec:
    """What the audit needs to know to run a check and to show its results.

    Attributes
    ----------
    name : str
        Registry key, also the issue type's name in the report (``"label"``).
    func : callable
        ``func(signals, **options) -> CheckResult``; option defaults are its keyword defaults.
    requires : tuple of str
        Signals the check cannot run without; ``"a|b"`` means either one.
    flag : str
        The boolean column that marks a sample as having the issue (``"is_label_issue"``).
    score : str
        The score column; lower means more likely an issue.
    uses : tuple of str
        Signals it reads when they are available.
    label_columns : tuple of str
        Columns holding label codes, decoded to the user's label values by the audit.
    description : str
        One line for reports.
    params : dict of str to constraint
        Each option and its allowed values (``datafix._validation.Interval``, ``Options``,
        or a list of them, ``None`` allowing None), declared once: the audit validates
        ``check_params`` against it before reading any data, and the check does not again.
    tasks : tuple of str
        The label tasks it applies to (``"single"``, ``"multilabel"``, ``"regression"``).
    target : {"train", "test"}
        Whose samples its rows are: the audited data's, or the held-out test set's (its
        columns then make ``Report.test_issues``).
    needs : callable
        ``needs(options) -> tuple of str``: what it requires with those options (all of them,
        defaults filled in); ``requires`` is ``needs`` of the defaults.
    reads : callable
        ``reads(options, k_neighbors) -> int``: how many of each sample's nearest neighbours it
        reads from the shared graph with those options, when the audit's graph holds
        ``k_neighbors`` (0: it reads none); see ``neighbors``.
    """

    name: str
    func: CheckFunc
    requires: tuple[str, ...]
    flag: str
    score: str
    uses: tuple[str, ...] = ()
    label_columns: tuple[str, ...] = ()
    description: str = ""
    params: Mapping[str, Constraint] = field(default_factory=dict)
    tasks: tuple[str, ...] = ("single",)
    target: str = "train"
    needs: Callable[[Mapping[str, Any]], tuple[str, ...]] | None = None
    reads: Callable[[Mapping[str, Any], int], int] | None = None

    def requirements(self, options: Mapping[str, Any] | None = None) -> tuple[str, ...]:
        """The signals it cannot run without, given its ``options`` (unset ones at their defaults).

        Examples
        --------
        >>> spec = CHECKS["outlier"]
        >>> spec.requirements(), spec.requirements({"method": "isolation_forest"})
        (('neighbors|pred_probs',), ('features',))
        """
        return self.requires if self.needs is None else tuple(self.needs({**self.defaults, **(options or {})}))

    def neighbors(self, options: Mapping[str, Any] | None = None, k_neighbors: int = 40) -> int:
        """How many of each sample's nearest neighbours it reads, given its ``options`` and the
        audit's ``k_neighbors`` (never more than that).

        Examples
        --------
        >>> spec = CHECKS["outlier"]
        >>> spec.neighbors(), spec.neighbors({"method": "lof"}), spec.neighbors({"k_neighbors": 60})
        (10, 11, 40)
        """
        if self.reads is None:
            return 0
        return min(int(self.reads({**self.defaults, **(options or {})}, k_neighbors)), k_neighbors)

    def check_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` validated against ``params`` (unknown names and bad values raise)."""
        return check_params(dict(options), self.params, f"check {self.name!r}")

    @property
    def defaults(self) -> dict[str, Any]:
        """The options' default values (the check function's keyword defaults)."""
        signature = inspect.signature(self.func)
        return {k: p.default for k, p in signature.parameters.items() if k in self.params}


CHECKS: dict[str, CheckSpec] = {}


def register_check(
    name: str,
    *,
    requires: tuple[str, ...] | Callable[[Mapping[str, Any]], tuple[str, ...]],
    flag: str,
    score: str,
    uses: tuple[str, ...] = (),
    label_columns: tuple[str, ...] = (),
    description: str = "",
    params: Mapping[str, Constraint] | None = None,
    tasks: tuple[str, ...] = ("single",),
    target: str = "train",
    neighbors: int | Callable[[Mapping[str, Any], int], int] = 0,
) -> Callable[[CheckFunc], CheckFunc]:
    """Decorator that adds a check function to :data:`CHECKS` under ``name``.

    Parameters
    ----------
    name : str
        The check's name (in ``checks=``, the report and the CLI).
    requires : tuple of str, or callable
        Signals the check cannot run without (``"labels"``, ``"pred_probs"``, ``"features"``,
        ``"neighbors"``, ...; ``"a|b"``: either); the audit skips it, with the reason, when one
        is missing. A callable ``requires(options)`` returns them for the check's options.
    flag, score : str
        Its flag and score columns in ``Report.issues``.
    uses : tuple of str, default ()
        Signals it reads when present.
    label_columns : tuple of str, default ()
        Its columns that hold label values (shown in the user's values).
    description : str, default ""
        One line about the issue type, for the summary.
    params : mapping of str to constraint, optional
        Its options and their valid values (checked for ``check_params``).
    tasks : tuple of str, default ("single",)
        The tasks it applies to (``"single"``, ``"multilabel"``, ``"regression"``).
    target : {"train", "test"}, default "train"
        Which set its rows describe.
    neighbors : int or callable, default 0
        How many of each sample's nearest neighbours it reads from the shared graph, or
        ``neighbors(options, k_neighbors) -> int`` (``k_neighbors``: the audit's). The audit
        builds the graph once, with the most that the checks it runs read.

    Examples
    --------
    >>> @register_check("always", requires=(), flag="is_always", score="always_score")
    ... def always(signals):
    ...     return CheckResult(pd.DataFrame({"is_always": [True], "always_score": [0.0]}))
    >>> "always" in CHECKS
    True
    >>> del CHECKS["always"]
    """
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or target not in ("train", "test"):
        raise ValueError(f"Check {name!r}: tasks must be among {TASKS} and target 'train' or 'test'.")

    def add(func: CheckFunc) -> CheckFunc:
        if name in CHECKS:
            raise ValueError(f"A check named {name!r} is already registered.")
        options = dict(params or {})
        keywords = {k for k, p in inspect.signature(func).parameters.items() if p.kind is p.KEYWORD_ONLY}
        if set(options) != keywords:
            raise ValueError(f"Check {name!r}: params {sorted(options)} must name its keyword options {sorted(keywords)}.")
        defaults = {k: p.default for k, p in inspect.signature(func).parameters.items() if k in options}
        needs = requires if callable(requires) else None
        reads = neighbors if callable(neighbors) else (lambda _options, _k: neighbors)
        CHECKS[name] = CheckSpec(name, func, tuple(needs(defaults)) if needs else tuple(requires), flag, score, uses,
                                 label_columns, description, options, tuple(tasks), target, needs, reads)
        return func

    return add


def list_checks(pattern: str = "*") -> list[str]:
    """Names of the registered checks matching a shell-style ``pattern``.

    Parameters
    ----------
    pattern : str, default "*"
        A shell-style pattern (``fnmatch``), e.g. ``"odd_*"``.

    Examples
    --------
    >>> list_checks("lab*")
    ['label', 'label_imbalance', 'label_values']
    """
    return sorted(n for n in CHECKS if fnmatch(n, pattern))


def resolve_checks(names: str | list[str] | tuple[str, ...] | None) -> list[CheckSpec]:
    """The specs for ``names`` (None: all), in registry order; unknown names raise.

    Parameters
    ----------
    names : str, list of str or None
        Check names (None: every registered check).

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


def graph_neighbors(specs: list[CheckSpec], options: Mapping[str, Mapping[str, Any]], k_neighbors: int) -> int:
    """The neighbours per sample of the audit's one graph: the most that the checks ``specs``
    read with their ``options`` (0: none reads the graph), at most ``k_neighbors``.

    Examples
    --------
    >>> graph_neighbors(resolve_checks(["outlier", "null"]), {}, 40)
    10
    >>> graph_neighbors(resolve_checks(["label", "outlier"]), {}, 40)
    40
    """
    return max((spec.neighbors(options.get(spec.name), k_neighbors) for spec in specs), default=0)


def check_options(check_params: Mapping[str, Mapping[str, Any]] | None, specs: list[CheckSpec]) -> dict[str, dict]:
    """Each check's options (``audit(check_params=...)``), validated against its declared
    parameters before any data is read; the one check for :func:`datafix.audit` and
    :func:`datafix.scale.audit_ray`.

    Examples
    --------
    >>> check_options({"outlier": {"k_neighbors": 5}}, resolve_checks("outlier"))
    {'outlier': {'k_neighbors': 5}}
    >>> check_options({"label": {}}, resolve_checks("outlier"))
    Traceback (most recent call last):
    ...
    datafix.errors.InvalidInputError: The 'check_params' parameter has options for 'label', which is not among the checks to run ['outlier'].
    """
    if check_params is None:
        return {}
    if not isinstance(check_params, Mapping):
        raise InvalidTypeError("The 'check_params' parameter must be a dict of check name to options.")
    by_name = {s.name: s for s in specs}
    unknown = [name for name in check_params if name not in by_name]
    if unknown:
        raise InvalidInputError(f"The 'check_params' parameter has options for {unknown[0]!r}, which is not among the "
                                f"checks to run {sorted(by_name)}.")
    return {name: by_name[name].check_options(opts) for name, opts in check_params.items()}
