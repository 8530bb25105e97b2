"""Label issues: confident learning (cleanlab) on model probabilities pooled with kNN label votes.

cleanlab's ``find_label_issues`` judges each label against out-of-sample predicted
probabilities. datafix gives it better probabilities when features are available:

1. each sample's neighbours in feature space vote for their labels (Gaussian-weighted by
   distance, the sample itself excluded, so the votes stay out-of-sample);
2. the votes are averaged with the model's ``pred_probs``, with the weight whose average best
   predicts the given labels (Brier score; when the model is near-perfect the votes get little
   weight),
   and confident learning flags issues (for a rare class, under half of a uniform share of the
   labels, the number of its issues is the larger of the counts from the model's and from the
   pooled probabilities: see :data:`RARE_SHARE`);
3. the votes are cast again with each flagged neighbour voting for its pooled-probability
   distribution instead of its (probably wrong) given label, and confident learning runs again.

On the benchmark cases (``benchmarks/label_issues.py``) this raises F1 over cleanlab alone on
the same ``pred_probs``; ``docs/benchmarks.md`` has the figures. Without features, the check is
cleanlab's confident learning as it is.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
from cleanlab.count import compute_confident_joint
from cleanlab.filter import find_label_issues as cl_find_label_issues
from cleanlab.rank import get_label_quality_scores

from datafix._validation import Interval, Options, check_params, py_value
from datafix.checks.registry import CheckResult, register_check
from datafix.checks.regression import TARGET_NEIGHBORS, find_target_issues
from datafix.errors import InvalidInputError, warn_user
from datafix.signals.bundle import Signals
from datafix.signals.graph import KNNGraph

METHODS = ("ensemble", "cleanlab")
_CLEANLAB_TOO_FEW = re.compile(r"May not flag all label issues in class: (\d+)")
LABEL_COLUMNS = ["is_label_issue", "label_score", "given_label", "suggested_label", "suggested_confidence"]


def choose_knn_weight(labels: np.ndarray, pred_probs: np.ndarray, knn_probs: np.ndarray) -> float:
    """The weight in {0, 0.1, ..., 1} of ``knn_probs`` whose pooled probabilities best predict the given labels.

    "Best" is the lowest Brier score (mean squared error to the one-hot given label). Both
    sources are out-of-sample, so this is stacking; the Brier score is bounded, so the few
    wrong labels cannot dominate the choice the way they dominate a log-likelihood.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 1, 1])
    >>> good, bad = np.eye(2)[labels] * 0.9 + 0.05, np.full((3, 2), 0.5)
    >>> choose_knn_weight(labels, bad, good), choose_knn_weight(labels, good, bad)
    (1.0, 0.0)
    """
    onehot = np.eye(pred_probs.shape[1])[labels]
    grid = np.linspace(0.0, 1.0, 11)
    brier = [(((1.0 - w) * pred_probs + w * knn_probs - onehot) ** 2).sum(axis=1).mean() for w in grid]
    return float(grid[int(np.argmin(brier))])


#: A class whose share of the given labels is below ``RARE_SHARE / K`` is rare: its members'
#: neighbours are mostly of other classes, so the kNN votes pull its pooled probabilities toward
#: them and shrink the number of its label issues that confident learning counts. For such a
#: class the count of issues is the larger of the model's and the pooled estimate (the pooled
#: probabilities still pick which samples). On the 18 binary cases of
#: ``benchmarks/label_issues.py`` (10,000 rows, 6 % positives, 4 or 10 % flips) the worst F1
#: against cleanlab went from -0.011 to -0.004 and the mean lead from +0.006 to +0.012; the 54
#: balanced cases have no rare class.
RARE_SHARE = 0.5
#: The rare-class rule above applies to problems of at most this many classes. In a long tail of
#: many classes every tail class is "rare" by its share, and taking the model's larger count there
#: flagged (and a fix then dropped) more of the few true members of each tail class: on the
#: long-tailed cases of ``benchmarks/outcome.py`` the trained model lost accuracy (issue 39). The
#: binary cases it was made for keep it.
RARE_MAX_CLASSES = 2


#: cleanlab's filters the label check can flag with (``filter_by=``): ``"prune_by_noise_rate"``
#: (cleanlab's default: each cell of the calibrated confident joint counts how many of a class are
#: wrong towards another, and the samples with the largest margin towards it are flagged) or
#: ``"both"`` (flagged by that and by prune-by-class, each class's count taken on the lowest
#: self-confidences: confident learning's ``C_both``) or ``"low_score"`` (as many flags as cleanlab
#: estimates wrong labels in all, ``cleanlab.count.num_label_issues``: the off-diagonal of the
#: uncalibrated confident joint; flagged on the lowest label scores over all samples, as cleanlab's
#: ``low_self_confidence`` and ``low_normalized_margin`` filters do). See :func:`label_check` for
#: which the audit uses.
FILTERS = ("prune_by_noise_rate", "both", "low_score")

#: ``score="pair_margin"``: a class whose off-diagonal confident-joint counts (uncalibrated) go more
#: than this share to one other class is confused with that class, and its samples are ranked by
#: cleanlab's normalized margin (the given label's probability against the strongest other's), the
#: rest by self-confidence. Chosen on the Fashion-MNIST training subset of issue 43 (0.3 and 0.4 tied,
#: 0.5 and 0.6 lower on confusable pairs): there no class of symmetric or by-frequency noise put more
#: than 0.31 of its counts in one cell, and the classes of a confused pair put 0.47-1.0.
PAIR_SHARE = 0.4


#: The label check's options and their allowed values (declared once: the audit and
#: :func:`find_label_issues` validate against it).
PARAMS = {
    "method": Options(*METHODS),
    "knn_weight": [Options("auto"), Interval(float, 0.0, 1.0)],
    "rounds": Interval(int, 1),
    "min_examples_per_class": Interval(int, 0),
    "threshold": Interval(float, 0.0, 100.0),
    "score": Options("auto", "probs", "dynamics", "pooled", "pair_margin"),
    "filter_by": Options("auto", *FILTERS),
}
#: What each ``score`` ranks the samples by, for the report's rule.
SCORES = {"probs": "the pooled probability of the given label",
          "dynamics": "the training margin (area under the margin: the given label's logit minus the largest other, "
                      "averaged over the epochs the sample was trained on)",
          "pooled": "the mean of the pooled probability of the given label and the sigmoid of the training margin",
          "pair_margin": "the pooled probability of the given label, or in a class confused with one other (more "
                         f"than {PAIR_SHARE:.0%} of its confident-joint errors towards it) the normalized margin of the "
                         "given label against the strongest other"}


def find_label_issues(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    *,
    neighbors: KNNGraph | None = None,
    method: str = "ensemble",
    knn_weight: float | str = "auto",
    rounds: int = 2,
    min_examples_per_class: int = 1,
    classes: np.ndarray | None = None,
    score: str = "probs",
    margins: np.ndarray | None = None,
    filter_by: str = "prune_by_noise_rate",
) -> pd.DataFrame:
    """Flag and score likely label errors.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (n,)
        Given label codes ``0..K-1``; ``-1`` for an unlabelled sample (never flagged, score NaN;
        as a neighbour it votes with its ``pred_probs``).
    pred_probs : numpy.ndarray of shape (n, K)
        Out-of-sample predicted probabilities.
    neighbors : KNNGraph, optional
        The kNN graph over the same samples; without it, ``method="ensemble"`` is cleanlab's
        confident learning alone.
    method : {"ensemble", "cleanlab"}, default "ensemble"
        ``"cleanlab"`` ignores the neighbours.
    knn_weight : float in [0, 1] or "auto", default "auto"
        Weight of the kNN votes in the pooled probabilities. ``"auto"`` picks, on a grid of
        0, 0.1, ..., 1, the weight whose pooled probabilities predict the given labels with the
        lowest Brier score (see ``choose_knn_weight``).
    rounds : int, default 2
        Voting rounds; from the second on, flagged neighbours vote with their pooled
        probabilities instead of their given label.
    min_examples_per_class : int, default 1
        Never flag so many samples of a class that fewer than this many stay unflagged
        (cleanlab's rule: the only sample of a class is never flagged).
    classes : numpy.ndarray of shape (K,), optional
        The user's label values of the codes, for warnings (default: the codes).
    score : {"probs", "dynamics", "pooled", "pair_margin"}, default "probs"
        What picks the flagged samples: confident learning estimates how many of each given class
        are wrong, and the lowest of this score are flagged, class by class (cleanlab's
        prune-by-rank), or over all samples with ``filter_by="low_score"``. ``"probs"``: the
        pooled probability of the given label (confident learning's own choice of samples, cell
        by cell); ``"dynamics"``: the training ``margins`` (a
        sample the network fits late or never is suspect); ``"pooled"``: the mean of the two
        (sigmoid of the margin); ``"pair_margin"``: the pooled probability of the given label, but
        in a class whose errors the confident joint puts mostly in one other class (over
        ``PAIR_SHARE``, a confused pair) cleanlab's normalized margin, which weighs the given label
        against that class. The audit's label check chooses it for the CNN's probabilities.
    margins : numpy.ndarray of shape (n,), optional
        In-sample training margins (``ImageSignals.margins``); needed by
        ``score="dynamics"`` and ``"pooled"``.
    filter_by : {"prune_by_noise_rate", "both", "low_score"}, default "prune_by_noise_rate"
        cleanlab's filter (its ``find_label_issues(filter_by=)``) on the pooled probabilities:
        ``"both"`` flags only the samples that prune-by-noise-rate and prune-by-class both flag
        (confident learning's ``C_both``): fewer and surer. ``"low_score"`` flags as many as
        cleanlab's ``num_label_issues`` estimates (the uncalibrated confident joint's off-diagonal),
        on the lowest ``score`` over all samples (cleanlab's ``low_self_confidence`` filter, with
        this score), each class keeping ``min_examples_per_class`` unflagged: no per-class count
        to get wrong. The audit's label check chooses it for the CNN's probabilities (its
        ``filter_by="auto"``).

    Returns
    -------
    pandas.DataFrame
        One row per sample: ``is_label_issue`` (bool), ``label_score`` (in [0, 1], lower = more
        likely wrong: the ``score``), ``given_label``,
        ``suggested_label`` (codes), ``suggested_confidence``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 0, 0, 1, 1, 1, 1])
    >>> P = np.array([[.9, .1], [.8, .2], [.9, .1], [.1, .9], [.2, .8], [.1, .9], [.95, .05]])
    >>> out = find_label_issues(labels, P)
    >>> out["is_label_issue"].tolist()
    [False, False, False, False, False, False, True]
    >>> int(out.loc[6, "suggested_label"])
    0
    """
    check_params({"method": method, "knn_weight": knn_weight, "rounds": rounds, "score": score,
                  "filter_by": filter_by, "min_examples_per_class": min_examples_per_class},
                 {**PARAMS, "filter_by": Options(*FILTERS), "score": Options(*SCORES)}, "function 'find_label_issues'")
    if score in ("dynamics", "pooled") and (margins is None or len(margins) != len(labels)):
        raise InvalidInputError(f"score={score!r} ranks by training margins: pass margins= (one per sample), which "
                                "the CNN cross-validation records (model='cnn'); or use score='probs'.")
    labels = np.asarray(labels, dtype=np.int64)
    P = np.asarray(pred_probs, dtype=np.float64)
    n, k_classes = P.shape
    known = labels >= 0  # an unlabelled sample (-1) is not judged; its neighbours vote with its pred_probs
    given = labels[known]

    def onehot() -> np.ndarray:
        votes = P.copy()
        votes[known] = np.eye(k_classes)[given]
        return votes

    too_few: set[int] = set()

    def confident_learning(probs: np.ndarray, joint: np.ndarray | None = None) -> np.ndarray:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            found = np.zeros(n, dtype=bool)
            found[known] = cl_find_label_issues(given, probs[known], confident_joint=joint,
                                                filter_by="low_self_confidence" if filter_by == "low_score" else filter_by,
                                                min_examples_per_class=min_examples_per_class, n_jobs=1)
        for w in caught:  # cleanlab names classes by code, at its own line: say it in the user's values
            match = _CLEANLAB_TOO_FEW.search(str(w.message))
            if match:
                too_few.add(int(match.group(1)))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return found

    use_knn = method == "ensemble" and neighbors is not None and neighbors.k > 0 and knn_weight != 0
    pooled = P
    flagged = confident_learning(P) if not use_knn else None
    if use_knn:
        rare = np.bincount(given, minlength=k_classes) < RARE_SHARE / k_classes * len(given)
        rare &= k_classes <= RARE_MAX_CLASSES
        model_joint = compute_confident_joint(given, P[known]) if rare.any() else None
        votes = onehot()
        knn_probs = neighbors.label_votes(votes)
        weight = choose_knn_weight(given, P[known], knn_probs[known]) if knn_weight == "auto" else knn_weight
        for r in range(rounds):
            if r:
                votes = onehot()
                votes[flagged] = pooled[flagged]
                knn_probs = neighbors.label_votes(votes)
            pooled = (1.0 - weight) * P + weight * knn_probs
            joint = None
            if rare.any():  # a rare class's counts: the larger of the model's and the pooled estimate
                joint = compute_confident_joint(given, pooled[known])
                rows = rare[:, None] & ~np.eye(k_classes, dtype=bool)
                joint = np.where(rows, np.maximum(joint, model_joint), joint)
            flagged = confident_learning(pooled, joint)
    if too_few:
        names = np.arange(k_classes) if classes is None else np.asarray(classes)
        shown = ", ".join(repr(py_value(names[c])) for c in sorted(too_few))
        one = len(too_few) == 1
        warn_user(f"{'Class' if one else 'Classes'} {shown} {'has' if one else 'have'} too few samples for confident "
                  f"learning to flag every label issue in {'it' if one else 'them'} "
                  f"(min_examples_per_class={min_examples_per_class}); look at {'it' if one else 'them'} by hand.")
    quality = np.full(n, np.nan)
    quality[known] = get_label_quality_scores(given, pooled[known], method="self_confidence")
    if score == "pair_margin":
        quality = pair_margin_scores(labels, pooled, quality)
    elif score != "probs":
        fitted = 1.0 / (1.0 + np.exp(-np.asarray(margins, dtype=np.float64)))
        quality = np.where(known, fitted if score == "dynamics" else (quality + fitted) / 2, np.nan)
    if filter_by == "low_score":  # cleanlab's count in all, on the lowest score over all samples
        flagged = lowest_overall(int(flagged.sum()), labels, quality, min_examples_per_class)
    elif score != "probs":  # the filter's count per class, on the class's lowest score
        flagged = lowest_per_class(flagged, labels, quality)
    suggested = pooled.argmax(axis=1)
    return pd.DataFrame(
        {
            "is_label_issue": flagged.astype(bool),
            "label_score": quality,
            "given_label": labels,
            "suggested_label": suggested.astype(np.int64),
            "suggested_confidence": pooled[np.arange(n), suggested],
        }
    )


def pair_margin_scores(labels: np.ndarray, pooled: np.ndarray, self_confidence: np.ndarray) -> np.ndarray:
    """``self_confidence``, but cleanlab's normalized margin in each class confused with one other.

    A class is confused with one other when more than ``PAIR_SHARE`` of its off-diagonal
    (uncalibrated) confident-joint counts are in that class's cell: its wrong labels mostly belong
    to one class, and the margin against the strongest other class separates them better than the
    given label's probability alone (issue 43, confusable pairs of Fashion-MNIST).

    Examples
    --------
    >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    >>> P = np.array([[.9, .05, .05], [.8, .1, .1], [.1, .85, .05], [.1, .9, 0], [.1, .8, .1], [.1, .9, 0],
    ...               [.1, .8, .1], [.05, .05, .9], [.1, .1, .8], [.2, .1, .7]])
    >>> sc = P[np.arange(10), labels]  # self-confidence
    >>> got = pair_margin_scores(labels, P, sc)
    >>> got[:4].round(3).tolist()  # class 0's errors all go to class 1: the margin against it
    [0.925, 0.85, 0.125, 0.1]
    >>> bool(np.array_equal(got[4:], sc[4:]))  # classes 1 and 2 have no errors: self-confidence
    True
    """
    known = labels >= 0
    k_classes = pooled.shape[1]
    joint = compute_confident_joint(labels[known], pooled[known], calibrate=False)
    off = joint * (1 - np.eye(k_classes, dtype=joint.dtype))
    paired = np.flatnonzero(off.max(axis=1) > PAIR_SHARE * np.maximum(off.sum(axis=1), 1))
    out = np.array(self_confidence, dtype=np.float64, copy=True)
    members = known & np.isin(labels, paired)
    if members.any():
        out[members] = get_label_quality_scores(labels[members], pooled[members], method="normalized_margin")
    return out


def lowest_overall(count: int, labels: np.ndarray, score: np.ndarray, min_examples_per_class: int = 1) -> np.ndarray:
    """The ``count`` labelled samples of lowest ``score``, each class keeping ``min_examples_per_class`` unflagged.

    Examples
    --------
    >>> lowest_overall(2, np.array([0, 0, 1, -1]), np.array([0.2, 0.9, 0.1, 0.0])).tolist()
    [True, False, False, False]
    >>> lowest_overall(2, np.array([0, 0, 1, 1]), np.array([0.2, 0.9, 0.1, 0.3]), 0).tolist()
    [True, False, True, False]
    """
    known = np.flatnonzero(labels >= 0)
    order = known[np.argsort(score[known], kind="stable")]
    room = np.maximum(np.bincount(labels[known]) - min_examples_per_class, 0)
    turn = pd.Series(labels[order]).groupby(labels[order]).cumcount().to_numpy()  # k-th lowest of its class
    out = np.zeros(len(labels), dtype=bool)
    out[order[turn < room[labels[order]]][:count]] = True
    return out


def lowest_per_class(flagged: np.ndarray, labels: np.ndarray, score: np.ndarray) -> np.ndarray:
    """As many flags per given class as ``flagged`` has, on that class's lowest ``score`` instead.

    Examples
    --------
    >>> lowest_per_class(np.array([True, False, False, True]), np.array([0, 0, 0, 1]),
    ...                  np.array([0.9, 0.1, 0.5, 0.2])).tolist()
    [False, True, False, True]
    """
    out = np.zeros(len(flagged), dtype=bool)
    for c in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == c)
        count = int(flagged[members].sum())
        if count:
            out[members[np.argsort(score[members], kind="stable")[:count]]] = True
    return out


#: Neighbours that vote on each label of a multilabel sample (the nearest of the shared graph's):
#: a label is a small binary class, and nearer votes are more local. On the multilabel cases of
#: ``benchmarks/multilabel_label_issues.py`` (seeds 0 and 1) the mean F1 lead over cleanlab was
#: +0.069 with 20 neighbours, +0.053 with 40, +0.068 with 10; seeds 0-2 with 20: +0.070, worst +0.025.
MULTILABEL_NEIGHBORS = 20


def find_multilabel_issues(
    Y: np.ndarray,
    pred_probs: np.ndarray,
    *,
    neighbors: KNNGraph | None = None,
    label_names: list | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Flag samples whose label set is likely wrong: per label, a label missing or spurious.

    Each label is a binary problem, judged as :func:`find_label_issues` judges one label per
    sample: the label's out-of-sample probability pooled with the kNN votes of the neighbours'
    labels (weight by Brier score, a second round with flagged neighbours voting with their pooled
    probabilities), then confident learning (cleanlab's one-vs-rest treatment of multilabel data,
    as in ``cleanlab.multilabel_classification``). A sample is a label issue when any of its labels
    is; its score is cleanlab's multilabel quality score on the pooled probabilities.

    Parameters
    ----------
    Y : numpy.ndarray of bool or 0/1, shape (n, L)
        The given label sets.
    pred_probs : numpy.ndarray of shape (n, L)
        Each label's out-of-sample probability.
    neighbors : KNNGraph, optional
        The kNN graph over the same samples (without it: cleanlab's method alone); its nearest
        ``MULTILABEL_NEIGHBORS`` neighbours vote.
    label_names : list, optional
        The labels' names for the ``suspect_labels`` column (default: their positions).
    **options
        ``method``, ``knn_weight``, ``rounds``, ``min_examples_per_class``, as in
        :func:`find_label_issues`.

    Returns
    -------
    pandas.DataFrame
        One row per sample: ``is_label_issue``, ``label_score`` (in [0, 1], lower = more likely
        wrong), ``suspect_labels`` (e.g. ``"+cat, -dog"``: cat looks missing, dog spurious; empty
        when none), ``n_suspect_labels``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> Y = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1)
    >>> i = int(np.flatnonzero(Y[:, 0])[0])
    >>> Y[i, 0] = False  # sample i lacks label "a"
    >>> P = np.clip(np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1) * 0.9 + 0.05, 0, 1)
    >>> out = find_multilabel_issues(Y, P, label_names=["a", "b"])
    >>> bool(out.loc[i, "is_label_issue"]), out.loc[i, "suspect_labels"]
    (True, '+a')
    """
    from cleanlab.multilabel_classification.rank import (
        get_label_quality_scores as multilabel_scores,
    )

    Y = np.asarray(Y).astype(bool)
    P = np.clip(np.asarray(pred_probs, dtype=np.float64), 0.0, 1.0)
    n, n_labels = Y.shape
    if neighbors is not None:  # the nearest of the shared graph's neighbours
        neighbors = neighbors.nearest(MULTILABEL_NEIGHBORS)
    names = list(range(n_labels)) if label_names is None else list(label_names)
    suspect = np.zeros((n, n_labels), dtype=bool)
    pooled = P.copy()
    for j in range(n_labels):
        y = Y[:, j].astype(np.int64)
        if y.min() == y.max():  # every sample has (or lacks) the label: nothing to compare with
            continue
        found = find_label_issues(y, np.stack([1.0 - P[:, j], P[:, j]], axis=1), neighbors=neighbors,
                                  classes=np.array([f"not {names[j]}", names[j]], dtype=object), **options)
        suspect[:, j] = found["is_label_issue"].to_numpy()
        given_prob = found["label_score"].to_numpy()  # the pooled probability of the given value
        pooled[:, j] = np.where(Y[:, j], given_prob, 1.0 - given_prob)
    score = multilabel_scores([list(np.flatnonzero(row)) for row in Y], pooled)
    text = [", ".join(("-" if Y[i, j] else "+") + str(names[j]) for j in np.flatnonzero(suspect[i])) for i in range(n)]
    return pd.DataFrame({"is_label_issue": suspect.any(axis=1), "label_score": score, "suspect_labels": text,
                         "n_suspect_labels": suspect.sum(axis=1)})


