"""What to do about a measured imbalance: the levers that won in ``benchmarks/longtail.py``.

On long-tailed digits and a generated problem (ratios 50 and 100, five seeds), logit adjustment
(as a loss, or post hoc on a trained model) had the best balanced accuracy in every case,
deferred class-balanced sampling beat class-balanced sampling from the first epoch, and for
multilabel data ``pos_weight`` and label-first sampling led (which of the two depended on the
training length: 30 or 60 epochs), ahead of tuned thresholds, while MLSMOTE and deferring the
sampler did not help. The advice follows that table; ``docs/benchmarks.md`` has the numbers.
"""

from __future__ import annotations

import numpy as np

#: Below this largest / smallest class ratio, no lever is worth its cost.
BALANCED_RATIO = 3.0
#: Classes with fewer samples stay poorly recognised whatever the lever.
FEW_SHOT = 5


def rebalancing_advice(counts: np.ndarray, *, multilabel: bool = False) -> str:
    """One paragraph of advice for class (or label) counts.

    Examples
    --------
    >>> rebalancing_advice(np.array([500, 480]))
    'balanced enough (largest / smallest 1.04): no rebalancing needed'
    >>> rebalancing_advice(np.array([500, 5])).startswith("imbalance ratio 100: first try logit adjustment")
    True
    """
    counts = np.asarray(counts)
    present = counts[counts > 0]
    if len(present) < 2:
        return "fewer than two classes with samples: nothing to rebalance"
    ratio = present.max() / present.min()
    if ratio < BALANCED_RATIO:
        return f"balanced enough (largest / smallest {ratio:.3g}): no rebalancing needed"
    if multilabel:
        text = (f"label imbalance ratio {ratio:.3g}: first use BCEWithLogitsLoss(pos_weight=datafix.balance.pos_weight(Y)) "
                "or label-first sampling from the first epoch (MultilabelBalancedSampler), which led in turn in "
                "datafix's benchmark; then per-label thresholds tuned on validation data (tune_thresholds); "
                "MLSMOTE did not help")
    else:
        text = (f"imbalance ratio {ratio:.3g}: first try logit adjustment (datafix.balance.LogitAdjustedLoss when "
                "training, adjust_logits on a trained model's outputs); if you resample, defer it "
                "(ClassBalancedSampler(schedule=Deferred(...)) beat balanced sampling from epoch 0); resampling "
                "from the first epoch often does not help strong models")
    few = int((present < FEW_SHOT).sum())
    if few:
        noun = ("label" if multilabel else "class") if few == 1 else ("labels" if multilabel else "classes")
        text += (f"; {few} {noun} {'has' if few == 1 else 'have'} fewer than {FEW_SHOT} samples: no lever makes "
                 f"{'it' if few == 1 else 'them'} reliable, collect more or synthesize")
    return text
