"""CNN signals: K-fold out-of-sample pred_probs and embeddings for images (model="cnn")."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import datafix as dfx
from datafix.data import as_view
from datafix.errors import InvalidInputError
from datafix.signals import cnn_cross_val
from datafix.signals.cnn import default_epochs

pytestmark = pytest.mark.slow  # trains small CNNs: make test, not make check


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
    assert out.embeddings.shape == (48, 3 * 32) and out.held_out_embeddings.shape == (48, 32)
    assert out.cv_accuracy > 0.85 and sorted(np.bincount(out.folds)) == [16, 16, 16]
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
    assert report.audited[2].features.shape[1] == 2 * 96 and report.issues["is_label_issue"].sum() <= 4


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


class PILImages(torch.utils.data.Dataset):
    """A torch Dataset of (PIL image, label) pairs, as torchvision's datasets without a transform."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        return Image.fromarray(self.x[i, 0]), int(self.y[i])


def test_a_torch_dataset_of_images_audits_with_cnn_signals_like_the_array():
    x, y = two_shapes(30)
    y_noisy = y.copy()
    y_noisy[[0, 40]] = 1 - y_noisy[[0, 40]]
    from_array = dfx.audit(x, y_noisy, model="cnn", cv=3, verbose=False)
    tensors = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y_noisy))
    from_tensors = dfx.audit(tensors, model="cnn", cv=3, verbose=False)
    from_pil = dfx.audit(PILImages(x, y_noisy), model="cnn", cv=3, verbose=False)
    for report in (from_tensors, from_pil):  # same pixels, same seed: the same signals and flags
        np.testing.assert_allclose(report.issues["label_score"], from_array.issues["label_score"], atol=1e-6)
        assert report.params["model"] == "cnn" and "small ResNet" in report.signals["pred_probs"]
    assert {0, 40} <= set(np.flatnonzero(from_tensors.issues["is_label_issue"].to_numpy(bool)))


def test_large_dataset_images_are_shrunk_to_image_size():
    ramp = torch.linspace(0, 250, 64)
    x = (ramp[None, None, :, None] * 0.5 + ramp[None, None, None, :] * 0.5 + torch.arange(4.0)[:, None, None, None])
    ds = torch.utils.data.TensorDataset(x.expand(4, 3, 64, 64).round().to(torch.uint8), torch.tensor([0, 1, 0, 1]))
    view = as_view(ds, image_size=32, verbose=False)
    out = view.images()
    assert out.shape == (4, 3, 32, 32) and out.dtype == torch.uint8
    expected = torch.nn.functional.avg_pool2d(x.expand(4, 3, 64, 64), 2)  # a smooth ramp: any fair shrink gives it
    assert (out.float() - expected).abs().max() <= 2


def test_images_of_mixed_sizes_are_resized_and_the_rule_is_stated():
    x, y = two_shapes(6)
    items = [(torch.from_numpy(im), int(label)) for im, label in zip(x, y, strict=True)]
    items[5] = (torch.zeros(1, 64, 64, dtype=torch.uint8), 1)  # 28x the area
    view = as_view(items_dataset(items), verbose=False)
    assert view.images().shape == (len(items), 3, 32, 32)  # sizes differ: every image as a 32 x 32 RGB thumbnail
    assert view.image_rule.endswith("every image resized to 32 x 32 RGB for the signals (their sizes differ)")
    report = dfx.audit(items_dataset(items), checks=["odd_size"], verbose=False)
    assert report.issues["is_odd_size"].to_numpy(bool)[5]  # the one 64 x 64 image among 12 x 12 ones
    with pytest.raises(InvalidInputError, match=r"samples have different shapes: \(1, 12, 12\) at 0 and \(1, 16, 16\) "
                                                 r"at 5.*image folder"):
        dfx.audit([im for im, _ in items[:5]] + [np.zeros((1, 16, 16))], y, model="cnn", verbose=False)


