"""The seam between the audit and where it runs: the validated request, an engine's capabilities,
and what an engine hands back (:class:`Prepared`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from datafix._validation import check_choice, check_int, check_random_state
from datafix.checks.registry import (
    CheckResult,
    CheckSpec,
    check_options,
    graph_neighbors,
    resolve_checks,
)
from datafix.data.target import Target, label_argument
from datafix.errors import InvalidInputError

#: The arguments of :func:`datafix.audit` that say how to read and audit the data, with their defaults.
DEFAULTS: dict[str, Any] = {
    "labels": None, "features": None, "pred_probs": None, "feature_columns": None, "model": None, "cv": 5,
    "k_neighbors": 40, "checks": None, "check_params": None, "nan_policy": "raise", "test": None,
    "test_features": None, "multilabel": None, "annotators": None, "unlabelled": None, "classes": None,
    "task": None, "predictions": None, "knn_backend": "auto", "weights": None, "vote_features": "auto", "label_fn": None,
    "batch_size": 256, "image_size": 32, "num_workers": None, "random_state": 0, "verbose": True,
}


@dataclass(frozen=True)
class AuditRequest:
    """:func:`datafix.audit`'s arguments, checked once whatever the engine: ``arguments`` as given,
    and the canonical forms the flow reads (the checks to run, their options, the seed, which
    argument carries the labels).

    Attributes
    ----------
    data : object
        The data as given.
    arguments : dict
        Every other argument of :func:`datafix.audit`, defaults filled in (read as attributes too).
    specs : list of CheckSpec
        The checks to run (a test set's checks added when ``test`` is given).
    options : dict
        Each check's options, validated.
    rng : numpy.random.Generator
        The audit's random generator.
    label_argument : str or None
        Which argument carries the labels (``"labels"``, ``"multilabel"``, ``"annotators"``).
    """

    data: Any
    arguments: dict[str, Any]
    specs: list[CheckSpec]
    options: dict[str, dict]
    rng: np.random.Generator
    label_argument: str | None

    @classmethod
    def of(cls, data: Any, **arguments: Any) -> AuditRequest:
        """The request for ``audit(data, **arguments)``; bad arguments raise, naming themselves."""
        unknown = sorted(set(arguments) - set(DEFAULTS))
        if unknown:
            raise TypeError(f"audit() got unexpected keyword arguments {unknown}")
        given = {**DEFAULTS, **arguments}
        given["cv"] = check_int(given["cv"], "cv", minimum=2)
        given["k_neighbors"] = check_int(given["k_neighbors"], "k_neighbors", minimum=1)
        which = label_argument(given["labels"], given["multilabel"], given["annotators"], given["task"])
        specs = resolve_checks(given["checks"])
        if given["test"] is not None:  # a test set is audited by the test-set checks whatever ``checks`` names
            specs += [s for s in resolve_checks(None) if s.target == "test" and s not in specs]
        options = check_options(given["check_params"], specs)
        return cls(data, given, specs, options, check_random_state(given["random_state"]), which)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["arguments"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def graph_k(self) -> int:
        """The neighbours per row the graph is built with: the most that the checks to run read
        (``datafix.checks.registry.graph_neighbors``), at least one."""
        return max(graph_neighbors(self.specs, self.options, self.arguments["k_neighbors"]), 1)

    def given(self, name: str) -> bool:
        """Whether argument ``name`` differs from its default."""
        value, default = self.arguments[name], DEFAULTS[name]
        return value is not default and not (type(value) in (int, str, bool) and value == default)


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, declared in one place and checked before it does any work.

    Attributes
    ----------
    name : str
        The engine's name in messages (``engine='ray'``).
    refused : tuple of str
        Arguments the engine does not take: given (other than their default), they are refused.
    columns : tuple of str
        Arguments that name columns of the data on this engine (a string or a list of strings).
    forms : dict of str to (callable, str)
        Per argument, a test of the given value, and the refusal when it fails (what the engine
        takes instead).
    knn_backends : tuple of str
        The neighbour searches it runs.

    Examples
    --------
    >>> caps = Capabilities("cluster", refused=("label_fn",), columns=("multilabel",))
    >>> caps.check(AuditRequest.of(None, multilabel=["cat", "dog"]))  # columns: accepted
    >>> caps.check(AuditRequest.of(None, multilabel=[[0, 1], [1, 1]]))
    Traceback (most recent call last):
    ...
    datafix.errors.InvalidInputError: With engine='cluster' the 'multilabel' argument names columns of the data (a list of column names); tables of labels and arrays stay on one machine: use engine='local'.
    """

    name: str
    refused: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    forms: Mapping[str, tuple[Callable[[Any], bool], str]] = field(default_factory=dict)
    knn_backends: tuple[str, ...] = ("auto", "exact", "ivf", "faiss")

    def check(self, request: AuditRequest) -> None:
        """Refuse what this engine cannot do, naming the argument and the way out.

        Examples
        --------
        >>> ray = Capabilities("ray", refused=("nan_policy",))
        >>> ray.check(AuditRequest.of(None, labels="y", nan_policy="drop"))
        Traceback (most recent call last):
        ...
        datafix.errors.InvalidInputError: The 'nan_policy' argument is not supported by engine='ray' yet; audit with engine='local', or leave it out.
        """
        for name in self.refused:
            if request.given(name):
                raise InvalidInputError(f"The {name!r} argument is not supported by engine={self.name!r} yet; audit "
                                        "with engine='local', or leave it out.")
        for name in self.columns:
            value = request.arguments[name]
            if value is not None and not _names_columns(value):
                raise InvalidInputError(f"With engine={self.name!r} the {name!r} argument names columns of the data "
                                        "(a list of column names); tables of labels and arrays stay on one machine: "
                                        "use engine='local'.")
        for name, (accepts, refusal) in self.forms.items():
            value = request.arguments[name]
            if value is not None and not accepts(value):
                raise InvalidInputError(refusal)
        check_choice(request.knn_backend, "knn_backend", self.knn_backends)


def _names_columns(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, (list, tuple)) and bool(value)
                                      and all(isinstance(v, str) for v in value))


@dataclass
class Prepared:
    """What an engine hands the flow: the data read (``view``, ``target``), the signals the checks
    read, the test set's view, results the engine computed itself (by check name), and its own
    entries of the report's ``params``.

    Attributes
    ----------
    view : DataView
        The data read (index, labels, broken samples).
    target : Target
        What the labels are.
    signals : Signals
        What the checks read.
    test_view : DataView or None
        The test set's view.
    computed : dict
        Check results the engine computed itself, by check name.
    params : dict
        The engine's own entries of the report's ``params``.
    audited : tuple or None
        What ``Report.fix`` re-reads: the data, the labels argument and the view.
    """

    view: Any
    target: Target
    signals: Any
    test_view: Any = None
    computed: dict[str, CheckResult] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    audited: tuple[Any, Any, Any] | None = None


class Engine(Protocol):
    """Where an audit runs: reads and profiles the source, computes the prediction signal
    (cross-validated predictions), the neighbour graph and the test set's queries, and closes.

    :func:`datafix.audit` checks the arguments once, then calls ``capabilities.check`` (before
    any work), ``prepare`` and ``close``, and runs every check once on what ``prepare`` returned.
    """

    capabilities: Capabilities

    def prepare(self, request: AuditRequest) -> Prepared:
        """Read the data into a view and a ``Target`` (``datafix.data.target``), and the signals."""
        ...

    def close(self) -> None:
        """Free what the engine holds (actors, the cluster's context)."""
        ...
