"""RandAugment and TrivialAugmentWide: per-sample draws that follow torchvision's tables, and the ops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datafix import augment as A
from datafix.augment._random import RandomSource
from datafix.augment.base import Draw
from datafix.augment.policies import (
    OPS,
    SIGNED,
    apply_op,
    magnitudes,
    policy_ops,
)
from datafix.errors import InvalidInputError


def space(column, bins, size, names=None):
    """A policy's magnitudes per op name, from the one table."""
    names = policy_ops(column) if names is None else names
    return dict(zip(names, magnitudes(column, names, bins, size), strict=True))


def draw_params(policy, batch=30000, size=(32, 32), seed=0):
    draw = Draw(RandomSource(seed), batch, torch.device("cpu"), {id(policy): 1})
    return policy.params(draw, (batch, 3, *size), None)


@pytest.mark.parametrize("policy, space", [
    (A.RandAugment(num_ops=2, magnitude=9), lambda: space("rand", 31, (32, 32))),
    (A.TrivialAugmentWide(), lambda: space("wide", 31, (32, 32))),
])
def test_ops_magnitudes_and_signs_follow_torchvision(policy, space):
    params = draw_params(policy)
    ops, magnitudes = params["ops"].flatten(), params["magnitudes"].flatten()
    counts = np.bincount(ops.numpy(), minlength=len(OPS)) / len(ops)
    assert np.abs(counts - 1 / len(OPS)).max() < 0.01  # every op equally likely
    table = space()
    for code, name in enumerate(OPS):
        m = magnitudes[ops == code]
        allowed = torch.unique(table[name].abs())
        assert torch.isin(m.abs(), allowed).all()  # magnitudes come from the op's bins
        if name in SIGNED and table[name].abs().max() > 0:
            assert 0.45 < (m < 0).float().mean() < 0.55  # a random sign
        else:
            assert (m >= 0).all()
    if isinstance(policy, A.RandAugment):  # one bin for every op
        for name in ("Rotate", "ShearX", "Brightness"):
            code = OPS.index(name)
            assert torch.allclose(magnitudes[ops == code].abs(), table[name][9])
    else:  # bins drawn uniformly: every rotation bin shows up about equally
        rot = magnitudes[ops == OPS.index("Rotate")].abs()
        _, freq = torch.unique(rot, return_counts=True)
        assert len(freq) == 31 and freq.min() > 0.6 * freq.float().mean()


def test_translate_moves_content_by_whole_pixels_with_zero_fill():
    x = torch.rand(2, 3, 8, 10)
    out = apply_op(x, "TranslateX", torch.tensor([3.0, -2.0]))
    assert torch.equal(out[0, ..., 3:], x[0, ..., :-3]) and (out[0, ..., :3] == 0).all()
    assert torch.equal(out[1, ..., :-2], x[1, ..., 2:]) and (out[1, ..., -2:] == 0).all()
    down = apply_op(x, "TranslateY", torch.tensor([2.0, 2.0]))
    assert torch.equal(down[..., 2:, :], x[..., :-2, :])


def test_rotate_by_90_is_a_counter_clockwise_quarter_turn():
    x = torch.rand(1, 3, 9, 9)
    out = apply_op(x, "Rotate", torch.tensor([90.0]))
    assert torch.equal(out, torch.rot90(x, 1, dims=(-2, -1)))


def test_shear_x_keeps_the_top_row_and_shifts_lower_rows():
    x = torch.rand(1, 1, 6, 12)
    out = apply_op(x, "ShearX", torch.tensor([0.5]))  # source x = x + 0.5 * (y + 0.5), nearest
    assert torch.equal(out[0, 0, 0], x[0, 0, 0])
    assert torch.equal(out[0, 0, 1, :-1], x[0, 0, 1, 1:])
    assert torch.equal(out[0, 0, 3, :-2], x[0, 0, 3, 2:])


def test_colour_ops_at_zero_magnitude_change_nothing():
    x = torch.rand(3, 3, 8, 8)
    for name in ("Brightness", "Color", "Contrast", "Sharpness", "Identity"):
        assert torch.allclose(apply_op(x, name, torch.zeros(3)), x, atol=1e-6), name
    assert torch.equal(apply_op(x, "Posterize", torch.full((3,), 8.0)), (x * 255).round() / 255)


def test_policies_are_keyed_per_sample_and_p_zero_is_identity():
    x = torch.randint(0, 256, (16, 3, 12, 12), dtype=torch.uint8)
    ids = torch.arange(16)
    a = A.Compose([A.RandAugment()], seed=5)(x, sample_ids=ids)
    b = A.Compose([A.RandAugment()], seed=5)(x, sample_ids=ids)
    assert torch.equal(a, b)
    half = A.Compose([A.RandAugment()], seed=5)(x[8:], sample_ids=ids[8:])
    assert torch.equal(half, a[8:])  # a sample's draw depends on its id, not on the batch
    plain = A.Compose([A.TrivialAugmentWide(p=0.0)], seed=0)(x)
    assert torch.allclose(plain, x.float() / 255, atol=1e-6)


