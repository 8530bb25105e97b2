"""CNN signals: K-fold out-of-sample pred_probs and embeddings for images (model="cnn")."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import datafix as dfx
from datafix.errors import InvalidInputError
from datafix.signals import cnn_cross_val
from datafix.signals.cnn import default_epochs


def two_shapes(n_per_class: int = 24, size: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Vertical vs horizontal bars on noise: pixels alone do not separate them linearly well."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 60, (2 * n_per_class, 1, size, size)).astype(np.uint8)
    y = np.repeat([0, 1], n_per_class)
    for i in range(len(y)):
        at = rng.integers(2, size - 2)
        if y[i] == 0:
            x[i, 0, :, at - 1:at + 1] = 230
        else:
            x[i, 0, at - 1:at + 1, :] = 230
    return x, y


def test_held_out_predictions_learn_the_classes_and_embeddings_come_out():
    x, y = two_shapes()
    out = cnn_cross_val(torch.from_numpy(x), y, cv=3, width=8, verbose=False)
    assert out.pred_probs.shape == (48, 2) and np.allclose(out.pred_probs.sum(1), 1)
    assert out.embeddings.shape == (48, 32) and out.cv_accuracy > 0.85
    again = cnn_cross_val(torch.from_numpy(x), y, cv=3, width=8, verbose=False)
    np.testing.assert_allclose(again.pred_probs, out.pred_probs, atol=1e-6)  # same seed, same signals


def test_audit_with_model_cnn_finds_a_mislabelled_image_and_says_how():
    x, y = two_shapes(30)
    y_noisy = y.copy()
    y_noisy[[0, 40]] = 1 - y_noisy[[0, 40]]
    report = dfx.audit(x, y_noisy, model="cnn", cv=3, verbose=False)
    flagged = set(np.flatnonzero(report.issues["is_label_issue"].to_numpy(bool)))
    assert {0, 40} <= flagged and len(flagged) <= 6
    assert "small ResNet" in report.signals["pred_probs"] and "CNN embeddings" in report.signals["features"]
    assert report.params["model"] == "cnn"


def test_an_image_folder_audits_with_cnn_signals(tmp_path):
    x, y = two_shapes(16)
    for name in ("vertical", "horizontal"):
        (tmp_path / name).mkdir()
    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        Image.fromarray(img[0]).save(tmp_path / ("vertical", "horizontal")[label] / f"{i}.png")
    report = dfx.audit(tmp_path, model="cnn", cv=2, image_size=12, verbose=False)
    assert report.audited[2].features.shape[1] == 96 and report.issues["is_label_issue"].sum() <= 4


def test_bad_input_is_named():
    with pytest.raises(InvalidInputError, match="model='cnn' needs images"):
        dfx.audit(np.zeros((20, 3)), [0, 1] * 10, model="cnn", verbose=False)
    with pytest.raises(InvalidInputError, match=r"shape \(N, C, H, W\)"):
        cnn_cross_val(np.zeros((4, 8, 8)), np.array([0, 1, 0, 1]))
    with pytest.raises(InvalidInputError, match="channels-last"):
        cnn_cross_val(np.zeros((4, 8, 8, 3)), np.array([0, 1, 0, 1]))
    x, y = two_shapes(6)
    with pytest.raises(InvalidInputError, match="computes both"):
        dfx.audit(x, y, model="cnn", features=np.zeros((12, 2)), verbose=False)


def test_epoch_budget():
    assert default_epochs(16_000) == 9 and default_epochs(48_000) == 3 and default_epochs(30) == 150
