import warnings

import numpy as np
import pytest
import torch

from conftest import checksum
from datafix.balance import EpochResampler, LazySMOTE
from datafix.errors import DatafixWarning, InvalidInputError

LABELS = np.array([0] * 80 + [1] * 15 + [2] * 5)


def test_undersampling_draws_a_new_subset_every_epoch():
    sampler = EpochResampler(LABELS, kind="under", seed=1)
    seen = set()
    for epoch in range(6):
        drawn = sampler.indices(epoch)
        assert len(drawn) == len(sampler) == 15 and len(set(drawn)) == 15
        np.testing.assert_array_equal(np.bincount(LABELS[drawn]), [5, 5, 5])
        seen |= set(drawn[LABELS[drawn] == 0])
    assert len(seen) > 20  # a frozen subset would only ever show 5 of the 80
    np.testing.assert_array_equal(sampler.indices(3), EpochResampler(LABELS, kind="under", seed=1).indices(3))


def test_oversampling_keeps_every_sample_and_redraws_the_repeats():
    sampler = EpochResampler(LABELS, kind="over", seed=0)
    a, b = sampler.indices(0), sampler.indices(1)
    assert len(a) == 240 and set(a) == set(range(100))
    np.testing.assert_array_equal(np.bincount(LABELS[a]), [80, 80, 80])
    assert not np.array_equal(np.sort(a), np.sort(b))


def test_strategy_dict_and_ddp_shares():
    sampler = EpochResampler(LABELS, kind="under", sampling_strategy={0: 10})
    np.testing.assert_array_equal(np.bincount(LABELS[sampler.indices()]), [10, 15, 5])
    ranks = [EpochResampler(LABELS, kind="under", num_replicas=3, rank=r) for r in range(3)]
    assert {len(r) for r in ranks} == {5}
    assert len(set(np.concatenate([r.indices(2) for r in ranks]))) == 15


def test_lazy_smote_rows_lie_between_same_class_parents():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (80, 4)), rng.normal(5, 1, (15, 4)), rng.normal(-5, 1, (5, 4))])
    before = checksum(X)
    data = LazySMOTE(X, LABELS, k_neighbors=3, seed=2)
    assert len(data) == 240 and data.n_synthetic == 140
    labels = [data[i][1] for i in range(len(data))]
    np.testing.assert_array_equal(np.bincount(labels), [80, 80, 80])
    for i in range(100, 240, 7):
        x, label = data[i]
        base, neighbour, step = data.parents(i)
        assert LABELS[base] == LABELS[neighbour] == label and 0 <= step < 1
        np.testing.assert_allclose(x.numpy(), X[base] + step * (X[neighbour] - X[base]), rtol=1e-5)
        nearest = np.argsort(((X[LABELS == label] - X[base]) ** 2).sum(1))[1:4]
        assert neighbour in np.flatnonzero(LABELS == label)[nearest]
    first = data[150][0].clone()
    data.set_epoch(1)
    assert not torch.equal(first, data[150][0])
    data.set_epoch(0)
    assert torch.equal(first, data[150][0])  # regenerated exactly from (seed, epoch)
    assert checksum(X) == before
    loader = torch.utils.data.DataLoader(data, batch_size=64)
    assert sum(len(xb) for xb, _ in loader) == 240


def test_lazy_smote_memory_is_a_triple_per_synthetic_row():
    X = np.random.default_rng(0).normal(size=(1100, 256))
    y = np.array([0] * 1000 + [1] * 100)
    data = LazySMOTE(X, y)
    stored = data._base.nbytes + data._neighbour.nbytes + data._step.nbytes
    assert data.n_synthetic == 900 and stored == 900 * 12  # not 900 x 256 x 8 bytes


def test_lazy_smote_small_classes_and_bad_input():
    X = np.arange(24, dtype=float).reshape(12, 2)
    y = [0] * 9 + [1] * 2 + [2]
    with pytest.warns(DatafixWarning, match="fewer neighbours"):
        data = LazySMOTE(X, y, k_neighbors=5)
    copies = [i for i in range(12, len(data)) if data[i][1] == 2]
    assert len(copies) == 8 and all(np.allclose(data[i][0].numpy(), X[11]) for i in copies)
    with pytest.raises(InvalidInputError, match="NaN"):
        LazySMOTE(np.full((3, 1), np.nan), [0, 1, 1])
    with pytest.raises(InvalidInputError, match="labels for"):
        LazySMOTE(X, [0, 1])
    with pytest.raises(InvalidInputError, match="2 classes"):
        EpochResampler([1, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatafixWarning)
        sampler = EpochResampler(LABELS)
        list(sampler)
    with pytest.warns(DatafixWarning, match="set_epoch"):
        list(sampler)


def test_asking_to_draw_from_an_empty_class():
    with pytest.raises(ValueError, match="not present"):
        EpochResampler(LABELS, kind="over", sampling_strategy={7: 100})
    from datafix.balance import MultilabelBalancedSampler

    Y = np.zeros((10, 3), dtype=int)
    Y[:, 0] = 1
    Y[:3, 1] = 1
    with pytest.warns(DatafixWarning, match="never present"):
        sampler = MultilabelBalancedSampler(Y, num_samples=300)
    assert sampler.label_shares[2] == 0 and set(sampler.indices()) <= set(range(10))