@pytest.mark.parametrize("make, match", [
    (lambda: A.RandAugment(magnitude=31), "below num_magnitude_bins"),
    (lambda: A.RandAugment(num_ops=0), "num_ops"),
    (lambda: A.TrivialAugmentWide(num_magnitude_bins=1), "num_magnitude_bins"),
])
def test_bad_options_are_refused(make, match):
    with pytest.raises(InvalidInputError, match=match):
        make()


#: Ops torchvision runs only on uint8 images (compared there, within one grey level).
UINT8_ONLY = ("Posterize", "Solarize", "AutoContrast", "Equalize")


def test_each_op_matches_torchvision():
    """Where torchvision loads: every op of the table (and AutoAugment's Invert) on the same image at
    several magnitudes and both signs. On float images (the math datafix runs) within 1e-4 (the
    gray of Color weighs red 0.299, torchvision 0.2989); the uint8-only tone ops on uint8 images
    within one grey level on 99 % of the pixels. (torchvision's uint8 Color truncates its gray and
    its blend, up to 2 levels from the exact result: why the float path is the reference.)"""
    import torchvision.transforms.autoaugment as tv
    from torchvision.transforms import InterpolationMode

    from datafix.augment.policies import AUTOAUGMENT_OPS

    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (1, 3, 20, 24), dtype=torch.uint8, generator=g)
    table = space("rand", 31, (20, 24), AUTOAUGMENT_OPS)
    for name in AUTOAUGMENT_OPS:
        for m in (table[name][-1].item(), table[name][len(table[name]) // 2].item()):
            for sign in ((1.0, -1.0) if name in SIGNED else (1.0,)):
                ours = apply_op(x.float() / 255, name, torch.tensor([sign * m]))[0]
                if name in UINT8_ONLY:
                    theirs = tv._apply_op(x[0], name, sign * m, interpolation=InterpolationMode.NEAREST, fill=None)
                    close = (((ours * 255).round().int() - theirs.int()).abs() <= 1).float().mean().item()
                    assert close >= 0.99, (name, sign * m, close)
                else:
                    theirs = tv._apply_op(x[0].float() / 255, name, sign * m, interpolation=InterpolationMode.NEAREST,
                                          fill=None)
                    assert (ours - theirs).abs().max().item() < 1e-4, (name, sign * m)


def test_augmix_draws_chains_weights_and_mixing_like_torchvision():
    from datafix.augment.policies import AUGMIX_OPS

    policy = A.AugMix(severity=3, width=3, depth=-1, alpha=1.0)
    params = draw_params(policy, batch=20000)
    ops, magnitudes = params["ops"], params["magnitudes"]  # (B, width, 3)
    depth = (ops > 0).sum(2).flatten()
    assert set(depth.unique().tolist()) == {1, 2, 3}
    shares = torch.bincount(depth)[1:] / len(depth)
    assert (shares - 1 / 3).abs().max() < 0.02  # 1 to 3 ops per chain, uniform
    active = ops[ops > 0]
    freq = torch.bincount(active, minlength=len(AUGMIX_OPS))[1:] / len(active)
    assert (freq - 1 / 13).abs().max() < 0.01  # the 13 ops equally likely, Identity never drawn
    table = space("augmix", 10, (32, 32))
    for code, name in enumerate(AUGMIX_OPS[1:], start=1):
        allowed = table[name][:3].abs()
        assert torch.isin(magnitudes[ops == code].abs(), allowed).all(), name  # bins below severity 3
    weights, m = params["weights"], params["m"]
    assert torch.allclose(weights.sum(1), torch.ones(len(weights))) and (weights > 0).all()
    assert abs(m.mean().item() - 0.5) < 0.01 and ((m > 0) & (m < 1)).all()  # Beta(1, 1)
    assert abs(weights[:, 0].mean().item() - 1 / 3) < 0.01  # Dirichlet(1, 1, 1)


def test_augmix_output_is_the_convex_mix_of_its_chains():
    policy = A.AugMix(width=2, depth=2)
    x = torch.rand(6, 3, 12, 12)
    draw = Draw(RandomSource(4), 6, torch.device("cpu"), {id(policy): 1})
    params = policy.params(draw, tuple(x.shape), None)
    out = policy.apply(x, params)
    m = params["m"].view(-1, 1, 1, 1)
    chains = [policy._chain(x, params["ops"][:, i], params["magnitudes"][:, i]) for i in range(2)]
    expected = m * x + (1 - m) * sum(params["weights"][:, i].view(-1, 1, 1, 1) * chains[i] for i in range(2))
    assert torch.allclose(out, expected.clamp(0, 1), atol=1e-6)
    assert (params["ops"] > 0).sum(2).eq(2).all()  # depth=2: two ops in every chain
    none = A.Compose([A.AugMix(p=0.0)], seed=0)(x)
    assert torch.allclose(none, x, atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"severity": 11}, "severity"), ({"severity": 0}, "severity"), ({"width": 0}, "width"),
    ({"depth": 0}, "depth"), ({"alpha": 0.0}, "alpha"),
])
def test_augmix_bad_options_are_refused(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        A.AugMix(**kwargs)


@pytest.mark.parametrize("name", ["imagenet", "cifar10", "svhn"])
def test_autoaugment_draws_sub_policies_steps_and_signs_like_torchvision(name):
    from datafix.augment.policies import AUTOAUGMENT_OPS, AUTOAUGMENT_POLICIES

    policy = A.AutoAugment(name)
    params = draw_params(policy, batch=50000)
    choice, ops, magnitudes = params["choice"], params["ops"], params["magnitudes"]
    steps = AUTOAUGMENT_POLICIES[name]
    share = np.bincount(choice.numpy(), minlength=25) / len(choice)
    assert np.abs(share - 1 / 25).max() < 0.006  # sub-policies uniform
    table = space("rand", 10, (32, 32), AUTOAUGMENT_OPS)
    for sub in (0, 7, 14):  # each step applied with its probability, at its bin, signed at random
        rows = choice == sub
        for step, (op, prob, bin_) in enumerate(steps[sub]):
            drawn = ops[rows, step]
            applied_share = (drawn == AUTOAUGMENT_OPS.index(op)).float().mean().item()
            assert abs(applied_share - prob) < 0.035, (name, sub, step, applied_share, prob)
            m = magnitudes[rows, step][drawn != 0]
            expected = 0.0 if bin_ is None else table[op][bin_].item()
            assert torch.allclose(m.abs(), torch.full_like(m, expected))
            if op in SIGNED and expected > 0:
                assert 0.4 < (m < 0).float().mean().item() < 0.6
    assert (ops[choice == choice[0]].ne(0).any(dim=0)).any()  # something is applied


def test_autoaugment_policy_tables_match_torchvision():
    import torchvision.transforms.autoaugment as tv

    from datafix.augment.policies import AUTOAUGMENT_POLICIES

    for name, enum in (("imagenet", tv.AutoAugmentPolicy.IMAGENET), ("cifar10", tv.AutoAugmentPolicy.CIFAR10),
                       ("svhn", tv.AutoAugmentPolicy.SVHN)):
        assert [tuple(s) for s in tv.AutoAugment(enum).policies] == list(AUTOAUGMENT_POLICIES[name])


def test_invert_and_autoaugment_outputs():
    x = torch.rand(3, 3, 8, 8)
    assert torch.allclose(apply_op(x, "Invert", torch.zeros(3)), 1.0 - x)
    out = A.Compose([A.AutoAugment("svhn")], seed=0)(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert torch.equal(A.Compose([A.AutoAugment("svhn", p=0.0)], seed=0)(x), x)
    with pytest.raises(InvalidInputError, match="'policy'.*imagenet.*cifar10.*svhn"):
        A.AutoAugment("coco")


def test_a_new_table_row_is_drawn_and_run_by_every_policy_and_path(monkeypatch, photos):
    """One more row of POLICY_OPS joins each policy's ops (AugMix's before its all_ops extras),
    gets its magnitudes and signs, and runs through its batched kernel on the torch path and its
    per-image kernel on the OpenCV path; nothing else lists the ops."""
    from datafix.augment import policies as P

    ran = []

    def batched(x, m):
        ran.append("batched")
        return (x * (1.0 - m.abs()).view(-1, 1, 1, 1)).clamp(0.0, 1.0)

    def image(im, m):
        ran.append("image")
        return (im * (1.0 - abs(m))).astype(np.uint8)

    def line(bins, size):
        return torch.linspace(0.0, 0.5, bins)

    monkeypatch.setitem(P.POLICY_OPS, "Darken", P.PolicyOp(True, line, line, line, batched, image))
    rand, wide, mix, auto = A.RandAugment(), A.TrivialAugmentWide(), A.AugMix(), A.AutoAugment()
    assert rand.op_names == wide.op_names == (*OPS, "Darken") and auto.op_names[-1] == "Darken"
    assert mix.op_names.index("Darken") == mix.op_names.index("Brightness") - 1  # before the all_ops extras
    params = draw_params(wide, batch=3000)
    darken = params["magnitudes"][params["ops"] == len(OPS)]
    assert 150 < len(darken) < 250 and (darken < 0).any() and (darken > 0).any()  # drawn 1 in 15, signed
    assert torch.isin(darken.abs(), line(31, (32, 32))).all()
    assert torch.equal(apply_op(torch.ones(2, 3, 2, 2), "Darken", torch.tensor([0.5, -0.25]))[:, 0, 0, 0],
                       torch.tensor([0.5, 0.75]))
    x = photos.repeat(4, 1, 1, 1)  # 16 uint8 images of 107 x 160
    A.Compose([wide], seed=0, backend="torch")(x)
    assert "batched" in ran and "image" not in ran
    ran.clear()
    A.Compose([wide], seed=0, backend="opencv")(x)
    assert "image" in ran and "batched" not in ran
