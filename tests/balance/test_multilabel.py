import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from datafix.balance import (
    Deferred,
    MultilabelBalancedSampler,
    Progressive,
    mlsmote,
    multilabel_imbalance,
    pos_weight,
    tune_thresholds,
)
from datafix.errors import DatafixWarning, InvalidInputError


def make_Y(seed=0, n=400):
    rng = np.random.default_rng(seed)
    Y = np.zeros((n, 4), dtype=int)
    Y[:, 0] = 1
    Y[rng.random(n) < 0.3, 1] = 1
    Y[rng.random(n) < 0.05, 2] = 1
    Y[rng.random(n) < 0.02, 3] = 1
    return Y


def test_imbalance_table_follows_charte_et_al():
    Y = np.array([[1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]])
    m = multilabel_imbalance(Y, label_names=["a", "b", "c"])
    t = m.table
    np.testing.assert_allclose(t["irlbl"], [1.0, 2.0, 4.0])
    assert m.mean_ir == pytest.approx(7 / 3)
    assert m.cvir == pytest.approx(np.std([1, 2, 4], ddof=1) / (7 / 3))
    assert m.minority.tolist() == [False, False, True] and m.samples_without_label == 0
    # sample [1, 1, 1]: IRLbl 1, 2, 4 -> 1 - geometric / arithmetic mean
    sample_scumble = 1 - 2.0 / (7 / 3)
    sample_ab = 1 - np.sqrt(2) / 1.5
    assert t.loc["c", "scumble"] == pytest.approx(sample_scumble)
    assert t.loc["b", "scumble"] == pytest.approx((sample_ab + sample_scumble) / 2)


def test_pos_weight_is_negatives_over_positives():
    Y = make_Y()
    expected = (len(Y) - Y.sum(0)) / Y.sum(0)
    torch.testing.assert_close(pos_weight(Y), torch.tensor(expected, dtype=torch.float32))
    loss = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight(Y))(torch.zeros(len(Y), 4), torch.tensor(Y, dtype=torch.float32))
    assert torch.isfinite(loss)


def test_bad_multilabel_targets():
    with pytest.warns(DatafixWarning, match="never present"):
        w = pos_weight([[1, 0], [1, 0]])
    assert w.tolist() == [0.0, 1.0]
    with pytest.warns(DatafixWarning, match="1 samples of 'Y' have no label"):
        pos_weight([[1, 1], [0, 0]])
    with pytest.raises(InvalidInputError, match="0/1"):
        pos_weight([[2, 0]])
    with pytest.raises(InvalidInputError, match="matrix"):
        pos_weight([1, 0, 1])


def test_label_first_sampling_balances_labels_and_skips_unlabelled_rows():
    Y = make_Y()
    Y[:3] = 0
    with pytest.warns(DatafixWarning, match="3 samples"):
        sampler = MultilabelBalancedSampler(Y, num_samples=40_000)
    drawn = sampler.indices()
    assert not set(range(3)) & set(drawn)
    np.testing.assert_allclose(sampler.label_shares, [0.25] * 4)
    # the rarest label goes from 2 % of samples to at least its share of the draw
    assert Y[drawn, 3].mean() > 0.2 and Y[:, 3].mean() < 0.05
    # a sample's chance is the sum over its labels of share / count
    counts = Y.sum(0)
    p = (Y / counts * 0.25).sum(1)
    freq = np.bincount(drawn, minlength=len(Y)) / len(drawn)
    top = np.argsort(-p)[:20]
    np.testing.assert_allclose(freq[top], p[top], rtol=0.35)


def test_multilabel_sampler_is_deterministic_and_ddp_aware():
    Y = make_Y()
    a = MultilabelBalancedSampler(Y, seed=3)
    b = [MultilabelBalancedSampler(Y, seed=3, num_replicas=2, rank=r) for r in range(2)]
    merged = np.empty(len(a), dtype=np.int64)
    merged[0::2], merged[1::2] = b[0].indices(1), b[1].indices(1)
    np.testing.assert_array_equal(merged, a.indices(1))


def test_a_deferred_schedule_draws_plainly_until_its_switch_then_label_first():
    Y = make_Y()
    Y[:40] = 0  # unlabelled rows: a plain loader draws them, label-first sampling never does
    with pytest.warns(DatafixWarning, match="40 samples"):
        sampler = MultilabelBalancedSampler(Y, num_samples=40_000, schedule=Deferred(2), seed=1)
    before, after = sampler.indices(1), sampler.indices(2)
    assert sampler.mix(1) == 0.0 and sampler.mix(2) == 1.0
    freq = np.bincount(before, minlength=len(Y)) / len(before)
    np.testing.assert_allclose(freq, 1 / len(Y), atol=4 * np.sqrt(1 / len(Y) / len(before)))
    assert np.isin(after, np.arange(40)).sum() == 0
    assert Y[after, 3].mean() > 0.2 > 0.05 > Y[before, 3].mean()
    # the default epoch length is every sample once, labelled or not
    with pytest.warns(DatafixWarning):
        assert len(MultilabelBalancedSampler(Y, schedule=Deferred(2))) == len(Y)
        assert len(MultilabelBalancedSampler(Y)) == len(Y) - 40