@register_check(
    "label",
    requires=("labels|multilabel|targets", "pred_probs|predictions"),
    tasks=("single", "multilabel", "regression"),
    uses=("neighbors",),
    flag="is_label_issue",
    score="label_score",
    label_columns=("given_label", "suggested_label"),
    description="samples whose given label is likely wrong",
    params=PARAMS,
    neighbors=lambda options, k_neighbors: k_neighbors,  # every neighbour votes (a regression: measures spread)
)
def label_check(signals: Signals, *, method: str = "ensemble", knn_weight: float | str = "auto", rounds: int = 2,
                min_examples_per_class: int = 1, threshold: float = 3.0, score: str = "auto",
                filter_by: str = "auto") -> CheckResult:
    """Run :func:`find_label_issues` on the audit's shared signals (:func:`find_multilabel_issues` for
    multilabel targets, :func:`datafix.checks.regression.find_target_issues` for a regression
    target; ``threshold`` applies to a regression only).

    ``filter_by="auto"`` is ``"low_score"`` and ``score="auto"`` is ``"pair_margin"`` when the
    probabilities are the CNN's (``model="cnn"``); otherwise ``"prune_by_noise_rate"`` and
    ``"probs"`` (confident learning's own choice). Measured (``docs/benchmarks.md``, issue 43): with
    the CNN on Fashion-MNIST, where prune-by-noise-rate flags a fifth more samples than are wrong,
    ranking by ``"pair_margin"`` raised F1 in every noise case, the held-out ones too, and taking
    cleanlab's total count on the lowest scores over all samples (``"low_score"``) instead of a count
    per class raised it again on symmetric and by-frequency noise (balanced and long-tailed); on the
    tables of ``benchmarks/label_issues.py`` (weaker models) confident learning's own filter stays.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from datafix.signals import Signals
    >>> X, y = load_iris(return_X_y=True)
    >>> out = label_check(Signals(y, 3, features=X, verbose=False))
    >>> list(out.columns.columns) == LABEL_COLUMNS
    True
    """
    graph = signals.vote_neighbors
    if graph is None and signals.has("neighbors"):
        graph = signals.neighbors.nearest(signals.k_neighbors)
    if signals.targets is not None:
        found, stats = find_target_issues(signals.targets, signals.predictions, neighbors=graph,
                                          knn_weight=knn_weight, threshold=threshold, rounds=rounds)
        pooled = "" if graph is None else (f" pooled with the weighted median target of the "
                                           f"{min(TARGET_NEIGHBORS, graph.k)} nearest neighbours "
                                           f"(weight {stats['knn_weight']:.1f})")
        return CheckResult(found, f"residual against the out-of-sample predictions{pooled} above {threshold:g} x "
                                  f"the spread (the larger of the residuals' robust spread {stats['spread']:.4g} and the "
                                  f"neighbours'); {rounds} rounds", advice=_target_advice(signals.targets, found))
    if signals.multilabel is not None:
        found = find_multilabel_issues(signals.multilabel, signals.pred_probs, neighbors=graph,
                                       label_names=signals.label_names, method=method, knn_weight=knn_weight,
                                       rounds=rounds, min_examples_per_class=min_examples_per_class)
        return CheckResult(found, "per label, " + _rule(graph, method, knn_weight, rounds, min_examples_per_class)
                           + "; a sample is flagged when any of its labels looks missing (+) or spurious (-)")
    margins = signals.margins
    cnn = isinstance(signals.model, str) and signals.model == "cnn"
    if score == "auto":
        score = "pair_margin" if cnn else "probs"
    if score in ("dynamics", "pooled") and margins is None:
        raise InvalidInputError(f"The label check's score={score!r} ranks by training margins, which only the CNN "
                                "cross-validation records: audit images with model='cnn', or use score='probs'.")
    if filter_by == "auto":
        filter_by = "low_score" if cnn else "prune_by_noise_rate"
    found = find_label_issues(signals.labels, signals.pred_probs, neighbors=graph, classes=signals.classes,
                              method=method, knn_weight=knn_weight, rounds=rounds,
                              min_examples_per_class=min_examples_per_class, score=score, margins=margins,
                              filter_by=filter_by)
    rule = _rule(graph, method, knn_weight, rounds, min_examples_per_class)
    if filter_by == "both":
        rule += ("; flagged only where cleanlab's prune-by-noise-rate and prune-by-class filters agree "
                 "(filter_by='both')")
    if filter_by == "low_score":
        rule += (f"; as many flagged as cleanlab's num_label_issues counts (the uncalibrated confident joint's "
                 f"off-diagonal), the lowest {SCORES[score]} over all samples (filter_by='low_score')")
    elif score != "probs":
        rule += f"; within each class's count of issues, the lowest {SCORES[score]} are flagged"
    return CheckResult(found, rule)


