"""Signals shared by every check: features, out-of-sample predicted probabilities, the kNN graph."""

from datafix.signals.bundle import HeldOutSet, MissingSignalError, Signals
from datafix.signals.cnn import ImageSignals, SmallResNet, cnn_cross_val
from datafix.signals.features import handle_non_finite
from datafix.signals.neighbors import KNNGraph, knn_graph, knn_query
from datafix.signals.pred_probs import (
    align_pred_probs,
    check_pred_probs,
    cross_val_pred_probs,
    make_model,
    multilabel_pred_probs,
)
from datafix.signals.pretrained import PretrainedExtractor, pretrained_extractor
from datafix.signals.probe import TorchProbeClassifier

__all__ = [
    "KNNGraph",
    "MissingSignalError",
    "PretrainedExtractor",
    "Signals",
    "HeldOutSet",
    "ImageSignals",
    "SmallResNet",
    "TorchProbeClassifier",
    "align_pred_probs",
    "check_pred_probs",
    "cnn_cross_val",
    "cross_val_pred_probs",
    "handle_non_finite",
    "knn_graph",
    "knn_query",
    "make_model",
    "multilabel_pred_probs",
    "pretrained_extractor",
]
