"""What to do about a measured imbalance: the levers that won in ``benchmarks/longtail.py``.

On long-tailed digits and a generated problem (ratios 50 and 100, five seeds), logit adjustment
(as a loss, or post hoc on a trained model) had the best balanced accuracy in every case, and
deferred class-balanced sampling beat class-balanced sampling from the first epoch in three of
the four cases (a tie in the fourth). In the two multilabel cases (generated; pairs of digits'
images), label-first sampling from the first epoch led or tied for the lead; deferring or
ramping it did not beat it; ``pos_weight`` came second on the generated case and behind it on
the digit pairs; MLSMOTE did not beat it. Per-label thresholds tuned on a validation split raised
the F1 of the plainly trained model and lowered that of the rebalanced ones. The advice follows
that table; ``docs/benchmarks.md`` has the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: Below this largest / smallest class ratio, no lever is worth its cost.
BALANCED_RATIO = 3.0
#: Classes with fewer samples stay poorly recognised whatever the lever.
FEW_SHOT = 5

#: What augmentation to use when images are few (``benchmarks/augment_outcome.py``: Fashion-MNIST,
#: 600 training images, 800 steps, 3 seeds: no augmentation 0.777, flips and crops 0.812,
#: RandAugment on top 0.819, TrivialAugmentWide 0.809, the limited-data recipe 0.791; at 3,000
#: images and the same 800 steps every augmentation cost accuracy, while at 2,400 steps flips and
#: crops and RandAugment both added 3.5 points over none: it pays with a budget long enough for
#: the data. With 2,400 steps on 600 images AutoAugment led flips and crops by 2.6 points, 0.843
#: against 0.816, RandAugment by 1.8; with 4,800 steps by 3.4, 0.849 against 0.815; on 3,000
#: images it tied them with 2,400 steps, 0.878, and led by 0.8 with 4,800, 0.891 against 0.883).
AUGMENT_ADVICE = ("train with augmentation: datafix.augment.recipes.recipe('autoaugment', size=..., "
                  "num_classes=...) (flips, crops and AutoAugment's CIFAR-10 policy) led on 600 Fashion-MNIST images, "
                  "+3.4 points over flips and crops alone with 4,800 steps (+1.0 with 800): give it enough steps")

def rebalancing_advice(counts: np.ndarray, *, multilabel: bool = False, kind: str | None = None) -> str:
    """One paragraph of advice for class (or label) counts.

    Parameters
    ----------
    counts : numpy.ndarray
        Samples per class (or per label).
    multilabel : bool, default False
        Whether ``counts`` are a multilabel problem's label counts.
    kind : {"images", "table"} or None, default None
        What the samples are: the image augmentation recipe is advised for few-shot classes of
        images, never for a table; None (arrays: maybe images) advises it "for images".

    Returns
    -------
    str

    Examples
    --------
    >>> rebalancing_advice(np.array([500, 480]))
    'balanced enough (largest / smallest 1.04): no rebalancing needed'
    >>> rebalancing_advice(np.array([500, 5])).startswith("imbalance ratio 100: first try logit adjustment")
    True
    >>> "augment" in rebalancing_advice(np.array([500, 3]), kind="table")
    False
    """
    counts = np.asarray(counts)
    present = counts[counts > 0]
    if len(present) < 2:
        return "fewer than two classes with samples: nothing to rebalance"
    ratio = present.max() / present.min()
    if ratio < BALANCED_RATIO:
        return f"balanced enough (largest / smallest {ratio:.3g}): no rebalancing needed"
    if multilabel:
        text = (f"label imbalance ratio {ratio:.3g}: first use label-first sampling from the first epoch "
                "(MultilabelBalancedSampler), which led or tied in both multilabel cases of datafix's benchmark "
                "(deferring it did not help), or BCEWithLogitsLoss(pos_weight=datafix.balance.pos_weight(Y)); "
                "tune per-label thresholds (tune_thresholds) for a plainly trained model, or only where the "
                "validation data hold enough positives of every label: tuned on a few positives they lowered the "
                "F1 of the rebalanced models; MLSMOTE did not beat label-first sampling")
    else:
        text = (f"imbalance ratio {ratio:.3g}: first try logit adjustment (datafix.balance.LogitAdjustedLoss when "
                "training, adjust_logits on a trained model's outputs); if you resample, defer it "
                "(ClassBalancedSampler(schedule=Deferred(...)) beat or tied with balanced sampling from epoch 0); resampling "
                "from the first epoch often does not help strong models")
    few = int((present < FEW_SHOT).sum())
    if few:
        noun = ("label" if multilabel else "class") if few == 1 else ("labels" if multilabel else "classes")
        text += (f"; {few} {noun} {'has' if few == 1 else 'have'} fewer than {FEW_SHOT} samples: no lever makes "
                 f"{'it' if few == 1 else 'them'} reliable, collect more or synthesize")
        if not multilabel and kind != "table":
            text += f"; {AUGMENT_ADVICE}" if kind == "images" else f"; for images, {AUGMENT_ADVICE}"
    return text


@dataclass(frozen=True)
class AdvisedStep:
    """One step of the fix datafix recommends: a fix step's config, the check whose findings it
    acts on (the step is left out when that check did not run), and why, in the report's words."""

    config: dict[str, Any]
    check: str | None
    why: str
    imbalanced_only: bool = False


