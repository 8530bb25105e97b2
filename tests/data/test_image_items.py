"""A torch Dataset of images gets every check an image folder gets, at any size (issue 42, part 2):
the real torchvision's FashionMNIST (Debian's files laid out as torchvision expects, no download),
ImageFolder, Subset, dicts, (image, target, extra) tuples, normalised tensors, broken items."""

from __future__ import annotations

import gzip
import shutil
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import datasets as tvd
from torchvision import transforms as T

import datafix as dfx
from datafix.data import ImageItems
from datafix.datasets import fashion_mnist
from datafix.errors import DatafixWarning, InvalidInputError

needs_fmnist = pytest.mark.skipif(not fashion_mnist.DEBIAN_ROOT.is_dir(),
                                  reason="needs Debian's dataset-fashion-mnist (make data)")
IMAGE_CHECKS = ("dark", "overexposed", "low_information", "blurry", "odd_size", "odd_aspect_ratio", "odd_mode")


@pytest.fixture(scope="module")
def fmnist_root(tmp_path_factory):
    """Debian's Fashion-MNIST files, uncompressed into root/FashionMNIST/raw as torchvision reads them."""
    root = tmp_path_factory.mktemp("torchvision")
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        with gzip.open(fashion_mnist.DEBIAN_ROOT / f"{name}.gz") as src, open(raw / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def noisy_subset(dataset, n=400, seed=0):
    """The first ``n`` images of a torchvision FashionMNIST, 8 % of their labels moved to another class."""
    rng = np.random.default_rng(seed)
    truth = dataset.targets[:n].numpy().copy()
    wrong = rng.choice(n, n * 8 // 100, replace=False)
    given = truth.copy()
    given[wrong] = (given[wrong] + rng.integers(1, 10, len(wrong))) % 10
    return given, wrong


def audit_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        return dfx.audit(*args, random_state=0, verbose=False, **kwargs)


@needs_fmnist
@pytest.mark.slow  # 400 Fashion-MNIST images audited twice per transform (100-330 s each in make check)
@pytest.mark.parametrize("transform", ["pil", "to_tensor", "normalize"])
def test_a_torchvision_fashion_mnist_gets_every_check_and_equals_the_array_audit(fmnist_root, transform):
    made = {"pil": None, "to_tensor": T.ToTensor(),
            "normalize": T.Compose([T.ToTensor(), T.Normalize((0.2860,), (0.3530,))])}[transform]
    test_split = tvd.FashionMNIST(str(fmnist_root), train=False, download=False, transform=made)
    given, wrong = noisy_subset(test_split)
    subset = torch.utils.data.Subset(test_split, range(400))
    data = ImageItems(subset, mean=(0.2860,), std=(0.3530,)) if transform == "normalize" else subset
    report = audit_quietly(data, labels=given)
    ran = {name for name, outcome in report.checks.items() if outcome.ran}
    assert {"label", "outlier", "duplicate", *IMAGE_CHECKS} <= ran, sorted(set(report.checks) - ran)
    assert len(report.issues) == 400
    found = np.flatnonzero(report.issues["is_label_issue"].to_numpy(bool))
    assert len(np.intersect1d(found, wrong)) >= 0.5 * len(wrong)  # pixels find half of the wrong labels at least
    # the same 8-bit pixels as an (N, 1, 28, 28) array: the same signals, the same findings
    array = test_split.data[:400].numpy()[:, None]
    as_array = audit_quietly(array, labels=given)
    for column in ("is_label_issue", "is_outlier", "is_near_duplicate"):
        if column in as_array.issues:
            assert (report.issues[column].to_numpy(bool) == as_array.issues[column].to_numpy(bool)).all(), column
    # the Dataset's pixels come in [0, 1] as a folder's do, the array's in 0-255: after the model's own
    # standardisation the same fit, to the solver's tolerance
    np.testing.assert_allclose(report.issues["label_score"], as_array.issues["label_score"], atol=2e-3)
    assert "images" in report.signals["features"] or "pixels" in report.signals["features"]


@needs_fmnist
@pytest.mark.slow  # three audits of 300 Fashion-MNIST images (330 s in make check)
def test_normalised_tensors_without_their_mean_and_std_are_scaled_back_and_said(fmnist_root):
    made = T.Compose([T.ToTensor(), T.Normalize((0.2860,), (0.3530,))])
    subset = torch.utils.data.Subset(tvd.FashionMNIST(str(fmnist_root), train=False, transform=made), range(300))
    report = audit_quietly(subset)
    assert report.checks["label"].ran and report.checks["dark"].ran
    assert "normalised images: each channel scaled from its range" in report.signals["features"]
    exact = audit_quietly(ImageItems(subset, mean=(0.2860,), std=(0.3530,)))
    assert "undone with the given mean [0.286] and std [0.353]" in exact.signals["features"]
    # undone exactly: the pixels are the uint8 images, so the image checks find what they find on those
    pil = audit_quietly(torch.utils.data.Subset(tvd.FashionMNIST(str(fmnist_root), train=False), range(300)))
    for name in IMAGE_CHECKS:
        column = pil.checks[name].flag
        assert (exact.issues[column].to_numpy(bool) == pil.issues[column].to_numpy(bool)).all(), name


def folder_of(images: np.ndarray, labels: np.ndarray, root) -> None:
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (root / f"c{label}").mkdir(exist_ok=True)
        Image.fromarray(image[0]).save(root / f"c{label}" / f"{i:04d}.png")


@pytest.mark.slow  # three audits of 300 images (95 s in make check)
def test_torchvision_imagefolder_equals_the_folder_audit(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images[:300] * 255 / 16).astype(np.uint8)[:, None]
    folder_of(images, digits.target[:300], tmp_path)
    theirs = tvd.ImageFolder(str(tmp_path))
    # ImageFolder's loader gives 8 x 8 RGB images; read at that size, a folder's thumbnails are the same pixels
    as_dataset = audit_quietly(theirs, image_size=8)
    as_folder = audit_quietly(str(tmp_path), image_size=8)
    assert as_dataset.checks["label"].ran and as_dataset.checks["blurry"].ran
    by_position = as_folder.issues.reset_index(drop=True)
    for column in ("is_label_issue", "is_outlier", "is_exact_duplicate", "is_dark", "is_low_information"):
        assert (as_dataset.issues[column].to_numpy(bool) == by_position[column].to_numpy(bool)).all(), column
    np.testing.assert_allclose(as_dataset.issues["label_score"], by_position["label_score"], atol=1e-6)
    # with a transform: the items are tensors in [0, 1] of another size; still every check
    resized = tvd.ImageFolder(str(tmp_path), transform=T.Compose([T.Resize(24), T.ToTensor()]))
    report = audit_quietly(resized)
    assert report.checks["label"].ran and report.checks["outlier"].ran and report.checks["odd_size"].ran


def test_dict_items_and_extra_tuple_elements_are_found_or_named():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (60, 1, 16, 16), dtype=np.uint8)
    x[30:] = 255 - x[30:]
    y = np.repeat(["dark", "light"], 30)
    as_dicts = [{"image": torch.from_numpy(im), "label": lab} for im, lab in zip(x, y, strict=True)]
    report = audit_quietly(ImageItems(as_dicts))
    assert report.params["classes"] == ["dark", "light"] and report.checks["label"].ran
    triples = [(torch.from_numpy(im), lab, {"id": i}) for i, (im, lab) in enumerate(zip(x, y, strict=True))]
    assert audit_quietly(ImageItems(triples)).params["classes"] == ["dark", "light"]
    odd = [{"pic": torch.from_numpy(im), "cls": lab} for im, lab in zip(x, y, strict=True)]
    with pytest.raises(InvalidInputError, match=r"Cannot find the image .*keys \['cls', 'pic'\].*ImageItems\(dataset, image='<key>'\)"):
        audit_quietly(ImageItems(odd))
    named = audit_quietly(ImageItems(odd, image="pic", label="cls"))
    assert named.params["classes"] == ["dark", "light"]
    with pytest.raises(InvalidInputError, match="Give both 'mean' and 'std'"):
        ImageItems(odd, mean=(0.5,))


def test_a_dataset_of_vectors_uses_them_as_features():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    ds = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    report = audit_quietly(ds)
    as_array = audit_quietly(X, labels=y)
    assert report.checks["label"].ran and report.checks["outlier"].ran
    np.testing.assert_allclose(report.issues["label_score"], as_array.issues["label_score"], atol=1e-9)


class Flaky(torch.utils.data.Dataset):
    """Images of several sizes, some items failing to load."""

    def __init__(self, n: int = 40) -> None:
        rng = np.random.default_rng(0)
        self.images = [rng.integers(0, 256, (1, 12 + (i % 3 == 0) * 4, 12), dtype=np.uint8) for i in range(n)]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        if i in (5, 17):
            raise OSError(f"cannot read item {i}")
        return torch.from_numpy(self.images[i]), i % 2


def test_broken_items_and_mixed_sizes_are_kept_and_said():
    report = audit_quietly(Flaky())
    assert report.issues["is_broken"].sum() == 2
    assert "cannot read item 5" in report.issues.loc[5, "broken_reason"]
    assert "resized to 32 x 32 RGB for the signals" in report.signals["features"]
    assert report.checks["label"].ran and report.checks["odd_size"].ran


def test_unlabelled_one_item_and_one_pixel_datasets():
    images = torch.randint(0, 256, (30, 3, 10, 10), dtype=torch.uint8)
    unlabelled = ImageItems([{"image": im, "label": None if i % 3 == 0 else i % 2} for i, im in enumerate(images)])
    report = audit_quietly(unlabelled)
    assert report.checks["unlabelled"].ran and report.issues["is_unlabelled"].sum() == 10
    with pytest.raises(InvalidInputError, match="a single class.*at least 2 classes"):  # as an array of one
        audit_quietly(torch.utils.data.TensorDataset(images[:1], torch.tensor([0])))
    one = audit_quietly(ImageItems([images[0]]))  # one image, no label: the image checks
    assert len(one.issues) == 1 and one.checks["dark"].ran and not one.checks["label"].ran
    tiny = torch.utils.data.TensorDataset(torch.randint(0, 256, (20, 1, 1, 1), dtype=torch.uint8), torch.arange(20) % 2)
    report = audit_quietly(tiny)
    assert report.checks["dark"].ran and len(report.issues) == 20


def test_a_dataset_of_bare_images_is_audited_without_labels():
    images = torch.randint(0, 256, (40, 1, 12, 12), dtype=torch.uint8)
    images[7] = images[3]  # one exact copy
    bare = [im for im in images]
    report = audit_quietly(ImageItems(bare))
    assert not report.checks["label"].ran and "no labels were given" in report.checks["label"].reason
    assert report.checks["outlier"].ran and report.issues["is_exact_duplicate"].sum() == 2
    assert audit_quietly(ImageItems([{"image": im} for im in images])).params["n_classes"] in (None, 0)
