"""Adversarial examples as a batch op for adversarial training: FGSM and PGD, L-inf or L2.

A share of each batch is replaced by adversarial versions of its images (labels kept), computed
on the batch's device against the model being trained (Goodfellow et al. 2015, FGSM; Madry et
al. 2018, PGD with a random start). During the attack the model is in eval mode (batch-norm
statistics do not move, dropout is off) and its previous mode is restored afterwards; the
gradients are taken with respect to the images only (``torch.autograd.grad``), so nothing
accumulates in the parameters' ``.grad`` and the training step's backward pass sees the
adversarial images as constants.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from datafix._validation import check_choice, check_float, check_int
from datafix.augment._checks import check_batch, check_images
from datafix.augment._random import RandomSource
from datafix.errors import InvalidInputError, InvalidTypeError

#: The attacks :class:`Adversarial` runs, and the norms of their budgets.
METHODS = ("fgsm", "pgd")
NORMS = ("linf", "l2")


class Adversarial(nn.Module):
    """Replace a share of each batch by adversarial examples of the current model.

    Parameters
    ----------
    model : torch.nn.Module
        The model being trained (its outputs are the logits ``loss`` reads).
    loss : callable, optional
        ``loss(logits, labels) -> scalar``; default ``torch.nn.functional.cross_entropy``
        (class indices or (B, K) probabilities).
    method : {"fgsm", "pgd"}, default "pgd"
        One signed (L-inf) or normalised (L2) gradient step of size ``eps``, or ``steps``
        projected steps of size ``alpha`` from a random point of the ``eps`` ball.
    eps : float, default 8 / 255
        The perturbation budget, in the images' units (images in [0, 1]).
    steps : int, default 10
        PGD steps (FGSM takes one).
    alpha : float, optional
        PGD step size; default ``2.5 * eps / steps`` (Madry et al.).
    norm : {"linf", "l2"}, default "linf"
        The norm of the budget (L2: per image, over all its pixels and channels).
    share : float in [0, 1], default 0.5
        Expected share of each batch replaced; which samples, is drawn per sample (keyed by
        ``sample_ids`` when given, like the other batch ops).
    value_range : (float, float), default (0.0, 1.0)
        Adversarial images are clipped to it (None: no clipping, e.g. for normalised inputs).
    seed, generator
        As in :class:`~datafix.augment.Compose`: where the draws (which samples, PGD's random
        start) come from.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import Adversarial
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 2))
    >>> images, labels = torch.rand(8, 3, 4, 4), torch.arange(8) % 2
    >>> attack = Adversarial(model, method="fgsm", eps=0.03, share=1.0, seed=0)
    >>> adv, same_labels = attack(images, labels)
    >>> bool((adv - images).abs().max() <= 0.03 + 1e-6), bool(torch.equal(same_labels, labels))
    (True, True)
    """

    def __init__(self, model: nn.Module, loss: Callable[[Tensor, Tensor], Tensor] | None = None, *,
                 method: str = "pgd", eps: float = 8 / 255, steps: int = 10, alpha: float | None = None,
                 norm: str = "linf", share: float = 0.5, value_range: tuple[float, float] | None = (0.0, 1.0),
                 seed: int | None = None, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise InvalidTypeError(f"The 'model' argument must be a torch.nn.Module; got {type(model).__name__}.")
        if loss is not None and not callable(loss):
            raise InvalidTypeError(f"The 'loss' argument must be callable(logits, labels); got {type(loss).__name__}.")
        self.method = check_choice(method, "method", METHODS)
        self.norm = check_choice(norm, "norm", NORMS)
        self.eps = check_float(eps, "eps", low=0.0, high=math.inf)
        if self.eps == 0:
            raise InvalidInputError("The 'eps' parameter must be positive; eps=0 makes no adversarial example.")
        self.steps = 1 if self.method == "fgsm" else check_int(steps, "steps", minimum=1)
        self.alpha = 2.5 * self.eps / self.steps if alpha is None else check_float(alpha, "alpha", low=0.0, high=math.inf)
        self.share = check_float(share, "share", low=0.0, high=1.0)
        if value_range is not None and (len(value_range) != 2 or not value_range[0] < value_range[1]):
            raise InvalidInputError(f"The 'value_range' parameter must be (low, high) with low < high, or None; got "
                                    f"{value_range!r}.")
        self.value_range = None if value_range is None else (float(value_range[0]), float(value_range[1]))
        self.loss = loss if loss is not None else F.cross_entropy
        self.source = RandomSource(seed, generator)
        self.epoch = 0
        # a plain attribute, not a submodule: the op must not own (or move, or save) the model
        object.__setattr__(self, "model", model)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that keys the draws when ``sample_ids`` are passed."""
        self.epoch = int(epoch)

    def forward(self, images: Tensor, labels: Tensor, sample_ids: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The batch with a share of its images adversarial (same dtype and device), and the labels as given."""
        x = check_images(images)
        if not x.is_floating_point():
            raise InvalidInputError("Adversarial needs float images (gradients of uint8 images do not exist); run "
                                    "the Compose (uint8 in, float out) first.")
        if not isinstance(labels, Tensor):
            raise InvalidTypeError(f"The 'labels' argument must be a torch.Tensor; got {type(labels).__name__}.")
        check_batch(labels, "labels", x.shape[0], (1, 2))
        batch = x.shape[0]
        u = self.source.uniform(batch, 1, x.device, key=0, sample_ids=sample_ids, epoch=self.epoch)
        chosen = u[:, 0] < self.share
        if not bool(chosen.any()):
            return images, labels
        adv = self.attack(x[chosen], labels.to(x.device)[chosen], sample_ids=None if sample_ids is None
                          else sample_ids[chosen])
        out = x.detach().clone()
        out[chosen] = adv.to(out.dtype)
        return out, labels

    def attack(self, images: Tensor, labels: Tensor, *, sample_ids: Tensor | None = None) -> Tensor:
        """Adversarial versions of every image of ``images`` (detached; the model's mode restored)."""
        model = self.model
        was_training = model.training
        x0 = images.detach().to(torch.float32)
        model.eval()
        try:
            with torch.enable_grad():
                delta = torch.zeros_like(x0)
                if self.method == "pgd":
                    delta = self._random_start(x0, sample_ids)
                step = self.eps if self.method == "fgsm" else self.alpha
                for _ in range(self.steps):
                    delta.requires_grad_(True)
                    adv = self._clip(x0 + delta)
                    loss = self.loss(model(adv.to(images.dtype)), labels)
                    (grad,) = torch.autograd.grad(loss, delta)
                    delta = self._project(delta.detach() + step * self._direction(grad))
        finally:
            model.train(was_training)
        return self._clip(x0 + delta).detach()

    def _direction(self, grad: Tensor) -> Tensor:
        if self.norm == "linf":
            return grad.sign()
        size = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
        return grad / size.view(-1, *([1] * (grad.ndim - 1)))

    def _project(self, delta: Tensor) -> Tensor:
        if self.norm == "linf":
            return delta.clamp(-self.eps, self.eps)
        size = delta.flatten(1).norm(dim=1)
        factor = torch.where(size > self.eps, self.eps / size.clamp_min(1e-12), torch.ones_like(size))
        return delta * factor.view(-1, *([1] * (delta.ndim - 1)))

    def _clip(self, x: Tensor) -> Tensor:
        return x if self.value_range is None else x.clamp(*self.value_range)

    def _random_start(self, x: Tensor, sample_ids: Tensor | None) -> Tensor:
        """A uniform point of the eps ball (L-inf: per pixel; L2: uniform in the ball)."""
        noise = self.source.normal(tuple(x.shape), x.device, key=1, sample_ids=sample_ids, epoch=self.epoch)
        if self.norm == "linf":
            u = torch.special.ndtr(noise)  # normals -> uniforms in (0, 1)
            return (2.0 * u - 1.0) * self.eps
        direction = noise / noise.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.ndim - 1)))
        radius = self.source.uniform(x.shape[0], 1, x.device, key=2, sample_ids=sample_ids, epoch=self.epoch)
        dims = math.prod(x.shape[1:])
        return direction * (self.eps * radius[:, 0] ** (1.0 / dims)).view(-1, *([1] * (x.ndim - 1)))

    def extra_repr(self) -> str:
        return (f"method={self.method!r}, eps={self.eps:g}, steps={self.steps}, alpha={self.alpha:g}, "
                f"norm={self.norm!r}, share={self.share:g}")
