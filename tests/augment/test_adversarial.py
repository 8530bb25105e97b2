"""Adversarial examples: FGSM and PGD in L-inf and L2, the share replaced, the model left as it was."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from datafix.augment import Adversarial
from datafix.errors import InvalidInputError, InvalidTypeError


def small_net(seed: int = 0) -> nn.Module:
    """A small CNN with batch norm and dropout, so eval mode matters."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(16, 3, 12, 12, generator=gen), torch.arange(16) % 4


def test_fgsm_linf_is_the_signed_gradient_step(batch):
    images, labels = batch
    model = small_net()
    eps = 0.02
    adv, _ = Adversarial(model, method="fgsm", eps=eps, share=1.0, seed=0)(images, labels)
    model.eval()
    x = images.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), labels), x)
    expected = (images + eps * grad.sign()).clamp(0, 1)
    assert torch.allclose(adv, expected, atol=1e-6)


def test_pgd_and_fgsm_stay_in_the_ball_and_raise_the_loss(batch):
    images, labels = batch
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 12 * 12, 32), nn.Tanh(), nn.Linear(32, 4))
    with torch.no_grad():
        clean = F.cross_entropy(model(images), labels).item()
    losses = {}
    for method in ("fgsm", "pgd"):
        adv, _ = Adversarial(model, method=method, eps=0.05, steps=10, share=1.0, seed=1)(images, labels)
        assert (adv - images).abs().max() <= 0.05 + 1e-6
        assert adv.min() >= 0 and adv.max() <= 1
        with torch.no_grad():
            losses[method] = F.cross_entropy(model(adv), labels).item()
    assert losses["fgsm"] > clean * 1.1 and losses["pgd"] > clean * 1.1
    assert losses["pgd"] >= 0.98 * losses["fgsm"]  # on a near-linear model one signed step is already optimal


def test_l2_budget_is_per_image(batch):
    images, labels = batch
    adv, _ = Adversarial(small_net(), norm="l2", eps=0.5, steps=5, share=1.0, value_range=None, seed=0)(images, labels)
    norms = (adv - images).flatten(1).norm(dim=1)
    assert (norms <= 0.5 + 1e-5).all() and (norms > 0.4).all()


def test_the_model_is_left_as_it_was(batch):
    images, labels = batch
    model = small_net()
    model.train()
    running = model[1].running_mean.clone()
    weights = [p.detach().clone() for p in model.parameters()]
    Adversarial(model, steps=3, share=1.0, seed=0)(images, labels)
    assert model.training and model[3].training  # its mode is restored
    assert torch.equal(model[1].running_mean, running)  # batch-norm statistics did not move
    assert all(p.grad is None for p in model.parameters())  # no gradient leaked into the parameters
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights, strict=True))
    model.eval()
    Adversarial(model, steps=2, share=1.0, seed=0)(images, labels)
    assert not model.training


def test_a_training_step_after_the_attack_sees_only_its_own_gradients(batch):
    images, labels = batch
    model = small_net()
    attack = Adversarial(model, steps=3, share=0.5, seed=0)
    adv, y = attack(images, labels)
    assert not adv.requires_grad
    loss = F.cross_entropy(model(adv), y)
    loss.backward()
    reference = small_net()
    reference.load_state_dict(model.state_dict())
    F.cross_entropy(reference(adv), y).backward()
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, atol=1e-6)


def test_share_and_keyed_draws(batch):
    images, labels = batch
    model = small_net()
    adv, _ = Adversarial(model, share=0.0, seed=0)(images, labels)
    assert torch.equal(adv, images)
    big = torch.rand(400, 3, 4, 4)
    many = torch.arange(400) % 4
    out, _ = Adversarial(small_net(), method="fgsm", eps=0.03, share=0.5, seed=0)(big, many)
    changed = (out != big).flatten(1).any(dim=1).float().mean().item()
    assert 0.4 < changed < 0.6
    ids = torch.arange(100, 116)
    a, _ = Adversarial(model, steps=2, share=0.5, seed=7)(images, labels, sample_ids=ids)
    b, _ = Adversarial(model, steps=2, share=0.5, seed=7)(images, labels, sample_ids=ids)
    assert torch.equal(a, b)  # the same (seed, epoch, sample ids): the same adversarial batch


def test_soft_labels_and_a_custom_loss(batch):
    images, labels = batch
    soft = F.one_hot(labels, 4).float() * 0.9 + 0.025
    adv, out = Adversarial(small_net(), method="fgsm", share=1.0, seed=0)(images, soft)
    assert torch.equal(out, soft) and not torch.equal(adv, images)
    calls = []

    def loss(logits, y):
        calls.append(1)
        return F.cross_entropy(logits, y)

    Adversarial(small_net(), loss=loss, steps=4, share=1.0, seed=0)(images, labels)
    assert len(calls) == 4


@pytest.mark.parametrize("kwargs, error, match", [
    ({"method": "cw"}, InvalidInputError, "'method' parameter must be one of"),
    ({"norm": "l1"}, InvalidInputError, "'norm' parameter must be one of"),
    ({"eps": 0.0}, InvalidInputError, "eps=0"),
    ({"eps": -1.0}, InvalidInputError, "'eps'"),
    ({"steps": 0}, InvalidInputError, "'steps'"),
    ({"share": 1.5}, InvalidInputError, "'share'"),
    ({"value_range": (1.0, 0.0)}, InvalidInputError, "value_range"),
    ({"loss": "ce"}, InvalidTypeError, "'loss' argument must be callable"),
])
def test_bad_options_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        Adversarial(small_net(), **kwargs)


def test_bad_inputs_are_refused(batch):
    images, labels = batch
    attack = Adversarial(small_net(), seed=0)
    with pytest.raises(InvalidTypeError, match="torch.nn.Module"):
        Adversarial(lambda x: x)
    with pytest.raises(InvalidInputError, match="float images"):
        attack((images * 255).to(torch.uint8), labels)
    with pytest.raises(InvalidTypeError, match="'labels' argument must be a torch.Tensor"):
        attack(images, labels.tolist())
    with pytest.raises(InvalidInputError, match="labels"):
        attack(images, labels[:5])


def test_the_op_does_not_own_the_model(batch):
    model = small_net()
    attack = Adversarial(model)
    assert list(attack.parameters()) == [] and attack.state_dict() == {}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(batch):
    images, labels = batch
    model = small_net()
    cpu, _ = Adversarial(model, method="fgsm", eps=0.02, share=1.0, seed=0)(images, labels)
    gpu_model = small_net().cuda()
    gpu_model.load_state_dict(model.state_dict())
    gpu, _ = Adversarial(gpu_model, method="fgsm", eps=0.02, share=1.0, seed=0)(images.cuda(), labels.cuda())
    assert gpu.device.type == "cuda"
    assert (gpu.cpu() - cpu).abs().gt(1e-4).float().mean() < 0.01  # signs agree except at near-zero gradients