#: The fix datafix recommends, in order: ``Pipeline.recommended(report)`` builds it and the
#: report's advice says it. Chosen on ``benchmarks/outcome.py`` (noisy long-tailed Fashion-MNIST,
#: digits and Vowel, the model trained after the fix; each lever measured with ``--levers``).
RECOMMENDED_FIX = (
    AdvisedStep({"step": "drop_broken"}, None, "broken samples cannot be trained on"),
    AdvisedStep({"step": "consensus"}, "annotators", "the annotators' consensus is a better label than their majority"),
    AdvisedStep({"step": "drop_label_issues"}, "label",
                "dropping the flagged samples (at most half of each class) trained better models than relabelling "
                "or down-weighting them"),
    AdvisedStep({"step": "drop_near_duplicates"}, "duplicate", "one of each group of near-copies is enough"),
    AdvisedStep({"step": "adjust_logits"}, None,
                "imbalanced classes: the logit-adjusted loss led every other lever on long tails", imbalanced_only=True),
)


def recommended_fix(report: Any) -> list[AdvisedStep]:
    """The steps of :data:`RECOMMENDED_FIX` that apply to what ``report`` found.

    Examples
    --------
    >>> import datafix as dfx
    >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
    >>> [s.config["step"] for s in recommended_fix(dfx.audit(data.X, labels=data.y, verbose=False))]
    ['drop_broken', 'drop_label_issues', 'drop_near_duplicates']
    """
    ran = {name for name, outcome in report.checks.items() if outcome.ran}
    return [s for s in RECOMMENDED_FIX
            if (s.check is None or s.check in ran) and (not s.imbalanced_only or is_imbalanced(report))]


def is_imbalanced(report: Any) -> bool:
    """Whether the report's classes have a largest / smallest count ratio of at least :data:`BALANCED_RATIO`."""
    classes = report.tables.get("classes")
    if classes is None or "count" not in classes or report.params.get("task") == "regression":
        return False
    counts = classes["count"].to_numpy()
    counts = counts[counts > 0]
    return len(counts) > 1 and counts.max() / counts.min() >= BALANCED_RATIO


def describe_fix(steps: list[AdvisedStep]) -> str:
    """The recommended fix in one line, for the report.

    Examples
    --------
    >>> describe_fix(list(RECOMMENDED_FIX[:1]))
    'Pipeline.recommended(report): drop_broken (broken samples cannot be trained on)'
    """
    return "Pipeline.recommended(report): " + " > ".join(f"{s.config['step']} ({s.why})" for s in steps)


def fix_advice(report: Any) -> list[str]:
    """The report's line on the recommended fix: none when it would only drop broken samples and
    nothing is broken (a regression target, no label check).

    Examples
    --------
    >>> import datafix as dfx
    >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
    >>> fix_advice(dfx.audit(data.X, labels=data.y, verbose=False))[0].split(" (")[0]
    'Pipeline.recommended(report): drop_broken'
    """
    steps = recommended_fix(report)
    broken = "is_broken" in report.issues and bool(report.issues["is_broken"].any())
    if [s.config["step"] for s in steps] == ["drop_broken"] and not broken:
        return []
    return [describe_fix(steps)]
