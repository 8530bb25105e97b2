import os
import socket
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, WeightedRandomSampler

from conftest import checksum
from datafix.balance import BalancedBatchSampler, ClassBalancedSampler
from datafix.balance.samplers import _quotas
from datafix.data import from_arrays
from datafix.errors import DatafixWarning, InvalidInputError

LABELS = np.array([0] * 900 + [1] * 90 + [2] * 10)


def drawn_shares(sampler, labels=LABELS, epoch=0):
    return np.bincount(labels[sampler.indices(epoch)], minlength=3) / len(sampler)


def test_inverse_weighting_balances_the_classes():
    sampler = ClassBalancedSampler(LABELS, num_samples=30_000)
    np.testing.assert_allclose(sampler.class_shares, [1 / 3] * 3)
    np.testing.assert_allclose(drawn_shares(sampler), [1 / 3] * 3, atol=0.015)
    drawn = sampler.indices()
    # within the rare class every one of its 10 samples is used
    assert set(drawn[LABELS[drawn] == 2]) == set(range(990, 1000))


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"weighting": "none"}, [0.9, 0.09, 0.01]),
        ({"weighting": "sqrt"}, np.sqrt([900, 90, 10]) / np.sqrt([900, 90, 10]).sum()),
        ({"weighting": "power", "temperature": 1.0}, [0.9, 0.09, 0.01]),
    ],
)
def test_class_shares_follow_the_weighting(kwargs, expected):
    sampler = ClassBalancedSampler(LABELS, num_samples=50_000, **kwargs)
    np.testing.assert_allclose(sampler.class_shares, expected, rtol=1e-9)
    np.testing.assert_allclose(drawn_shares(sampler), expected, atol=0.01)


def test_effective_number_shares_lie_between_natural_and_balanced():
    shares = ClassBalancedSampler(LABELS, weighting="effective", beta=0.99).class_shares
    assert 1 / 3 < shares[0] < 0.9 and 0.01 < shares[2] < 1 / 3


def test_draws_are_deterministic_per_seed_and_epoch():
    a, b = ClassBalancedSampler(LABELS, seed=3), ClassBalancedSampler(LABELS, seed=3)
    np.testing.assert_array_equal(a.indices(), b.indices())
    assert not np.array_equal(a.indices(0), a.indices(1))
    a.set_epoch(1)
    np.testing.assert_array_equal(list(a), a.indices(1))
    assert not np.array_equal(ClassBalancedSampler(LABELS, seed=4).indices(), b.indices())


def test_without_replacement_fills_quotas_with_distinct_samples():
    sampler = ClassBalancedSampler(LABELS, replacement=False, num_samples=30)
    drawn = sampler.indices()
    assert len(set(drawn)) == 30
    np.testing.assert_array_equal(np.bincount(LABELS[drawn]), [10, 10, 10])
    # a class smaller than its share gives all it has, the others share the rest
    drawn = ClassBalancedSampler(LABELS, replacement=False, num_samples=150).indices()
    np.testing.assert_array_equal(np.bincount(LABELS[drawn]), [70, 70, 10])
    # each epoch undersamples the large class differently
    s = ClassBalancedSampler(LABELS, replacement=False, num_samples=30)
    assert set(s.indices(0)) != set(s.indices(1))


def test_sample_weights_shape_the_draw_inside_a_class_only():
    weights = np.ones(len(LABELS))
    weights[:450] = 3.0  # first half of class 0 three times as likely
    weights[990] = 0.0  # one rare sample never drawn
    sampler = ClassBalancedSampler(LABELS, sample_weights=weights, num_samples=60_000)
    drawn = sampler.indices()
    np.testing.assert_allclose(drawn_shares(sampler), [1 / 3] * 3, atol=0.015)
    class0 = drawn[LABELS[drawn] == 0]
    assert abs((class0 < 450).mean() - 0.75) < 0.02
    assert 990 not in set(drawn)
    without = ClassBalancedSampler(LABELS, sample_weights=weights, replacement=False, num_samples=27).indices()
    assert 990 not in set(without) and len(set(without)) == 27


def test_sample_weights_from_an_audit_report_drop_broken_and_doubtful_samples(noisy_iris):
    import datafix as dfx

    report = dfx.audit(noisy_iris.X, labels=noisy_iris.y, verbose=False)
    scores = report.issues["label_score"].to_numpy()
    sampler = ClassBalancedSampler(noisy_iris.y, sample_weights=report, num_samples=20_000)
    counts = np.bincount(sampler.indices(), minlength=len(scores)).astype(float)
    worst, best = np.argmin(scores), np.argmax(scores)
    same_class_best = np.flatnonzero(noisy_iris.y == noisy_iris.y[worst])[np.argmax(scores[noisy_iris.y == noisy_iris.y[worst]])]
    assert counts[worst] < counts[same_class_best] and counts[best] > 0