def items_dataset(items: list) -> torch.utils.data.Dataset:
    class Items(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(items)

        def __getitem__(self, i: int):
            return items[i]

    return Items()


def test_a_folder_mixing_grayscale_and_rgb_images_audits_with_the_cnn(tmp_path):
    x, y = two_shapes(16)
    for name in ("vertical", "horizontal"):
        (tmp_path / name).mkdir()
    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        picture = Image.fromarray(img[0])
        (picture.convert("RGB") if i % 2 else picture).save(tmp_path / ("vertical", "horizontal")[label] / f"{i}.png")
    report = dfx.audit(tmp_path, model="cnn", cv=2, image_size=12, verbose=False)
    assert report.params["model"] == "cnn" and len(report.issues) == 32
    assert report.issues["is_label_issue"].sum() <= 4


def test_a_class_with_fewer_samples_than_folds_is_named_in_a_warning():
    x, y = two_shapes(20)
    y = np.where(np.arange(40) < 2, "rare", np.where(y == 0, "vertical", "horizontal"))
    with pytest.warns(UserWarning, match=r"Class 'rare' \(2 samples\) has fewer samples than the 3 folds"):
        report = dfx.audit(x, y, model="cnn", cv=3, verbose=False)
    assert len(report.issues) == 40
    with pytest.raises(InvalidInputError, match=r"Class 'b' \(1 sample\) has too few samples for 3-fold"):
        dfx.audit(x[:4], ["a", "a", "a", "b"], model="cnn", cv=3, verbose=False)


def test_without_the_pretrained_network_the_cnn_is_the_default_for_enough_images_only(monkeypatch):
    from datafix.signals import cnn, image_default

    x, y = two_shapes(12)
    monkeypatch.setattr(cnn, "MIN_STEPS", 10)
    monkeypatch.setattr(image_default, "pretrained_installed", lambda: False)
    monkeypatch.setattr(image_default, "CNN_MIN_IMAGES", 24)
    assert dfx.audit(x, y, cv=2, verbose=False).params["model"] == "cnn"
    assert dfx.audit(x[:23], y[:23], cv=2, verbose=False).params["model"] is None  # too few: logistic on pixels
    assert "small ResNet" not in dfx.audit(x[:23], y[:23], cv=2, verbose=False).signals.get("pred_probs", "")
    flat = x.reshape(24, -1).astype(float)
    assert dfx.audit(flat, y, cv=2, verbose=False).params["model"] is None  # a table: never the CNN
    assert dfx.audit(x, y, features=flat, cv=2, verbose=False).params["model"] is None  # your features win


def test_embeddings_share_one_space_across_folds_and_label_votes_stay_in_fold():
    """Each fold's network has its own embedding space: held-out embeddings alone put 99.8 % of a
    sample's neighbours in its own fold, so near-duplicates across folds were never compared."""
    from datafix.signals import knn_graph
    from datafix.signals.cnn import fold_graph

    x, y = two_shapes(40)
    out = cnn_cross_val(torch.from_numpy(x), y, cv=4, width=8, verbose=False)
    same_fold = (out.folds[knn_graph(out.embeddings, k_neighbors=10).indices] == out.folds[:, None]).mean()
    assert same_fold < 0.6  # 0.25 if folds mixed perfectly; 1.0 for islands
    votes = fold_graph(out.held_out_embeddings, out.folds, 10)
    assert (out.folds[votes.indices] == out.folds[:, None]).all()  # votes: same network, out-of-sample
    x2 = np.concatenate([x, x[:1] + 1])  # a near-copy of image 0
    report = dfx.audit(x2, np.append(y, y[0]), model="cnn", cv=4, verbose=False)
    assert report.issues.loc[[0, 80], "is_duplicate"].all()


def test_training_on_one_cpu_thread_does_not_corrupt_memory():
    """torch 2.14's oneDNN backward of a strided 1 x 1 convolution on channels-last input with one
    thread corrupts the heap (a crash a few steps in); SmallResNet's shortcut subsamples first.
    Run in a child process, since the failure kills the process."""
    import subprocess
    import sys

    code = ("import torch; torch.set_num_threads(1)\n"
            "from datafix.signals.cnn import SmallResNet\n"
            "for i in range(40):\n"
            "    torch.manual_seed(i)\n"
            "    net = SmallResNet(1, 2, 4).to(memory_format=torch.channels_last)\n"
            "    x = torch.rand(20, 1, 8, 8).contiguous(memory_format=torch.channels_last)\n"
            "    torch.nn.functional.cross_entropy(net(x), torch.randint(0, 2, (20,))).backward()\n"
            "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]



# -- training dynamics and ensembles (issue 43) ---------------------------------------------------

def test_a_sample_fitted_late_gets_a_lower_margin_and_dynamics_flag_it():
    x, y = two_shapes(30)
    wrong = np.array([0, 7, 40, 51])
    given = y.copy()
    given[wrong] = 1 - given[wrong]
    out = cnn_cross_val(torch.from_numpy(x), given, cv=3, width=8, verbose=False)
    right = np.setdiff1d(np.arange(len(y)), wrong)
    assert out.margins[wrong].max() < np.median(out.margins[right])  # the networks fit them late, if at all
    report = dfx.audit(x, given, model="cnn", cv=3, check_params={"label": {"score": "dynamics"}}, verbose=False)
    flagged = np.flatnonzero(report.issues["is_label_issue"].to_numpy(bool))
    assert set(wrong) <= set(flagged) and len(flagged) <= 8
    assert "the lowest the training margin" in report.checks["label"].rule
    score = report.issues["label_score"].to_numpy()
    for c in (0, 1):  # within each given class, the flagged samples have the lowest scores
        mine = given == c
        is_flagged = report.issues["is_label_issue"].to_numpy(bool) & mine
        if is_flagged.any():
            assert score[is_flagged].max() <= score[mine & ~is_flagged].min()


def test_an_ensemble_is_reproducible_by_seed_and_one_model_is_the_default():
    x, y = two_shapes(16)
    one = cnn_cross_val(torch.from_numpy(x), y, cv=2, width=4, epochs=3, verbose=False)
    also_one = cnn_cross_val(torch.from_numpy(x), y, cv=2, width=4, epochs=3, n_models=1, verbose=False)
    np.testing.assert_array_equal(one.pred_probs, also_one.pred_probs)
    two = cnn_cross_val(torch.from_numpy(x), y, cv=2, width=4, epochs=3, n_models=2, verbose=False)
    again = cnn_cross_val(torch.from_numpy(x), y, cv=2, width=4, epochs=3, n_models=2, verbose=False)
    np.testing.assert_array_equal(two.pred_probs, again.pred_probs)
    assert not np.allclose(two.pred_probs, one.pred_probs) and two.n_models == 2
    np.testing.assert_array_equal(two.embeddings, one.embeddings)  # the first network's, as with one model
    assert "2 small ResNets per fold, averaged" in two.describe(2)


def test_scores_by_training_margins_need_them():
    x, y = two_shapes(12)
    with pytest.raises(InvalidInputError, match="score='pooled' ranks by training margins.*model='cnn'"):
        dfx.audit(x.reshape(len(x), -1), y, check_params={"label": {"score": "pooled"}}, verbose=False)