def _target_advice(targets: np.ndarray, found: pd.DataFrame) -> str:
    """What to do about wrong targets, and about rare target ranges when there are some."""
    from datafix.balance.density import target_density

    advice = []
    if found["is_label_issue"].any():
        advice.append("Check the flagged targets; drop them (DropLabelIssues) or set the suggested values (Relabel).")
    density = target_density(targets)
    rare = density <= RARE_TARGET_DENSITY * density.max()
    if rare.any():
        low, high = np.quantile(targets, [0.05, 0.95])
        advice.append(f"{int(rare.sum())} targets ({rare.mean():.1%}) lie in rare ranges (density under "
                      f"{RARE_TARGET_DENSITY:g} of the most common target's; 90 % of the targets are in "
                      f"[{low:.4g}, {high:.4g}]): a model fits them worst. Weight the loss with "
                      "datafix.balance.density_weights, draw with DensitySampler (Rebalance), or add rows with "
                      "Resampler('smoter').")
    return " ".join(advice)


#: A target whose smoothed density is at most this share of the most common target's is in a
#: rare range (the rule of ``Resampler("smoter")``, whose default threshold 0.8 is 1 minus it).
RARE_TARGET_DENSITY = 0.2


def _rule(graph: KNNGraph | None, method: str, knn_weight: float | str, rounds: int, min_examples_per_class: int) -> str:
    if method == "ensemble" and graph is not None:
        rule = (f"confident learning (cleanlab) on out-of-sample pred_probs pooled with the label votes of the "
                f"{graph.k} nearest neighbours (knn_weight={knn_weight}, {rounds} rounds; in a two-class problem a "
                "class under half a uniform share of the labels keeps the larger of the model's and the pooled "
                "count of issues)")
    else:
        rule = "confident learning (cleanlab) on out-of-sample pred_probs"
    return rule + f"; at least {min_examples_per_class} sample of each class stays unflagged"
