"""Label values that are probably one class written two ways: "churn" / "churn " / "Churn" / "chrun".

A class is flagged when its value, as text, differs from a larger class's only by case and
whitespace, or (values of at least ``min_length`` characters) by one edit (insertion, deletion,
substitution or transposition of neighbours) from a class at least ``min_ratio`` times its size.
Its samples get ``is_label_value_issue`` and the larger class's value as ``suggested_value``
(other samples: their own value);
``label_value_score`` is the class's size over the larger class's (lower = more likely a typo).
The ``label_values`` table has one row per flagged class.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datafix._validation import Interval, py_value
from datafix.checks.registry import CheckResult, register_check
from datafix.signals.bundle import Signals


def one_edit_apart(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by one insertion, deletion, substitution or neighbour swap.

    Examples
    --------
    >>> one_edit_apart("churn", "chrun"), one_edit_apart("churn", "churns"), one_edit_apart("stay", "churn")
    (True, True, False)
    """
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1:]


def _canonical(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def find_label_value_issues(classes: np.ndarray, counts: np.ndarray, *, min_ratio: float = 10.0,
                            min_length: int = 4) -> pd.DataFrame:
    """One row per class that looks like another, larger class written differently.

    Returns a table indexed by class position: ``value``, ``count``, ``suggested`` (position of
    the larger class), ``suggested_value``, ``reason``.

    Parameters
    ----------
    classes : numpy.ndarray
        The class values.
    counts : numpy.ndarray
        Samples per class, in the same order.
    min_ratio : float, default 10.0
        A class is a typo of another only if that one is at least this many times larger.
    min_length : int, default 4
        One-edit matches are looked for only among values of at least this many characters.

    Examples
    --------
    >>> classes = np.array(["Stay", "churn", "churn ", "chrun", "stay"])
    >>> find_label_value_issues(classes, np.array([3, 90, 4, 2, 100]))[["value", "suggested_value"]].values.tolist()
    [['Stay', 'stay'], ['churn ', 'churn'], ['chrun', 'churn']]
    """
    rows = []
    text = [str(py_value(c)) for c in classes]
    canonical = [_canonical(t) for t in text]
    order = np.argsort(-np.asarray(counts), kind="stable")  # larger classes first
    for i in range(len(classes)):
        if not isinstance(py_value(classes[i]), str):
            continue
        for j in order:
            if j == i or counts[j] < counts[i] or (counts[j] == counts[i] and j > i):
                continue
            if canonical[i] == canonical[j]:
                reason = "differs only by case or whitespace from"
            elif (len(canonical[i]) >= min_length and counts[j] >= min_ratio * counts[i]
                  and one_edit_apart(canonical[i], canonical[j])):
                reason = "is one edit away from"
            else:
                continue
            rows.append({"position": i, "value": classes[i], "count": int(counts[i]), "suggested": int(j),
                         "suggested_value": classes[j],
                         "reason": f"{text[i]!r} {reason} {text[j]!r} ({int(counts[j])} samples)"})
            break
    columns = ["value", "count", "suggested", "suggested_value", "reason"]
    return pd.DataFrame(rows, columns=["position", *columns]).set_index("position")


PARAMS = {"min_ratio": Interval(float, 1.0), "min_length": Interval(int, 1)}


@register_check(
    "label_values",
    requires=("labels",),
    flag="is_label_value_issue",
    score="label_value_score",
    label_columns=("suggested_value",),
    description="label values that are probably another class written differently",
    params=PARAMS,
)
def label_values_check(signals: Signals, *, min_ratio: float = 10.0, min_length: int = 4) -> CheckResult:
    """Flag samples whose label is a variant of another class's value (see the module docstring).

    Parameters
    ----------
    signals : Signals
        The audit's shared signals (labels and their values).
    min_ratio : float, default 10
        A one-edit variant must be at least this many times rarer than the class it resembles.
    min_length : int, default 4
        Values shorter than this are never called one-edit variants ("cat" / "car").

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> y = np.array([0] * 50 + [1] * 2)
    >>> out = label_values_check(Signals(y, 2, classes=np.array(["yes", "Yes "]), verbose=False))
    >>> int(out.columns["is_label_value_issue"].sum()), int(out.columns["suggested_value"].iloc[-1])
    (2, 0)
    """
    labels = signals.labels
    counts = np.bincount(labels[labels >= 0], minlength=signals.n_classes)
    found = find_label_value_issues(np.asarray(signals.classes), counts, min_ratio=min_ratio, min_length=min_length)
    suggested = np.arange(signals.n_classes, dtype=np.int64)  # unflagged: the value itself
    score = np.ones(signals.n_classes)
    if len(found):
        suggested[found.index] = found["suggested"].to_numpy()
        score[found.index] = found["count"].to_numpy() / counts[found["suggested"].to_numpy()]
    flagged = np.zeros(signals.n_classes, dtype=bool)
    flagged[found.index] = True
    known, at = labels >= 0, np.maximum(labels, 0)  # an unlabelled sample has no value to judge
    columns = pd.DataFrame({"is_label_value_issue": known & flagged[at],
                            "label_value_score": np.where(known, score[at], np.nan),
                            "suggested_value": np.where(known, suggested[at], -1)})
    rule = ("a string label value is flagged when it differs from a larger class's only by case or "
                         f"whitespace, or (values of {min_length}+ characters) by one edit from a class at least "
                         f"{min_ratio:g} x its size")
    if not len(found):
        return CheckResult(columns, rule)
    pairs = ", ".join(f"{py_value(v)!r} -> {py_value(s)!r}" for v, s in zip(found["value"], found["suggested_value"],
                                                                           strict=True))
    return CheckResult(columns, rule, {"label_values": found.drop(columns=["suggested"]).set_index("value")},
                       f"merge the label values {pairs} (e.g. strip and lower-case the label column) if they are the "
                       "same class, then audit again")
