"""Fix steps: each reads the audit report and proposes changes to the samples still kept.

A step never changes data itself: it returns proposals (drop, relabel, reweight) with the score
and threshold that triggered them, and the :class:`~datafix.fix.Pipeline` folds them into a
:class:`~datafix.fix.Plan`, applying the safety caps. Training-time steps implement hooks the
Plan calls in pipeline order (``synthesize``, ``wrap_dataset``, ``sampler``, ``transform``,
``loss``, ``augmentation``), so a new step needs no edit to the Plan. Every step validates its parameters
when it is built (``params``: one constraint per parameter).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from datafix._validation import (
    SAMPLING_STRATEGY,
    Constraint,
    Interval,
    Options,
    check_param,
)
from datafix.balance.weights import METHODS
from datafix.errors import InvalidInputError

PROPOSAL_COLUMNS = ["position", "action", "reason", "score", "threshold", "new_label", "weight"]


def _proposals(positions, action, reason, score, threshold, new_label=None, weight=np.nan) -> pd.DataFrame:
    positions = np.asarray(positions, dtype=np.int64)
    n = len(positions)
    return pd.DataFrame({
        "position": positions,
        "action": action,
        "reason": reason,
        "score": np.broadcast_to(np.asarray(score, dtype=float), (n,)) if n else np.zeros(0),
        "threshold": threshold,
        "new_label": pd.Series([None] * n if new_label is None else list(new_label), dtype=object),
        "weight": np.broadcast_to(np.asarray(weight, dtype=float), (n,)) if n else np.zeros(0),
    })


def _column(report, name: str) -> pd.Series:
    if name not in report.issues:
        raise InvalidInputError(f"The report has no {name!r} column; run the audit check that produces it.")
    return report.issues[name]


def balanced_pseudo_labels(pseudo: Any, confidence: Any, given: Any, min_confidence: float, *,
                           balanced: bool = True) -> np.ndarray:
    """Positions of the pseudo-labels to train on: confidence at least ``min_confidence`` and, with
    ``balanced``, each class capped at its share of the ``given`` labels times the number of
    confident pseudo-labels (the most confident kept), so common classes do not swamp rare ones.

    Examples
    --------
    >>> pseudo = np.array(["a", "a", "a", "a", "b", "b"], dtype=object)
    >>> confidence = np.array([0.99, 0.98, 0.97, 0.96, 0.95, 0.5])
    >>> balanced_pseudo_labels(pseudo, confidence, ["a", "b"], 0.9).tolist()  # 5 confident: at most 3 per class
    [0, 1, 2, 4]
    """
    confidence = np.nan_to_num(np.asarray(confidence, dtype=float), nan=-1.0)
    candidates = np.flatnonzero(confidence >= min_confidence)
    if not balanced or not len(candidates):
        return candidates
    pseudo = pd.Series(np.asarray(pseudo, dtype=object)[candidates])
    share = pd.Series(np.asarray(given, dtype=object)).value_counts(normalize=True)
    cap = np.ceil(pseudo.map(share).fillna(0.0).to_numpy() * len(candidates)).astype(np.int64)
    order = np.argsort(-confidence[candidates], kind="stable")
    rank = np.empty(len(candidates), dtype=np.int64)
    rank[order] = pseudo.iloc[order].groupby(pseudo.iloc[order].to_numpy()).cumcount().to_numpy()
    return np.sort(candidates[rank < cap])


@dataclass
class Step:
    """Base class: a named, configurable proposal of changes."""

    name: ClassVar[str] = "step"
    #: The audit check whose findings the step acts on ("" for none): the pipeline refuses a
    #: report in which that check did not run, saying why.
    check: ClassVar[str] = ""
    #: Whether the step reads the label check's columns, which no longer apply once a sample
    #: has been relabelled by an earlier step (such samples are then left alone).
    reads_label_check: ClassVar[bool] = False
    #: Each parameter's constraint, checked when the step is built.
    params: ClassVar[dict[str, Constraint]] = {}

    def __post_init__(self) -> None:
        for key, constraint in self.params.items():
            setattr(self, key, check_param(getattr(self, key), key, constraint))

    def propose(self, report, alive: np.ndarray) -> pd.DataFrame:
        """Proposals for the samples where ``alive`` is True (none by default)."""
        return _proposals([], "none", "", 0.0, np.nan)

    # -- training-time hooks (the Plan calls them in pipeline order) -----------------------------

    def synthesize(self, plan: Any, dataset: Any) -> Any:
        """New samples for the plan (a ``Synthesis``), or None."""
        return None

    def wrap_dataset(self, dataset: Any, plan: Any) -> Any:
        """The training dataset after this step (default: unchanged)."""
        return dataset

    def sampler(self, plan: Any) -> Any:
        """A Sampler over ``plan.dataset``, or None."""
        return None

    def transform(self, plan: Any) -> Any:
        """A batch transform for the training loop, or None."""
        return None

    def loss(self, plan: Any) -> Any:
        """The training loss (a ``torch.nn.Module`` of logits and class codes), or None."""
        return None

    def augmentation(self) -> Any:
        """``(albumentations pipeline, on)`` this step declares, or None (read by Synthesize)."""
        return None

    def to_config(self) -> dict[str, Any]:
        """``{"step": name, **params}``: what :meth:`Pipeline.from_config` reads back."""
        params = {k: getattr(self, k) for k in inspect.signature(type(self)).parameters}
        return {"step": self.name, **params}


@dataclass
class DropBroken(Step):
    """Drop samples that could not be read or used (``is_broken``).

    Examples
    --------
    >>> DropBroken().to_config()
    {'step': 'drop_broken'}
    """

    name: ClassVar[str] = "drop_broken"

    def propose(self, report, alive):
        broken = _column(report, "is_broken").to_numpy(bool) & alive
        reasons = report.issues["broken_reason"].astype(object).to_numpy()
        pos = np.flatnonzero(broken)
        return _proposals(pos, "drop", [f"broken: {r}" for r in reasons[pos]], 0.0, np.nan)


@dataclass
class DropLabelIssues(Step):
    """Drop samples flagged as label issues (``is_label_issue``), most doubtful first.

    Parameters
    ----------
    max_score : float, optional
        Only drop flagged samples whose ``label_score`` is at most this.

    Examples
    --------
    >>> DropLabelIssues(max_score=0.2).to_config()
    {'step': 'drop_label_issues', 'max_score': 0.2}
    """

    max_score: float | None = None
    name: ClassVar[str] = "drop_label_issues"
    params: ClassVar[dict[str, Constraint]] = {"max_score": [None, Interval(float, 0.0, 1.0)]}
    check: ClassVar[str] = "label"
    reads_label_check: ClassVar[bool] = True

    def propose(self, report, alive):
        score = _column(report, "label_score").to_numpy(float)
        flagged = _column(report, "is_label_issue").fillna(False).to_numpy(bool) & alive
        if self.max_score is not None:
            flagged &= score <= self.max_score
        pos = np.flatnonzero(flagged)
        return _proposals(pos, "drop", "label issue", score[pos], np.nan if self.max_score is None else self.max_score)


@dataclass
class Relabel(Step):
    """Give flagged samples the suggested label when the suggestion is confident enough.

    Parameters
    ----------
    min_confidence : float, default 0.9
        Minimum ``suggested_confidence``.

    Examples
    --------
    >>> Relabel(min_confidence=0.95).to_config()
    {'step': 'relabel', 'min_confidence': 0.95}
    """

    min_confidence: float = 0.9
    name: ClassVar[str] = "relabel"
    params: ClassVar[dict[str, Constraint]] = {"min_confidence": Interval(float, 0.0, 1.0)}
    check: ClassVar[str] = "label"
    reads_label_check: ClassVar[bool] = True

    def propose(self, report, alive):
        if "suspect_labels" in report.issues:
            raise InvalidInputError("Relabel sets one suggested label per sample; this report is multilabel. Use "
                                    "DropLabelIssues(), or fix the label sets named in the report's suspect_labels.")
        conf = _column(report, "suggested_confidence").to_numpy(float)
        flagged = _column(report, "is_label_issue").fillna(False).to_numpy(bool) & alive
        pos = np.flatnonzero(flagged & (np.nan_to_num(conf) >= self.min_confidence))
        suggested = _column(report, "suggested_label").to_numpy(object)[pos]
        return _proposals(pos, "relabel", "confident suggested label", conf[pos], self.min_confidence, suggested)


@dataclass
class Consensus(Step):
    """Train on the annotators' consensus: samples whose consensus label differs from the majority
    vote (the audit's labels) are relabelled to it (audited with ``annotators=``).

    Parameters
    ----------
    min_score : float, default 0.0
        Only relabel where the ``consensus_score`` is at least this; below it the majority
        vote stays.

    Examples
    --------
    >>> Consensus(min_score=0.5).to_config()
    {'step': 'consensus', 'min_score': 0.5}
    """

    min_score: float = 0.0
    name: ClassVar[str] = "consensus"
    params: ClassVar[dict[str, Constraint]] = {"min_score": Interval(float, 0.0, 1.0)}
    check: ClassVar[str] = "annotators"

    def propose(self, report, alive):
        consensus = _column(report, "consensus_label").to_numpy(object)
        majority = _column(report, "majority_label").to_numpy(object)
        score = _column(report, "consensus_score").to_numpy(float)
        known = ~pd.isna(consensus)
        differs = np.zeros(len(consensus), dtype=bool)
        differs[known] = consensus[known] != majority[known]
        pos = np.flatnonzero(differs & alive & (np.nan_to_num(score) >= self.min_score))
        return _proposals(pos, "relabel", "annotators' consensus differs from their majority vote", score[pos],
                          self.min_score, consensus[pos])


@dataclass
class PseudoLabel(Step):
    """Add unlabelled samples to the training set with their confident pseudo-labels (the audit's
    ``unlabelled`` check); the others stay out of it, as every sample without a label does.

    Parameters
    ----------
    min_confidence : float, default 0.5
        Only pseudo-labels whose ``pseudo_confidence`` is at least this.
    balanced : bool, default True
        Cap each class at its share of the given labels times the number of confident
        pseudo-labels (the most confident kept), so that a common class does not swamp a rare one
        (see ``balanced_pseudo_labels``).

    Examples
    --------
    >>> PseudoLabel(min_confidence=0.8).to_config()
    {'step': 'pseudo_label', 'min_confidence': 0.8, 'balanced': True}
    """

    min_confidence: float = 0.5
    balanced: bool = True
    name: ClassVar[str] = "pseudo_label"
    params: ClassVar[dict[str, Constraint]] = {"min_confidence": Interval(float, 0.0, 1.0),
                                               "balanced": Options(True, False)}
    check: ClassVar[str] = "unlabelled"

    def propose(self, report, alive):
        unlabelled = _column(report, "is_unlabelled").fillna(False).to_numpy(bool) & alive
        confidence = np.where(unlabelled, _column(report, "pseudo_confidence").to_numpy(float), np.nan)
        pseudo = _column(report, "pseudo_label").to_numpy(object)
        counts = report.tables["classes"]["count"]
        given = np.repeat(counts.index.to_numpy(dtype=object), counts.to_numpy(np.int64))
        pos = balanced_pseudo_labels(pseudo, confidence, given, self.min_confidence, balanced=self.balanced)
        return _proposals(pos, "relabel", "confident pseudo-label", confidence[pos], self.min_confidence, pseudo[pos])


@dataclass
class DropOutliers(Step):
    """Drop samples flagged as outliers (``is_outlier``).

    Examples
    --------
    >>> DropOutliers().name
    'drop_outliers'
    """

    name: ClassVar[str] = "drop_outliers"
    check: ClassVar[str] = "outlier"

    def propose(self, report, alive):
        flagged = _column(report, "is_outlier").fillna(False).to_numpy(bool) & alive
        pos = np.flatnonzero(flagged)
        return _proposals(pos, "drop", "outlier", _column(report, "outlier_score").to_numpy(float)[pos], np.nan)


@dataclass
class DropNearDuplicates(Step):
    """Keep one sample per duplicate group (the one with the best label score), drop the rest.

    Examples
    --------
    >>> DropNearDuplicates().name
    'drop_near_duplicates'
    """

    name: ClassVar[str] = "drop_near_duplicates"
    check: ClassVar[str] = "duplicate"

    def propose(self, report, alive):
        group = _column(report, "duplicate_group").to_numpy(float)
        score = report.issues["label_score"].to_numpy(float) if "label_score" in report.issues else np.ones(len(group))
        frame = pd.DataFrame({"group": group, "score": np.nan_to_num(score, nan=-1.0), "pos": np.arange(len(group))})
        frame = frame[alive & ~np.isnan(group) & (group >= 0)]
        frame = frame.sort_values(["group", "score", "pos"], ascending=[True, False, True])
        drop = frame[frame.duplicated("group", keep="first")]
        return _proposals(drop["pos"].to_numpy(), "drop", [f"duplicate of group {int(g)}" for g in drop["group"]],
                          report.issues["duplicate_score"].to_numpy(float)[drop["pos"].to_numpy()]
                          if "duplicate_score" in report.issues else 0.0, np.nan)


@dataclass
class Reweight(Step):
    """Down-weight doubtful samples instead of dropping them: weight = max(floor, label_score).

    Parameters
    ----------
    floor : float, default 0.1
        Smallest weight.
    only_flagged : bool, default True
        Reweight only samples flagged as label issues (others keep weight 1).

    Examples
    --------
    >>> Reweight(floor=0.2).to_config()
    {'step': 'reweight', 'floor': 0.2, 'only_flagged': True}
    """

    floor: float = 0.1
    only_flagged: bool = True
    name: ClassVar[str] = "reweight"
    params: ClassVar[dict[str, Constraint]] = {"floor": Interval(float, 0.0, 1.0), "only_flagged": Options(True, False)}
    check: ClassVar[str] = "label"
    reads_label_check: ClassVar[bool] = True

    def propose(self, report, alive):
        floor = self.floor
        score = _column(report, "label_score").to_numpy(float)
        chosen = alive & ~np.isnan(score)
        if self.only_flagged:
            chosen &= report.issues["is_label_issue"].fillna(False).to_numpy(bool)
        pos = np.flatnonzero(chosen)
        return _proposals(pos, "reweight", "doubtful label", score[pos], floor, weight=np.maximum(floor, score[pos]))


@dataclass
class Rebalance(Step):
    """Rebalance classes at training time: the plan's ``sampler`` is a ClassBalancedSampler (for
    a regression target, a :class:`~datafix.balance.DensitySampler`: rare target ranges drawn as
    often as common ones).

    Parameters
    ----------
    weighting : str, default "inverse"
        As in :class:`~datafix.balance.ClassBalancedSampler`.
    deferred_epoch : int, optional
        Plain sampling before this epoch (a :class:`~datafix.balance.Deferred` schedule).

    Examples
    --------
    >>> Rebalance(weighting="sqrt").to_config()
    {'step': 'rebalance', 'weighting': 'sqrt', 'deferred_epoch': None}
    """

    weighting: str = "inverse"
    deferred_epoch: int | None = None
    name: ClassVar[str] = "rebalance"
    params: ClassVar[dict[str, Constraint]] = {"weighting": Options(*METHODS), "deferred_epoch": [None, Interval(int, 0)]}

    def sampler(self, plan):
        """A ClassBalancedSampler over the plan's training labels and weights; for a regression
        target a DensitySampler (inverse smoothed density of the kept targets)."""
        from datafix.balance import ClassBalancedSampler, Deferred, DensitySampler

        if plan.view.targets is not None:
            if self.deferred_epoch is not None or self.weighting != "inverse":
                raise InvalidInputError("For a regression target Rebalance draws by inverse target density "
                                        "(DensitySampler); weighting= and deferred_epoch= apply to classes.")
            return DensitySampler(plan.training_labels.astype(np.float64))

        schedule = Deferred(self.deferred_epoch) if self.deferred_epoch is not None else None
        weights = np.concatenate([plan.weights, np.ones(len(plan.synthetic))])
        return ClassBalancedSampler(plan.training_labels, weighting=self.weighting, schedule=schedule,
                                    sample_weights=None if np.all(weights == 1) else weights)


SYNTH_METHODS = ("auto", "smote", "copula", "vae", "augment")


@dataclass
class Synthesize(Step):
    """Add synthetic samples to the minority classes of the kept data (served by the plan).

    Parameters
    ----------
    method : {"auto", "smote", "copula", "vae", "augment"}, default "auto"
        "smote" (:class:`~datafix.synth.TorchSMOTE`) for arrays, "copula" or "vae"
        (class-conditional generators) for DataFrames, "augment" (virtual augmented copies, see
        :class:`~datafix.synth.AugmentedOversampler`) for images. "auto" picks by source.
    sampling_strategy : float, str or dict, default "auto"
        How many per class, as in imbalanced-learn's over-samplers.
    random_state : int, default 0
        Seeds the generator.

    Notes
    -----
    Every synthetic sample is listed in ``plan.synthetic`` with its label, parents, method and
    seed; ``plan.dataset``, ``plan.sampler`` and ``plan.to_frame()`` include them.

    Examples
    --------
    >>> Synthesize(method="smote").to_config()
    {'step': 'synthesize', 'method': 'smote', 'sampling_strategy': 'auto', 'random_state': 0}
    """

    method: str = "auto"
    sampling_strategy: Any = "auto"
    random_state: int = 0
    name: ClassVar[str] = "synthesize"
    params: ClassVar[dict[str, Constraint]] = {"method": Options(*SYNTH_METHODS), "sampling_strategy": SAMPLING_STRATEGY,
                                               "random_state": Interval(int, 0)}

    def synthesize(self, plan, dataset):
        """Synthetic samples for the plan's kept data (see ``datafix.fix.synthesis.synthesize``)."""
        from datafix.fix.synthesis import synthesize

        return synthesize(plan, self, dataset)

    def wrap_dataset(self, dataset, plan):
        """The kept samples' items, then the synthetic ones (virtual augmented copies of ``dataset``'s images)."""
        from datafix.fix.synthesis import with_synthetic

        return with_synthetic(dataset, plan, self)