def test_broken_samples_of_a_view_are_never_drawn():
    X = np.arange(20, dtype=float).reshape(10, 2)
    view = from_arrays(X, [0] * 5 + [1] * 5).with_broken({0: "unreadable", 7: "unreadable"})
    drawn = ClassBalancedSampler(view, num_samples=2000).indices()
    assert not {0, 7} & set(drawn) and set(drawn) == set(range(10)) - {0, 7}


def test_more_samples_than_multinomial_allows():
    n = (1 << 24) + 5  # torch.multinomial refuses more than 2**24 categories
    labels = np.zeros(n, dtype=np.int8)
    labels[-3:] = 1
    with pytest.raises(RuntimeError, match="2\\^24"):
        list(WeightedRandomSampler(torch.ones(n, dtype=torch.float64), num_samples=10))
    sampler = ClassBalancedSampler(labels, num_samples=4000)
    drawn = sampler.indices()
    assert drawn.max() < n and set(drawn[labels[drawn] == 1]) == {n - 3, n - 2, n - 1}
    assert drawn[labels[drawn] == 0].max() > n // 2  # the whole range is reached


def test_works_in_a_dataloader_and_does_not_touch_the_labels():
    labels = LABELS.copy()
    before = checksum(labels)
    data = torch.utils.data.TensorDataset(torch.arange(len(labels)), torch.as_tensor(labels))
    loader = DataLoader(data, sampler=ClassBalancedSampler(labels, num_samples=300), batch_size=100)
    seen = torch.cat([y for _, y in loader])
    assert len(seen) == 300 and (seen == 2).sum() > 50
    assert checksum(labels) == before


def test_balanced_batches_hold_p_classes_of_k_samples():
    labels = np.repeat(np.arange(6), [40, 30, 20, 10, 8, 8])
    sampler = BalancedBatchSampler(labels, classes_per_batch=3, samples_per_class=4)
    batches = sampler.batches()
    assert len(batches) == len(sampler) == 116 // 12
    for batch in batches:
        cls, counts = np.unique(labels[batch], return_counts=True)
        assert len(cls) == 3 and (counts == 4).all()
        assert len(set(batch)) == 12  # no sample twice: every class has >= 4 samples
    loader = DataLoader(torch.arange(len(labels)), batch_sampler=sampler)
    assert sum(len(b) for b in loader) == len(sampler) * 12


def test_balanced_batches_use_a_class_evenly():
    labels = np.repeat(np.arange(4), [50, 5, 5, 5])
    sampler = BalancedBatchSampler(labels, classes_per_batch=2, samples_per_class=5, num_batches=200)
    used = np.bincount(sampler.batches().ravel(), minlength=len(labels))
    for c in range(4):
        members = used[labels == c]
        assert members.max() - members.min() <= 1


def test_small_classes_repeat_or_are_dropped():
    labels = np.repeat(np.arange(3), [10, 10, 2])
    with pytest.warns(DatafixWarning, match="fewer than samples_per_class"):
        sampler = BalancedBatchSampler(labels, classes_per_batch=3, samples_per_class=4)
    batch = sampler.batches()[0]
    assert sorted(set(batch[labels[batch] == 2])) == [20, 21]
    dropped = BalancedBatchSampler(labels, classes_per_batch=2, samples_per_class=4, small_classes="drop")
    assert 2 not in set(labels[dropped.batches().ravel()])
    with pytest.raises(InvalidInputError, match="only 2 classes have at least samples_per_class=4"):
        BalancedBatchSampler(labels, classes_per_batch=3, samples_per_class=4, small_classes="drop")
    with pytest.raises(InvalidInputError, match="largest class: 10"):
        BalancedBatchSampler(labels, classes_per_batch=1, samples_per_class=11, small_classes="drop")


def test_samples_per_class_above_every_class_repeats_with_a_warning():
    with pytest.warns(DatafixWarning):
        sampler = BalancedBatchSampler([0, 0, 1, 1], classes_per_batch=2, samples_per_class=5)
    batch = sampler.batches()[0]
    assert len(batch) == 10 and set(batch) == {0, 1, 2, 3}


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_samples": 0}, InvalidInputError, "num_samples"),
        ({"num_replicas": 2, "rank": 2}, InvalidInputError, "rank"),
        ({"num_replicas": 0, "rank": 0}, InvalidInputError, "num_replicas"),
        ({"sample_weights": -np.ones(1000)}, InvalidInputError, "negative"),
        ({"sample_weights": np.full(1000, np.nan)}, InvalidInputError, "NaN"),
        ({"sample_weights": np.zeros(1000)}, InvalidInputError, "all zeros"),
        ({"sample_weights": np.ones(3)}, InvalidInputError, "shape"),
        ({"replacement": False, "num_samples": 1001}, InvalidInputError, "without replacement"),
        ({"weighting": "balanced"}, InvalidInputError, "weighting"),
        ({"seed": -1}, InvalidInputError, "seed"),
    ],
)
def test_bad_sampler_arguments_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        ClassBalancedSampler(LABELS, **kwargs)


