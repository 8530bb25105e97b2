"""Several annotators: a consensus label per sample, a quality score, and a table of the annotators.

cleanlab's CROWDLAB (``cleanlab.multiannotator.get_label_quality_multiannotator``) weighs each
annotator's labels and a model's out-of-sample probabilities into a consensus. datafix gives it
better probabilities, as the label check does: the model's ``pred_probs`` pooled with the
annotators' votes of each sample's nearest neighbours (each neighbour votes its annotators' label
distribution, the sample itself excluded), with the weight whose pooled probabilities best predict
the majority vote (Brier score, :func:`~datafix.checks.label.choose_knn_weight`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from datafix._validation import Interval, Options, check_params
from datafix.checks.label import choose_knn_weight
from datafix.checks.registry import CheckResult, register_check
from datafix.data.annotations import Annotations
from datafix.signals.bundle import Signals
from datafix.signals.graph import KNNGraph

PARAMS = {
    "knn_weight": [Options("auto"), Interval(float, 0.0, 1.0)],
    "threshold": Interval(float, 0.0, 1.0),
}

#: The annotator table's columns (one row per annotator).
ANNOTATOR_COLUMNS = ["quality", "agreement", "n_labelled", "worst_class"]


def find_consensus(
    annotations: Annotations,
    pred_probs: np.ndarray,
    *,
    neighbors: KNNGraph | None = None,
    majority: np.ndarray | None = None,
    knn_weight: float | str = "auto",
    threshold: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A consensus label per sample and a quality estimate per annotator.

    Parameters
    ----------
    annotations : Annotations
        The annotators' labels (see :func:`datafix.data.annotations.read_annotations`).
    pred_probs : numpy.ndarray of shape (n, K)
        Out-of-sample probabilities of a model trained on the majority vote (columns in the order
        of ``annotations.classes``).
    neighbors : KNNGraph, optional
        The kNN graph over the same samples; without it, CROWDLAB on ``pred_probs`` alone.
    majority : numpy.ndarray of int, shape (n,), optional
        The majority vote the model was trained on (default: ties broken by ``pred_probs``).
    knn_weight : float in [0, 1] or "auto", default "auto"
        Weight of the neighbours' votes in the pooled probabilities (``"auto"``: lowest Brier
        score against the majority vote, on a grid of 0, 0.1, ..., 1).
    threshold : float, default 0.5
        A sample is worth another look (``is_annotation_issue``) when its consensus quality
        score is below this: the evidence for the consensus is weak.

    Returns
    -------
    samples : pandas.DataFrame
        One row per sample: ``is_annotation_issue``, ``consensus_score`` (CROWDLAB's consensus
        quality in [0, 1], lower = less sure), ``consensus_label`` (code), ``majority_label``
        (code), ``annotator_agreement`` (share of the sample's annotators who gave the
        consensus), ``n_annotations``.
    annotators : pandas.DataFrame
        One row per annotator: ``quality`` (CROWDLAB's estimate of the annotator's accuracy),
        ``agreement`` (share of their labels equal to the consensus), ``n_labelled``,
        ``worst_class`` (code of the class they label worst).

    Examples
    --------
    >>> from datafix.data.annotations import Annotations
    >>> codes = np.array([[0, 0, 1], [1, 1, -1], [0, 1, 1], [0, 0, 0], [1, 1, 1], [1, 0, -1]])
    >>> P = np.array([[.9, .1], [.2, .8], [.3, .7], [.8, .2], [.1, .9], [.2, .8]])
    >>> samples, people = find_consensus(Annotations(codes, np.array([0, 1]), ["a", "b", "c"]), P)
    >>> samples["consensus_label"].tolist()
    [0, 1, 1, 0, 1, 1]
    >>> people["n_labelled"].tolist()
    [6, 6, 4]
    """
    from cleanlab.multiannotator import get_label_quality_multiannotator

    check_params({"knn_weight": knn_weight, "threshold": threshold}, PARAMS, "function 'find_consensus'")
    P = np.asarray(pred_probs, dtype=np.float64)
    counts = annotations.counts
    majority = annotations.majority_vote(tie_break=P) if majority is None else np.asarray(majority, dtype=np.int64)
    pooled = P
    if neighbors is not None and neighbors.k > 0 and knn_weight != 0:
        votes = neighbors.label_votes(counts / counts.sum(axis=1, keepdims=True))
        weight = choose_knn_weight(majority, P, votes) if knn_weight == "auto" else float(knn_weight)
        pooled = (1.0 - weight) * P + weight * votes
    with warnings.catch_warnings():  # cleanlab warns about annotators with few labels; the table shows them
        warnings.simplefilter("ignore")
        found = get_label_quality_multiannotator(annotations.wide(), pooled, verbose=False,
                                                 return_detailed_quality=False)
    quality = found["label_quality"]
    consensus = quality["consensus_label"].to_numpy(np.int64)
    score = quality["consensus_quality_score"].to_numpy(float)
    samples = pd.DataFrame({
        "is_annotation_issue": score < threshold,
        "consensus_score": score,
        "consensus_label": consensus,
        "majority_label": majority,
        "annotator_agreement": quality["annotator_agreement"].to_numpy(float),
        "n_annotations": (annotations.codes >= 0).sum(axis=1),
    })
    stats = found["annotator_stats"].reindex([str(a) for a in annotations.annotators])
    people = pd.DataFrame({
        "quality": stats["annotator_quality"].to_numpy(float),
        "agreement": stats["agreement_with_consensus"].to_numpy(float),
        "n_labelled": (annotations.codes >= 0).sum(axis=0),
        "worst_class": stats["worst_class"].to_numpy(np.int64),
    }, index=pd.Index(annotations.annotators, name="annotator"))
    return samples, people