@dataclass
class Augment(Step):
    """Attach an augmentation pipeline to the plan: ``plan.transform`` or a per-sample dataset.

    Parameters
    ----------
    pipeline : albumentations.Compose or dict
        The augmentation, kept as albumentations' own serialisation (``albumentations.to_dict``),
        so the step round-trips through JSON/YAML configs.
    on : {"batch", "sample"}, default "batch"
        "batch": ``plan.transform`` is the pipeline translated to datafix's batch pipeline (run
        it on the device, e.g. with :class:`~datafix.augment.DeviceLoader`); what cannot be
        translated is listed in ``plan.transform.untranslated``. "sample": ``plan.dataset`` runs
        the albumentations pipeline per item, seeded by (seed, epoch, index).

    Examples
    --------
    >>> import albumentations as alb
    >>> step = Augment(alb.Compose([alb.HorizontalFlip()]))
    >>> step.to_config()["pipeline"]["transform"]["transforms"][0]["__class_fullname__"]
    'HorizontalFlip'
    """

    pipeline: Any = None
    on: str = "batch"
    name: ClassVar[str] = "augment"
    params: ClassVar[dict[str, Constraint]] = {"on": Options("batch", "sample")}

    def __post_init__(self) -> None:
        import albumentations

        super().__post_init__()
        if isinstance(self.pipeline, albumentations.BaseCompose):
            self.pipeline = albumentations.to_dict(self.pipeline)
        if not isinstance(self.pipeline, dict):
            raise InvalidInputError("The 'pipeline' parameter must be an albumentations Compose or its to_dict() "
                                    f"form; got {type(self.pipeline).__name__}.")
        self.albumentations()  # fails here, not at training time, on a bad dict

    def albumentations(self) -> Any:
        """The albumentations pipeline this step holds."""
        import albumentations

        try:
            return albumentations.from_dict(self.pipeline)
        except Exception as err:  # albumentations raises several kinds for a malformed dict
            raise InvalidInputError(f"The 'pipeline' dict is not an albumentations serialisation: {err}") from err

    def augmentation(self):
        return self.albumentations(), self.on

    def wrap_dataset(self, dataset, plan):
        """With ``on="sample"``: items augmented per sample, seeded by (epoch, index)."""
        from datafix.augment import AlbumentationsDataset

        return AlbumentationsDataset(dataset, self.albumentations()) if self.on == "sample" else dataset

    def transform(self, plan):
        """With ``on="batch"``: the pipeline translated to datafix's batch pipeline."""
        from datafix.augment import from_albumentations

        return from_albumentations(self.albumentations(), seed=0) if self.on == "batch" else None


