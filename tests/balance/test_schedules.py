import numpy as np
import pytest
import torch

from datafix.balance import (
    ClassBalancedSampler,
    ClassWeightSchedule,
    Deferred,
    Progressive,
    class_weights,
)
from datafix.errors import DatafixWarning, InvalidInputError, InvalidTypeError

LABELS = np.array([0] * 900 + [1] * 90 + [2] * 10)
NATURAL = np.array([0.9, 0.09, 0.01])


def test_deferred_sampling_is_plain_then_balanced():
    sampler = ClassBalancedSampler(LABELS, schedule=Deferred(3, num_epochs=6), num_samples=30_000)
    for epoch in range(6):
        expected = NATURAL if epoch < 3 else np.full(3, 1 / 3)
        np.testing.assert_allclose(sampler.shares(epoch), expected, rtol=1e-9)
        drawn = np.bincount(LABELS[sampler.indices(epoch)], minlength=3) / 30_000
        np.testing.assert_allclose(drawn, expected, atol=0.015)


def test_progressive_moves_the_power_with_the_epoch():
    sampler = ClassBalancedSampler(LABELS, schedule=Progressive(4))
    counts = np.array([900, 90, 10], dtype=float)
    for epoch, t in [(0, 0.0), (1, 0.25), (2, 0.5), (4, 1.0), (9, 1.0)]:
        expected = counts ** (1 - t) / (counts ** (1 - t)).sum()
        np.testing.assert_allclose(sampler.shares(epoch), expected, rtol=1e-9)
    sampler.set_epoch(2)
    np.testing.assert_allclose(sampler.class_shares, sampler.shares(2))


def test_schedules_compose_with_other_weightings_and_ddp():
    sqrt = ClassBalancedSampler(LABELS, weighting="sqrt", schedule=Deferred(1))
    np.testing.assert_allclose(sqrt.shares(0), NATURAL)
    np.testing.assert_allclose(sqrt.shares(1), np.sqrt([900, 90, 10]) / np.sqrt([900, 90, 10]).sum())
    ranks = [ClassBalancedSampler(LABELS, schedule=Deferred(1), num_replicas=2, rank=r, seed=1) for r in range(2)]
    single = ClassBalancedSampler(LABELS, schedule=Deferred(1), seed=1)
    for epoch in (0, 1):
        merged = np.empty(1000, dtype=np.int64)
        merged[0::2], merged[1::2] = ranks[0].indices(epoch), ranks[1].indices(epoch)
        np.testing.assert_array_equal(merged, single.indices(epoch))


def test_a_switch_beyond_the_last_epoch_is_an_error():
    with pytest.raises(InvalidInputError, match="start_epoch.*never start"):
        Deferred(50, num_epochs=40)
    with pytest.raises(InvalidInputError, match="end_epoch.*never reach"):
        Progressive(50, num_epochs=40)
    with pytest.raises(InvalidInputError, match="end_epoch"):
        Progressive(3, start_epoch=3)
    with pytest.raises(InvalidTypeError, match="schedule"):
        ClassBalancedSampler(LABELS, schedule="deferred")


def test_forgetting_set_epoch_warns_once_and_says_what_happens():
    sampler = ClassBalancedSampler(LABELS, schedule=Deferred(1))
    first = list(sampler)
    with pytest.warns(DatafixWarning, match="set_epoch.*repeats the last draw and the schedule does not move"):
        second = list(sampler)
    assert first == second
    sampler.set_epoch(1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DatafixWarning)
        third = list(sampler)
    assert np.bincount(LABELS[third], minlength=3)[2] > 200  # balanced now


def test_class_weight_schedule_drw():
    drw = ClassWeightSchedule(LABELS, weighting="effective", beta=0.99, schedule=Deferred(2))
    assert torch.equal(drw(0), torch.ones(3)) and torch.equal(drw(1), torch.ones(3))
    torch.testing.assert_close(drw(2), class_weights(LABELS, "effective", beta=0.99))
    half = ClassWeightSchedule(LABELS, weighting="inverse", schedule=Progressive(2))(1)
    w = np.array([900, 90, 10.0]) ** -0.5
    torch.testing.assert_close(half, torch.tensor(w / w.mean(), dtype=torch.float32))
    with pytest.raises(InvalidInputError, match="schedule"):
        ClassWeightSchedule(LABELS, schedule=None)