def test_a_progressive_schedule_mixes_and_splits_across_ranks_like_one_process():
    Y = make_Y()
    Y[:40] = 0
    with pytest.warns(DatafixWarning):
        one = MultilabelBalancedSampler(Y, num_samples=20_000, schedule=Progressive(4), seed=5)
        ranks = [MultilabelBalancedSampler(Y, num_samples=20_000, schedule=Progressive(4), seed=5,
                                           num_replicas=2, rank=r) for r in range(2)]
    drawn = one.indices(2)
    assert one.mix(2) == 0.5
    # half the positions are plain draws: unlabelled rows get half their plain share
    assert abs(np.isin(drawn, np.arange(40)).mean() - 0.5 * 40 / len(Y)) < 0.01
    for epoch in (0, 2, 4):
        merged = np.empty(len(one), dtype=np.int64)
        merged[0::2], merged[1::2] = ranks[0].indices(epoch), ranks[1].indices(epoch)
        np.testing.assert_array_equal(merged, one.indices(epoch))
    with pytest.raises(InvalidInputError, match="'schedule' only with replacement=True"):
        MultilabelBalancedSampler(make_Y(), schedule=Deferred(2), replacement=False)


def test_mlsmote_makes_rows_for_rare_labels_between_parents():
    rng = np.random.default_rng(0)
    Y = make_Y()
    X = rng.normal(size=(len(Y), 5)) + Y[:, [3]] * 3.0
    new = mlsmote(X, Y, k_neighbors=3, random_state=0)
    imbalance = multilabel_imbalance(Y)
    assert set(new.minority_labels) == set(np.flatnonzero(imbalance.table["irlbl"] > imbalance.mean_ir))
    assert len(new.X) == Y[:, new.minority_labels].sum()
    base, other = new.parents[:, 0], new.parents[:, 1]
    # every new row lies on the segment between its parents, which share the minority label
    t = ((new.X - X[base]) * (X[other] - X[base])).sum(1) / np.maximum(((X[other] - X[base]) ** 2).sum(1), 1e-12)
    np.testing.assert_allclose(new.X, X[base] + t[:, None] * (X[other] - X[base]), atol=1e-9)
    assert ((t >= 0) & (t <= 1)).all()
    assert new.Y[:, 0].all()  # label 0 is on every sample, so ranking keeps it


def test_mlsmote_copes_with_a_label_on_one_sample():
    Y = np.zeros((20, 2), dtype=int)
    Y[:, 0] = 1
    Y[0, 1] = 1
    new = mlsmote(np.arange(40.0).reshape(20, 2), Y, random_state=0)
    np.testing.assert_array_equal(new.X, [[0.0, 1.0]])


def test_thresholds_maximise_f1_per_label():
    rng = np.random.default_rng(0)
    Y = make_Y(1, 600)
    scores = np.clip(Y * 0.3 + rng.random(Y.shape) * 0.5, 0, 1)  # positives score 0.3..0.8
    thresholds = tune_thresholds(scores, Y)
    from sklearn.metrics import f1_score

    for j in range(4):
        assert f1_score(Y[:, j], scores[:, j] >= thresholds[j]) >= f1_score(Y[:, j], scores[:, j] >= 0.5)


@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 1)), min_size=2, max_size=40))
@example([(0.0, 0), (0.0, 0), (0.0, 0), (1.0, 1), (5e-324, 1)])  # the midpoint of 0 and 5e-324 rounds to 0
@settings(max_examples=60, deadline=None)
def test_tuned_threshold_beats_every_grid_threshold_on_its_data(pairs):
    from sklearn.metrics import f1_score

    scores = np.array([[p[0]] for p in pairs])
    Y = np.array([[p[1]] for p in pairs])
    if not Y.any():
        return
    best = f1_score(Y[:, 0], scores[:, 0] >= tune_thresholds(scores, Y)[0], zero_division=0)
    for t in np.arange(0.05, 0.951, 0.05):
        assert best >= f1_score(Y[:, 0], scores[:, 0] >= t, zero_division=0) - 1e-12


def test_a_rare_label_with_low_scores_gets_a_threshold_of_its_own_scale():
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.02).astype(int)
    scores = np.where(y == 1, rng.uniform(0.01, 0.04, 2000), rng.uniform(0.0, 0.02, 2000))  # all far below 0.05
    threshold = tune_thresholds(scores[:, None], y[:, None])[0]
    assert 0.01 < threshold < 0.04
    from sklearn.metrics import f1_score

    assert f1_score(y, scores >= threshold) > 0.6
    assert f1_score(y, scores >= tune_thresholds(scores[:, None], y[:, None], grid=[0.05, 0.5])[0]) == 0.0


def test_thresholds_reject_nan_scores():
    with pytest.raises(InvalidInputError, match="scores"):
        tune_thresholds(np.array([[np.nan], [0.2]]), np.array([[1], [0]]))


@given(st.lists(st.lists(st.integers(0, 1), min_size=3, max_size=3), min_size=1, max_size=30))
@settings(max_examples=40, deadline=None)
def test_sampler_draws_only_labelled_rows(rows):
    Y = np.array(rows)
    if not Y.any():
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        drawn = MultilabelBalancedSampler(Y, num_samples=50).indices()
    assert Y[drawn].any(axis=1).all()
