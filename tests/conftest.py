"""Shared fixtures: small real datasets, an input-checksum helper and the label check's F1."""

from __future__ import annotations

import hashlib
import os
import pickle
from typing import Any

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two xdist workers on two cores: one thread each, for every thread pool. Two threads each
    # oversubscribe the cores, and the pools' spin-waiting then makes small kernels 5-10x slower
    # (the CNN tests in torch's OpenMP; a logistic regression on digits in OpenBLAS: 3.3 s with
    # two threads, 0.5 s with one). The variables reach the pools loaded later (scipy's, OpenCV's
    # OpenBLAS); threadpool_limits below the imports reaches those already loaded.
    for _pool in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_pool] = "1"

import numpy as np
import pandas as pd
import pytest
import torch
from threadpoolctl import threadpool_limits

import datafix as dfx

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def checksum(obj: Any) -> str:
    """A digest of an object's full content (arrays, frames, tensors, datasets)."""
    if isinstance(obj, np.ndarray):
        payload = obj.tobytes() + str(obj.dtype).encode() + str(obj.shape).encode() + str(obj.flags.writeable).encode()
    elif isinstance(obj, torch.Tensor):
        payload = obj.detach().cpu().numpy().tobytes()
    elif isinstance(obj, pd.DataFrame):
        payload = pickle.dumps((obj.copy(deep=True), list(obj.dtypes), obj.index.tolist()))
    else:
        payload = pickle.dumps(obj)
    return hashlib.sha256(payload).hexdigest()


def label_f1(report: dfx.Report, wrong: np.ndarray) -> float:
    """F1 of a report's label issues against the labels known to be wrong."""
    found = report.issues["is_label_issue"].to_numpy(bool)
    return 2 * (found & wrong).sum() / (found.sum() + wrong.sum())


@pytest.fixture(scope="session")
def noisy_iris() -> dfx.datasets.InjectedData:
    return dfx.datasets.load_noisy("iris", noise=0.15, random_state=0)


@pytest.fixture(scope="session")
def noisy_digits() -> dfx.datasets.InjectedData:
    return dfx.datasets.load_noisy("digits", noise=0.2, random_state=0)


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """An (107, 160, 3) uint8 RGB photo (scikit-learn's china.jpg, every fourth pixel)."""
    from sklearn.datasets import load_sample_images

    return np.ascontiguousarray(load_sample_images().images[0][::4, ::4])


@pytest.fixture(scope="session")
def photos(photo: np.ndarray) -> torch.Tensor:
    """A (4, 3, 107, 160) uint8 batch: the photo, mirrored, flipped and both."""
    x = torch.from_numpy(photo).permute(2, 0, 1)
    return torch.stack([x, x.flip(-1), x.flip(-2), x.flip(-1, -2)]).contiguous()


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster for one test module (2 CPUs, a small object store), shut down after it."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=600 * 2**20,
             configure_logging=False)
    yield
    ray.shutdown()