@dataclass
class AdjustLogits(Step):
    """Train with the logit-adjusted loss (Menon et al. 2021): ``plan.loss`` is a
    :class:`~datafix.balance.LogitAdjustedLoss` built from the plan's training labels, so the plain
    logits of the trained model estimate the class-balanced posterior.

    On long-tailed data this lever led every other (sampling, loss weights, deferred schedules)
    in ``benchmarks/longtail.py``; ``benchmarks/outcome.py`` measures it after the label fix.

    Parameters
    ----------
    tau : float, default 1.0
        Strength (1 is the Bayes-consistent choice for balanced accuracy; 0 is plain cross-entropy).

    Examples
    --------
    >>> import datafix as dfx
    >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
    >>> plan = dfx.fix.Pipeline([dfx.fix.DropLabelIssues(), AdjustLogits()]).fit(data.X, data.y, verbose=False)
    >>> type(plan.loss).__name__, len(plan.loss.adjustment) == len(plan.classes)
    ('LogitAdjustedLoss', True)
    """

    tau: float = 1.0
    name: ClassVar[str] = "adjust_logits"
    params: ClassVar[dict[str, Constraint]] = {"tau": Interval(float, 0.0, 10.0)}

    def loss(self, plan):
        """A LogitAdjustedLoss over the plan's training labels (kept and synthetic samples)."""
        from datafix.balance import LogitAdjustedLoss

        if plan.view.targets is not None:
            raise InvalidInputError("AdjustLogits shifts class logits; this plan is for a regression target. Leave "
                                    "AdjustLogits out, or use Rebalance (a DensitySampler).")
        return LogitAdjustedLoss(plan.training_labels, classes=plan.classes, tau=self.tau)


STEPS: dict[str, type[Step]] = {
    cls.name: cls for cls in (DropBroken, DropLabelIssues, Relabel, Consensus, PseudoLabel, DropOutliers, DropNearDuplicates, Reweight,
                              Rebalance, Synthesize, Augment, AdjustLogits)
}


def step_from_config(config: dict[str, Any]) -> Step:
    """Build a step from ``{"step": name, **params}``, naming what is wrong otherwise."""
    if not isinstance(config, dict) or "step" not in config:
        raise InvalidInputError(f"A step config must be a dict with a 'step' key; got {config!r}.")
    name = config["step"]
    if name not in STEPS:
        raise InvalidInputError(f"Unknown step {name!r}; the steps are {sorted(STEPS)}.")
    cls = STEPS[name]
    params = {k: v for k, v in config.items() if k != "step"}
    valid = list(inspect.signature(cls).parameters)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise InvalidInputError(f"Step {name!r} has no parameter {unknown}; its parameters are {valid}.")
    return cls(**params)