@register_check(
    "annotators",
    requires=("annotations", "pred_probs"),
    uses=("neighbors",),
    flag="is_annotation_issue",
    score="consensus_score",
    label_columns=("consensus_label", "majority_label"),
    description="samples whose annotators' consensus is doubtful (several annotators)",
    params=PARAMS,
    neighbors=lambda options, k_neighbors: k_neighbors,  # every neighbour's annotators vote
)
def annotators_check(signals: Signals, *, knn_weight: float | str = "auto", threshold: float = 0.5) -> CheckResult:
    """Run :func:`find_consensus` on the audit's shared signals; the ``annotators`` table rates each annotator.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from datafix.data.annotations import Annotations
    >>> X, y = load_iris(return_X_y=True)
    >>> codes = np.stack([y, y, np.where(np.arange(150) % 3 == 0, (y + 1) % 3, y)], axis=1)
    >>> a = Annotations(codes, np.arange(3), ["a", "b", "c"])
    >>> out = annotators_check(Signals(a.majority_vote(), 3, features=X, annotations=a, verbose=False))
    >>> out.tables["annotators"]["agreement"].round(2).tolist()
    [1.0, 1.0, 0.67]
    """
    annotations = signals.annotations
    graph = signals.neighbors.nearest(signals.k_neighbors) if signals.has("neighbors") else None
    samples, people = find_consensus(annotations, signals.pred_probs, neighbors=graph, majority=signals.labels,
                                     knn_weight=knn_weight, threshold=threshold)
    people["worst_class"] = annotations.classes[people["worst_class"].to_numpy()]
    rule = (f"consensus by CROWDLAB (cleanlab) on the {len(annotations.annotators)} annotators' labels and "
            "out-of-sample pred_probs" + (f" pooled with the votes of the {graph.k} nearest neighbours' annotators"
                                          if graph is not None else "")
            + f" (knn_weight={knn_weight}); a sample is worth another look when its consensus score is below "
            f"{threshold}")
    changed = int((samples["consensus_label"] != samples["majority_label"]).sum())
    advice = (f"The consensus differs from the majority vote on {changed} samples; train on it with the Consensus "
              "step. " if changed else "") + (
        "Annotators with low quality are listed in the annotators table; review their labels or weigh them less.")
    return CheckResult(samples, rule, {"annotators": people}, advice)
