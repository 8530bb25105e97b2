"""The public API surface: a checked-in list, so no release drops a name silently."""

import importlib

import pytest

PUBLIC = {
    "datafix": ["Report", "__version__", "audit", "augment", "balance", "checks", "fix", "synth", "data", "datasets",
                "errors", "scale", "signals"],
    "datafix.scale": ["RAY_CAPABILITIES", "RayEngine", "apply_plan", "audit_ray", "read_labels"],
    "datafix.engines": ["AuditRequest", "Capabilities", "Engine", "LocalEngine", "Prepared", "run_audit"],
    "datafix.augment": ["Adversarial", "Affine", "AlbumentationsDataset", "AugMix", "AugmentedBatch", "AutoAugment", "AutoContrast", "CenterCrop", "ColorJitter", "ColorTransform", "Compose", "CopyPaste", "CutMix", "DeviceLoader", "Equalize", "GaussianBlur", "GaussianNoise", "GeometricTransform", "HorizontalFlip", "ImageFileLoader", "InstanceBatch", "MixUp", "Mosaic", "Normalize", "OneOf", "Posterize", "RandAugment", "RandomApply", "RandomCrop", "RandomErasing", "RandomGamma", "RandomGrayscale", "RandomResizedCrop", "Resize", "Sharpness", "Solarize", "Transform", "TrivialAugmentWide", "VerticalFlip", "from_albumentations"],
    "datafix.data": ["DataView", "ImageFolderDataset", "ImageItems", "as_test_view", "as_view", "decode_labels", "encode_labels", "from_arrays",
                     "from_frame", "from_image_folder", "from_image_items", "from_torch_dataset"],
    "datafix.signals": ["KNNGraph", "MissingSignalError", "Signals", "HeldOutSet", "ImageSignals", "SmallResNet", "TorchProbeClassifier", "align_pred_probs",
                        "check_pred_probs",
                        "cross_val_pred_probs", "handle_non_finite", "cnn_cross_val", "knn_graph", "knn_query", "make_model",
                        "PretrainedExtractor", "pretrained_extractor", "multilabel_pred_probs"],
    "datafix.checks": ["CHECKS", "CheckResult", "CheckSpec", "column_quality", "duplicate_groups", "effective_number",
                       "exact_duplicate_pairs", "find_label_issues", "find_multilabel_issues", "find_label_value_issues", "find_leakage", "list_checks",
                       "register_check", "resolve_checks"],
    "datafix.datasets": ["CORRUPTIONS", "NAMES", "InjectedData", "LabelledImages", "corrupt_targets", "flip_labels", "load_fashion_mnist", "load_noisy",
                         "long_tail_subset", "make_noisy", "noise_matrix"],
    "datafix.report": ["CheckOutcome", "LazyReport", "Report", "library_versions"],
    "datafix.fix": ["STEPS", "AdjustLogits", "Augment", "Consensus", "DropBroken", "DropLabelIssues", "DropNearDuplicates", "DropOutliers", "Pipeline", "Plan",
                    "PlanDataset", "PseudoLabel", "Rebalance", "Relabel", "Reweight", "Step", "Synthesize"],
    "datafix.synth": ["AugmentedOversampler", "ConditionalVAEGenerator", "GaussianCopulaGenerator", "KeyedOversampler", "SynthQuality",
                      "SyntheticRows", "TorchSMOTE", "evaluate"],
    "datafix.balance": ["BalancedBatchSampler", "ClassBalancedSampler", "ClassWeightSchedule", "Deferred",
                        "DensitySampler", "EpochResampler", "LazySMOTE", "LogitAdjustedLoss", "MultilabelBalancedSampler", "Progressive",
                        "ResampledDataset", "Resampler", "adjust_logits", "available_resamplers", "class_priors",
                        "class_weights", "density_weights", "logit_adjustment", "mlsmote", "multilabel_imbalance",
                        "oversample", "pos_weight", "target_density", "tune_logit_adjustment", "tune_thresholds", "undersample"],
}

# Plain records and error types: documented, but no example of their own.
NO_EXAMPLE = {"CheckSpec", "CheckOutcome", "MissingSignalError", "InjectedData", "KNNGraph", "SynthQuality",
              "CheckResult", "HeldOutSet", "LabelledImages", "ImageSignals", "SyntheticRows", "Plan",
              "PlanDataset", "AugmentedBatch", "Step", "AuditRequest", "Prepared", "Engine"}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        obj = getattr(mod, name)
        if callable(obj) and not name.startswith("_"):
            assert obj.__doc__ and "Examples" in obj.__doc__ or name in NO_EXAMPLE, name


def test_version_is_a_string():
    import datafix

    assert isinstance(datafix.__version__, str) and datafix.__version__.count(".") == 2


def test_old_parameter_names_are_refused():
    """Issue 41: 0.1.0 was never released, so an old name is an error, not a warning."""
    import numpy as np

    import datafix as dfx
    from datafix.balance import class_weights
    from datafix.fix.steps import step_from_config
    from datafix.signals import knn_graph
    from datafix.synth import TorchSMOTE

    X = np.random.default_rng(0).normal(size=(60, 3))
    y = np.r_[np.zeros(40, int), np.ones(20, int)]
    with pytest.raises(TypeError, match="'k'"):
        knn_graph(X, k=3)
    with pytest.raises(TypeError, match="'method'"):
        class_weights(y, method="sqrt")
    with pytest.raises(TypeError, match="'seed'"):
        TorchSMOTE(seed=4)
    with pytest.raises(TypeError, match="check 'outlier' has no option 'k'"):
        dfx.audit(X, y, checks="outlier", check_params={"outlier": {"k": 5}}, verbose=False)
    with pytest.raises(ValueError, match=r"no parameter \['seed'\]"):
        step_from_config({"step": "synthesize", "seed": 3})