def test_label_kinds():
    strings = np.where(LABELS == 0, "common", np.where(LABELS == 1, "mid", "rare"))
    drawn = ClassBalancedSampler(strings, num_samples=3000).indices()
    assert abs((strings[drawn] == "rare").mean() - 1 / 3) < 0.05
    ClassBalancedSampler(LABELS.astype(float))  # integral floats are class ids
    with pytest.raises(InvalidInputError, match="non-integer floats"):
        ClassBalancedSampler([0.5, 1.0, 1.0])
    with pytest.raises(InvalidInputError, match="empty"):
        ClassBalancedSampler([])


def test_a_listed_class_without_samples_is_never_drawn():
    with pytest.warns(DatafixWarning, match="no samples"):
        sampler = ClassBalancedSampler(LABELS, classes=[0, 1, 2, 3], num_samples=3000)
    np.testing.assert_allclose(sampler.class_shares, [1 / 3, 1 / 3, 1 / 3, 0])
    assert set(LABELS[sampler.indices()]) == {0, 1, 2}


def test_shares_of_ranks_are_disjoint_and_make_up_the_single_process_draw():
    single = ClassBalancedSampler(LABELS, num_samples=999, seed=5)
    ranks = [ClassBalancedSampler(LABELS, num_samples=999, seed=5, num_replicas=4, rank=r) for r in range(4)]
    assert {len(r) for r in ranks} == {250}
    merged = np.empty(1000, dtype=np.int64)
    for r, sampler in enumerate(ranks):
        merged[r::4] = sampler.indices()
    np.testing.assert_array_equal(merged[:999], ClassBalancedSampler(LABELS, num_samples=1000, seed=5).indices()[:999])
    assert len(single) == 999
    dropped = ClassBalancedSampler(LABELS, num_samples=999, num_replicas=4, rank=0, drop_last=True)
    assert len(dropped) == 249


@given(
    sizes=st.lists(st.integers(0, 30), min_size=1, max_size=6).filter(lambda s: sum(s) > 0),
    num_samples=st.integers(1, 200),
    replacement=st.booleans(),
    seed=st.integers(0, 10),
)
@settings(max_examples=60, deadline=None)
def test_sampler_invariants(sizes, num_samples, replacement, seed):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    if not replacement:
        num_samples = min(num_samples, len(labels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        sampler = ClassBalancedSampler(labels, classes=list(range(len(sizes))), num_samples=num_samples,
                                       replacement=replacement, seed=seed)
    drawn = sampler.indices()
    assert len(drawn) == len(sampler) == num_samples
    assert ((0 <= drawn) & (drawn < len(labels))).all()
    if not replacement:
        assert len(set(drawn)) == num_samples


@given(
    total=st.integers(0, 500),
    share=st.lists(st.floats(0, 1), min_size=1, max_size=8),
    available=st.lists(st.integers(0, 100), min_size=8, max_size=8),
)
def test_quotas_sum_to_the_total_and_respect_class_sizes(total, share, available):
    share = np.array(share)
    available = np.array(available[: len(share)])
    if share.sum() == 0 or (available[share > 0] == 0).all():
        share = np.where(available > 0, 1.0, 0.0)
    total = min(total, int(available.sum()))
    if share.sum() == 0:
        return
    quota = _quotas(total, share, available)
    assert quota.sum() == total and (quota <= available).all() and (quota >= 0).all()


def _ddp_worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        sampler = ClassBalancedSampler(LABELS, num_samples=501, seed=7)  # replicas from the process group
        sampler.set_epoch(3)
        batches = BalancedBatchSampler(LABELS, classes_per_batch=3, samples_per_class=2, num_batches=9, seed=7)
        mine = torch.as_tensor(sampler.indices())
        gathered = [torch.empty_like(mine) for _ in range(world)]
        dist.all_gather(gathered, mine)
        if rank == 0:
            np.save(os.path.join(out_dir, "gathered.npy"), torch.stack(gathered).numpy())
        np.save(os.path.join(out_dir, f"batches{rank}.npy"), batches.batches())
        np.save(os.path.join(out_dir, f"meta{rank}.npy"), np.array([len(sampler), sampler.num_replicas, sampler.rank]))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # two processes of a gloo group: 16 s
def test_two_process_gloo_group_splits_the_epoch(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    gathered = np.load(tmp_path / "gathered.npy")
    for r in range(2):
        np.testing.assert_array_equal(np.load(tmp_path / f"meta{r}.npy"), [251, 2, r])
    expected = ClassBalancedSampler(LABELS, num_samples=502, seed=7).indices(3)
    np.testing.assert_array_equal(gathered[0], expected[0::2])
    np.testing.assert_array_equal(gathered[1], expected[1::2])
    b0, b1 = np.load(tmp_path / "batches0.npy"), np.load(tmp_path / "batches1.npy")
    assert b0.shape == b1.shape == (5, 6)
    all_batches = BalancedBatchSampler(LABELS, classes_per_batch=3, samples_per_class=2, num_batches=10, seed=7).batches()
    np.testing.assert_array_equal(b0, all_batches[0::2])
    np.testing.assert_array_equal(b1, all_batches[1::2])
