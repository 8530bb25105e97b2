"""Fix the data an audit found wrong: steps, a Pipeline with safety caps, and the Plan.

The Plan lists every change with its reason, gives a torch Dataset and Sampler over the fixed
data, and can be undone step by step; the source is never modified.
"""

from datafix.fix.pipeline import Pipeline
from datafix.fix.plan import Plan, PlanDataset
from datafix.fix.steps import (
    STEPS,
    AdjustLogits,
    Augment,
    Consensus,
    DropBroken,
    DropLabelIssues,
    DropNearDuplicates,
    DropOutliers,
    PseudoLabel,
    Rebalance,
    Relabel,
    Reweight,
    Step,
    Synthesize,
)

__all__ = [
    "STEPS",
    "AdjustLogits",
    "Augment",
    "Consensus",
    "DropBroken",
    "DropLabelIssues",
    "DropNearDuplicates",
    "DropOutliers",
    "Pipeline",
    "Plan",
    "PlanDataset",
    "PseudoLabel",
    "Rebalance",
    "Relabel",
    "Reweight",
    "Step",
    "Synthesize",
]
