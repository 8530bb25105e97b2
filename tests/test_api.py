"""The public API surface: a checked-in list, so no release drops a name silently."""

import importlib

import pytest

PUBLIC = {
    "datafix": ["Report", "__version__", "audit", "augment", "balance", "checks", "fix", "synth", "data", "datasets",
                "errors", "signals"],
    "datafix.augment": ["Affine", "AlbumentationsDataset", "AugmentedBatch", "CenterCrop", "ColorJitter",
                        "ColorTransform", "Compose", "CutMix", "DeviceLoader", "GaussianBlur", "GaussianNoise",
                        "GeometricTransform", "HorizontalFlip", "MixUp", "Normalize", "OneOf", "RandomApply",
                        "RandomCrop", "RandomErasing", "RandomGamma", "RandomGrayscale", "RandomResizedCrop", "Resize",
                        "Transform", "VerticalFlip", "from_albumentations"],
    "datafix.data": ["DataView", "ImageFolderDataset", "as_test_view", "as_view", "decode_labels", "encode_labels", "from_arrays",
                     "from_frame", "from_image_folder", "from_torch_dataset"],
    "datafix.signals": ["KNNGraph", "MissingSignalError", "Signals", "HeldOutSet", "TorchProbeClassifier", "align_pred_probs",
                        "check_pred_probs",
                        "cross_val_pred_probs", "handle_non_finite", "knn_graph", "knn_query", "make_model"],
    "datafix.checks": ["CHECKS", "CheckResult", "CheckSpec", "column_quality", "duplicate_groups", "effective_number",
                       "exact_duplicate_pairs", "find_label_issues", "find_label_value_issues", "find_leakage", "knn_label_votes", "list_checks",
                       "register_check", "resolve_checks"],
    "datafix.datasets": ["NAMES", "InjectedData", "LabelledImages", "flip_labels", "load_fashion_mnist", "load_noisy",
                         "long_tail_subset", "make_noisy", "noise_matrix"],
    "datafix.report": ["CheckOutcome", "Report", "library_versions"],
    "datafix.fix": ["STEPS", "Augment", "DropBroken", "DropLabelIssues", "DropNearDuplicates", "DropOutliers", "Pipeline", "Plan",
                    "PlanDataset", "Rebalance", "Relabel", "Reweight", "Step", "Synthesize"],
    "datafix.synth": ["AugmentedOversampler", "ConditionalVAEGenerator", "GaussianCopulaGenerator", "SynthQuality",
                      "SyntheticRows", "TorchSMOTE", "evaluate"],
    "datafix.balance": ["BalancedBatchSampler", "ClassBalancedSampler", "ClassWeightSchedule", "Deferred",
                        "EpochResampler", "LazySMOTE", "LogitAdjustedLoss", "MultilabelBalancedSampler", "Progressive",
                        "ResampledDataset", "Resampler", "adjust_logits", "available_resamplers", "class_priors",
                        "class_weights", "logit_adjustment", "mlsmote", "multilabel_imbalance", "oversample",
                        "pos_weight", "tune_logit_adjustment", "tune_thresholds", "undersample"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        obj = getattr(mod, name)
        if callable(obj) and not name.startswith("_"):
            assert obj.__doc__ and "Examples" in obj.__doc__ or name in {"CheckSpec", "CheckOutcome", "MissingSignalError",
                                                                        "InjectedData", "KNNGraph", "SynthQuality",
                                                                        "CheckResult", "HeldOutSet", "LabelledImages",
                                                                        "SyntheticRows", "Plan", "PlanDataset", "AugmentedBatch",
                                                                        "Step"}, name


def test_version_is_a_string():
    import datafix

    assert isinstance(datafix.__version__, str) and datafix.__version__.count(".") == 2
