import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.over_sampling import SMOTE

from conftest import checksum
from datafix.errors import DatafixWarning, InvalidInputError
from datafix.synth import TorchSMOTE


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (300, 4)), rng.normal(4, 1, (40, 4)), rng.normal(-4, 1, (12, 4))])
    y = np.array(["common"] * 300 + ["mid"] * 40 + ["rare"] * 12)
    return X, y


def test_counts_match_imblearn_and_rows_lie_between_same_class_neighbours(data):
    X, y = data
    before = checksum(X)
    X_res, y_res = TorchSMOTE(random_state=0).fit_resample(X, y)
    _, y_imb = SMOTE(random_state=0).fit_resample(X, y)
    assert pd.Series(y_res).value_counts().to_dict() == pd.Series(y_imb).value_counts().to_dict()
    new = TorchSMOTE(random_state=0).sample(X, y)
    prov = new.provenance
    assert prov["is_synthetic"].all() and (prov["method"] == "smote").all() and (prov["seed"] == 0).all()
    np.testing.assert_array_equal(y[prov["parent"]], new.y)
    np.testing.assert_array_equal(y[prov["neighbour"]], new.y)
    step = prov["step"].to_numpy()[:, None]
    np.testing.assert_allclose(new.X, X[prov["parent"]] + step * (X[prov["neighbour"]] - X[prov["parent"]]), atol=1e-9)
    for p, nb in zip(prov["parent"][:50], prov["neighbour"][:50], strict=True):  # neighbour is among the 5 nearest
        same = np.flatnonzero(y == y[p])
        d = np.linalg.norm(X[same] - X[p], axis=1)
        assert nb in same[np.argsort(d)[1:6]]
    assert checksum(X) == before


def test_seeded_and_tensor_in_tensor_out(data):
    X, y = data
    a, b = TorchSMOTE(random_state=3).sample(X, y), TorchSMOTE(random_state=3).sample(X, y)
    np.testing.assert_array_equal(a.X, b.X)
    t = TorchSMOTE(random_state=3, device="cpu").sample(torch.tensor(X, dtype=torch.float32), y)
    assert isinstance(t.X, torch.Tensor) and t.X.dtype == torch.float32 and t.X.shape == a.X.shape


def test_approximate_neighbours_for_large_classes(data):
    X, y = data
    new = TorchSMOTE(knn_backend="ivf", random_state=0).sample(X, y)
    assert len(new.X) == 2 * 300 - 40 - 12


def test_a_class_with_one_row_is_copied_with_a_warning():
    X = np.vstack([np.random.default_rng(0).normal(size=(20, 2)), [[9.0, 9.0]], [[5.0, 5.0], [5.5, 5.0]]])
    y = [0] * 20 + [1] + [2, 2]
    with pytest.warns(DatafixWarning, match=r"\{1: 0, 2: 1\}"):
        new = TorchSMOTE(random_state=0).sample(X, y)
    np.testing.assert_array_equal(new.X[new.y == 1], np.full((19, 2), 9.0))
    assert ((new.X[new.y == 2][:, 0] >= 5.0) & (new.X[new.y == 2][:, 0] <= 5.5)).all()


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.full((3, 2), np.nan), [0, 1, 1], "NaN"),
        (np.zeros((3, 2)), [0, 1], "labels for"),
        (np.zeros(3), [0, 1, 1], "2-D"),
        (np.zeros((3, 2)), [0, 0, 0], "2 classes"),
    ],
)
def test_bad_input(X, y, match):
    with pytest.raises(InvalidInputError, match=match):
        TorchSMOTE().sample(X, y)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_matches_the_cpu_semantics(data):
    X, y = data
    gpu = TorchSMOTE(random_state=0, device="cuda").sample(torch.tensor(X, device="cuda"), y)
    cpu = TorchSMOTE(random_state=0, device="cpu").sample(X, y)
    assert gpu.X.device.type == "cuda" and gpu.X.shape == cpu.X.shape
    prov = gpu.provenance
    step = prov["step"].to_numpy()[:, None]
    expected = X[prov["parent"]] + step * (X[prov["neighbour"]] - X[prov["parent"]])
    np.testing.assert_allclose(gpu.X.cpu().numpy(), expected, atol=1e-6)
