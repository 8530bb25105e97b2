"""load_fashion_mnist: local IDX files only; tiny files written here, the real ones when installed."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from datafix.datasets import fashion_mnist, load_fashion_mnist
from datafix.errors import InvalidInputError


def write_idx(path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def tiny(folder, n=7, compress=True, split="train"):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n)
    folder.mkdir(parents=True, exist_ok=True)
    names = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}[split]
    write_idx(folder / names[0], images, compress)
    write_idx(folder / names[1], labels, compress)
    return images, labels


@pytest.mark.parametrize("compress", [True, False])
def test_reads_idx_files_from_root(tmp_path, monkeypatch, compress):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_ROOT", tmp_path / "no-debian")
    images, labels = tiny(tmp_path, compress=compress, split="test")
    data = load_fashion_mnist("test", root=tmp_path)
    assert data.images.dtype == np.uint8 and data.images.shape == (7, 1, 28, 28)
    assert np.array_equal(data.images[:, 0], images) and np.array_equal(data.labels, labels)
    assert data.labels.dtype == np.int64 and len(data.classes) == 10 and data.names[0] == data.classes[labels[0]]


def test_reads_torchvisions_layout_and_debians_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_ROOT", tmp_path / "debian")
    tiny(tmp_path / "debian", n=3)
    assert len(load_fashion_mnist()) == 3  # no root: Debian's folder
    tiny(tmp_path / "tv" / "FashionMNIST" / "raw", n=5)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_ROOT", tmp_path / "none")
    assert len(load_fashion_mnist(root=tmp_path / "tv")) == 5


def test_missing_files_name_the_package_and_root(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_ROOT", tmp_path / "none")
    with pytest.raises(InvalidInputError, match=r"apt-get install dataset-fashion-mnist.*root=.*never downloads"):
        load_fashion_mnist(root=tmp_path)
    with pytest.raises(InvalidInputError, match="'split' parameter must be one of 'train', 'test'"):
        load_fashion_mnist("validation")


def test_corrupt_files_are_named(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_ROOT", tmp_path / "none")
    tiny(tmp_path, compress=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(InvalidInputError, match="is truncated"):
        load_fashion_mnist(root=tmp_path)


@pytest.mark.fashion_mnist
@pytest.mark.skipif(not fashion_mnist.DEBIAN_ROOT.is_dir(), reason="needs Debian's dataset-fashion-mnist (make data)")
def test_the_real_test_split():
    data = load_fashion_mnist("test")
    assert data.images.shape == (10000, 1, 28, 28)
    assert np.bincount(data.labels).tolist() == [1000] * 10
    assert data.classes[data.labels[0]] == "Ankle boot"
