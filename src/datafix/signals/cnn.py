"""Image-native signals: a small residual CNN trained by K-fold cross-validation.

Raw pixels are weak features for real images, and a linear model on them gives weak
out-of-sample probabilities. For images the audit instead trains a small ResNet on each fold's
training part (with light per-sample augmentation from :mod:`datafix.augment`) and reads the
held-out part's predicted probabilities. Every fold's network also embeds every sample
(penultimate layer, each network's block standardised); the concatenated embeddings, not the
pixels, feed the shared kNN graph (outliers, duplicates). One space for all samples matters: each
network has its own embedding space, and with held-out embeddings only, 99.8 % of a sample's 40
neighbours came from its own fold (3,000 Fashion-MNIST images), so near-duplicates and outliers
were compared within a fold only. The label votes stay out-of-sample: they come from
:func:`fold_graph`, the neighbours among the held-out embeddings of the sample's own fold (in
every other network the sample was a training sample, and a small set's networks memorise its
labels: on 60 two-class images with two wrong labels, votes over the concatenated embeddings
flagged neither). Same seed, same signals on one device; on a GPU when there is one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from datafix._tensors import shared_tensor
from datafix._validation import (
    RandomState,
    check_int,
    check_random_state,
    resolve_device,
    seed_from,
)
from datafix.errors import InvalidInputError
from datafix.signals.pred_probs import stratified_folds


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        # the shortcut subsamples, then a 1 x 1 convolution of stride 1: the same as a strided 1 x 1
        # convolution, which in torch 2.14's oneDNN corrupts the heap in its backward pass on
        # channels-last input with one CPU thread (tests/signals/test_cnn.py)
        self.stride = stride
        self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        shortcut = x[:, :, :: self.stride, :: self.stride].contiguous(memory_format=torch.channels_last) \
            if self.stride != 1 else x
        return torch.relu(self.bn2(self.conv2(out)) + self.skip(shortcut))


class SmallResNet(nn.Module):
    """A small ResNet for small images: a 3x3 stem, three residual stages that each halve the
    resolution, global pooling, a linear head (about 0.5 M weights at width 32; a training step
    of 128 images of 28 x 28 takes about 70 ms on 2 CPU cores).

    Parameters
    ----------
    in_channels : int
        Image channels.
    n_classes : int
        Output classes.
    width : int, default 32
        Channels of the first stage (then 2x and 4x): the embedding has ``4 * width`` values.

    Examples
    --------
    >>> net = SmallResNet(1, 10, width=8)
    >>> x = torch.zeros(2, 1, 28, 28)
    >>> net(x).shape, net.embed(x).shape
    (torch.Size([2, 10]), torch.Size([2, 32]))
    """

    def __init__(self, in_channels: int, n_classes: int, width: int = 32) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU())
        self.stages = nn.Sequential(_Block(width, width, 2), _Block(width, 2 * width, 2),
                                    _Block(2 * width, 4 * width, 2))
        self.head = nn.Linear(4 * width, n_classes)

    def embed(self, x: Tensor) -> Tensor:
        """Penultimate-layer embeddings (B, 4 * width)."""
        return self.stages(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.embed(x))


@dataclass(frozen=True)
class ImageSignals:
    """What K-fold CNN training gives every sample: probabilities from the model that did not see
    it, and embeddings in one space for all samples.

    Attributes
    ----------
    pred_probs : numpy.ndarray of shape (n, K)
        Held-out predicted probabilities.
    embeddings : numpy.ndarray of float32, shape (n, folds * 4 * width)
        Every sample through every fold's network, each network's block standardised.
    held_out_embeddings : numpy.ndarray of float32, shape (n, 4 * width)
        Every sample through the network that did not see it: comparable within a fold only.
    folds : numpy.ndarray of int, shape (n,)
        The fold that held each sample out.
    epochs : int
        Training epochs per fold.
    cv_accuracy : float
        Share of samples whose held-out prediction is their given label.
    seconds : float
        Wall time of the whole cross-validation.
    device : str
    margins : numpy.ndarray of shape (n,)
        Training dynamics: each sample's logit margin (its given label's logit minus the largest
        other logit) averaged over every epoch of every fold in which it was trained on, the
        area under the margin of Pleiss et al. (2020). A sample the networks fit late or never
        (a wrong label, usually) has a low or negative margin. Recorded from the training
        batches' own logits: no extra training.
    n_models : int
        Networks trained per fold (their probabilities and margins averaged).
    """

    pred_probs: np.ndarray
    embeddings: np.ndarray
    held_out_embeddings: np.ndarray
    folds: np.ndarray
    epochs: int
    cv_accuracy: float
    seconds: float
    device: str
    margins: np.ndarray | None = None
    n_models: int = 1

    def describe(self, folds: int) -> str:
        """One line for the report's signals section (``folds``: how many ran)."""
        models = f"{self.n_models} small ResNets per fold, averaged" if self.n_models > 1 else "a small ResNet"
        return (f"{folds}-fold cross-validation of {models} ({self.epochs} epochs per fold on {self.device}, "
                f"held-out accuracy {self.cv_accuracy:.3f}, {self.seconds:.0f} s)")


#: Optimiser steps per fold at least (small sets: more epochs, so the network learns at all).
MIN_STEPS = 150


def default_epochs(n_train: int, batch_size: int = 128) -> int:
    """Epochs per fold: about 150,000 training images seen per fold (3 to 15 epochs), and at least
    :data:`MIN_STEPS` optimiser steps (at most 300 epochs) for small sets.

    Examples
    --------
    >>> default_epochs(16_000), default_epochs(48_000), default_epochs(2_000), default_epochs(24)
    (9, 3, 15, 150)
    """
    epochs = min(15, max(3, round(150_000 / max(n_train, 1))))
    steps_per_epoch = math.ceil(max(n_train, 1) / batch_size)
    return int(min(300, max(epochs, math.ceil(MIN_STEPS / steps_per_epoch))))


def as_image_batch(images: Any, name: str = "images") -> Tensor:
    """``images`` as a (N, C, H, W) tensor (uint8 kept, floats as float32), or an error naming ``name``."""
    x = shared_tensor(images) if not isinstance(images, Tensor) else images
    if x.ndim != 4:
        raise InvalidInputError(f"The {name!r} argument must be images of shape (N, C, H, W); got shape "
                                f"{tuple(x.shape)}. Images of mixed sizes: use an image folder (they are resized).")
    if x.shape[1] not in (1, 3, 4) and x.shape[-1] in (1, 3, 4):
        raise InvalidInputError(f"The {name!r} argument looks channels-last {tuple(x.shape)}; pass (N, C, H, W) "
                                "(e.g. images.permute(0, 3, 1, 2)).")
    return x if x.dtype == torch.uint8 else x.to(torch.float32)


def cnn_cross_val(
    images: Any,
    labels: np.ndarray,
    *,
    n_classes: int | None = None,
    cv: int = 5,
    epochs: int | None = None,
    batch_size: int = 128,
    width: int = 24,
    device: Any = None,
    random_state: RandomState = 0,
    verbose: bool = True,
    classes: Any = None,
    n_models: int = 1,
) -> ImageSignals:
    """Out-of-sample ``pred_probs``, embeddings and training dynamics by K-fold training of :class:`SmallResNet`.

    Parameters
    ----------
    images : array-like or Tensor of shape (N, C, H, W)
        uint8 (0-255) or float (0-1) images.
    labels : numpy.ndarray of int
        Label codes ``0..K-1``.
    n_classes : int, optional
        K (default: ``labels.max() + 1``).
    cv : int, default 5
        Folds (capped by the largest class; the rules for small classes are those of
        :func:`datafix.signals.cross_val_pred_probs`).
    epochs : int, optional
        Epochs per fold (default: ``default_epochs``).
    batch_size : int, default 128
        Images per training step.
    width : int, default 24
        The network's first-stage width (each fold's embedding block has ``4 * width`` values). On 20,000
        Fashion-MNIST images on 2 cores: width 24 took 334 s with label F1 0.787, width 32 415 s
        with 0.798 (``benchmarks/cnn_signals.py``).
    device : str or torch.device, optional
        Where to train (default: CUDA when available, else the CPU).
    random_state : int, numpy.random.Generator or None, default 0
        Seeds the fold split, the weights, the batches and the augmentation.
    verbose : bool, default True
        Show progress per fold and epoch.
    classes : array-like of shape (K,), optional
        The user's label values of the codes, for warnings and errors (default: the codes).
    n_models : int, default 1
        Networks trained per fold, each from its own seed (an ensemble): the held-out
        probabilities and the training margins are their means, the embeddings the first
        network's. Costs ``n_models`` times the training time.

    Returns
    -------
    ImageSignals

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> x = torch.from_numpy((rng.random((40, 1, 8, 8)) * 60 + y[:, None, None, None] * 150).astype(np.uint8))
    >>> out = cnn_cross_val(x, y, cv=2, width=4, verbose=False)
    >>> out.pred_probs.shape, out.embeddings.shape, out.cv_accuracy > 0.9, out.margins.shape
    ((40, 2), (40, 32), True, (40,))
    """
    from datafix import augment as A

    started = time.perf_counter()
    x = as_image_batch(images)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(x):
        raise InvalidInputError(f"{len(labels)} labels for {len(x)} images.")
    k = int(labels.max()) + 1 if n_classes is None else n_classes
    seed = seed_from(check_random_state(random_state))
    folds = stratified_folds(labels, k, check_int(cv, "cv", minimum=2), seed, classes)
    dev = resolve_device(device)
    height, width_px = x.shape[2], x.shape[3]
    n_train = len(labels) - len(folds[0][1])
    n_epochs = default_epochs(n_train, batch_size) if epochs is None else check_int(epochs, "epochs", minimum=1)
    n_models = check_int(n_models, "n_models", minimum=1)
    P = np.zeros((len(labels), k))
    margin_sum, margin_count = np.zeros(len(labels)), np.zeros(len(labels))
    E = np.zeros((len(labels), len(folds) * 4 * width), dtype=np.float32)
    H = np.zeros((len(labels), 4 * width), dtype=np.float32)
    fold_of = np.zeros(len(labels), dtype=np.int64)
    for f, (_, test) in enumerate(folds):
        fold_of[test] = f
    augment = A.Compose([A.RandomCrop((height, width_px), padding=max(1, height // 8)), A.HorizontalFlip()],
                        seed=seed % (2**31), backend="torch")
    bar = tqdm(total=len(folds) * n_epochs * n_models, desc="CNN cross-validation", unit="epoch",
               disable=not verbose, leave=False)
    y_all = torch.from_numpy(labels)
    for f, (train, _) in enumerate(folds):
        block = slice(f * 4 * width, (f + 1) * 4 * width)
        held_out = fold_of == f
        for m in range(n_models):
            net = _train_fold(x, y_all, train, k, width, n_epochs, batch_size, augment, dev, seed, f, m,
                              margin_sum, margin_count, bar)
            with torch.inference_mode():  # every sample through this fold's network: one space for all samples
                for chunk in np.array_split(np.arange(len(labels)), math.ceil(len(labels) / 512)):
                    xb = x[torch.from_numpy(chunk)].to(dev)
                    xb = xb.to(torch.float32) / 255.0 if xb.dtype == torch.uint8 else xb
                    emb = net.embed(xb.contiguous(memory_format=torch.channels_last))
                    if m == 0:
                        E[chunk, block] = emb.float().cpu().numpy()
                    mine = chunk[held_out[chunk]]
                    if len(mine):
                        own = emb[torch.from_numpy(held_out[chunk])]
                        P[mine] += torch.softmax(net.head(own), dim=1).double().cpu().numpy() / n_models
                        if m == 0:
                            H[mine] = own.float().cpu().numpy()
        E[:, block] = (E[:, block] - E[:, block].mean(axis=0)) / (E[:, block].std(axis=0) + 1e-6)
    bar.close()
    accuracy = float((P.argmax(axis=1) == labels).mean())
    margins = margin_sum / np.maximum(margin_count, 1)
    return ImageSignals(P, E, H, fold_of, n_epochs, accuracy, time.perf_counter() - started, str(dev), margins,
                        n_models)


def _train_fold(x: Tensor, y_all: Tensor, train: np.ndarray, k: int, width: int, n_epochs: int, batch_size: int,
                augment: Any, dev: torch.device, seed: int, fold: int, member: int, margin_sum: np.ndarray,
                margin_count: np.ndarray, bar: Any) -> SmallResNet:
    """One network trained on a fold's ``train`` positions (``member``: its place in the ensemble,
    for its seed), adding each training batch's logit margins to ``margin_sum`` / ``margin_count``."""
    torch.manual_seed(seed + fold + 7919 * member)
    net = SmallResNet(x.shape[1], k, width).to(dev, memory_format=torch.channels_last)
    steps = n_epochs * math.ceil(len(train) / batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.25)
    order_rng = np.random.default_rng([seed, fold] if member == 0 else [seed, fold, member])
    for epoch in range(n_epochs):
        net.train()
        augment.set_epoch(epoch)
        for idx in np.array_split(order_rng.permutation(train), math.ceil(len(train) / batch_size)):
            ids = torch.from_numpy(idx)
            xb = augment(x[ids].to(dev), sample_ids=ids.to(dev)).contiguous(memory_format=torch.channels_last)
            yb = y_all[ids].to(dev)
            logits = net(xb)
            loss = nn.functional.cross_entropy(logits, yb, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():  # the area under the margin: given label's logit minus the largest other
                own = logits.gather(1, yb[:, None])[:, 0]
                other = logits.scatter(1, yb[:, None], float("-inf")).max(dim=1).values
                np.add.at(margin_sum, idx, (own - other).double().cpu().numpy())
                np.add.at(margin_count, idx, 1.0)
        bar.set_postfix(fold=fold + 1, loss=float(loss.detach()))
        bar.update(1)
    net.eval()
    return net


def fold_graph(held_out_embeddings: np.ndarray, folds: np.ndarray, k_neighbors: int, **options: Any) -> Any:
    """Each sample's nearest neighbours among the held-out samples of its own fold, whose
    embeddings come from the same network (positions over all samples).

    ``k`` is capped by the smallest fold; ``options`` go to :func:`datafix.signals.knn_graph`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = fold_graph(rng.normal(size=(12, 3)), np.repeat([0, 1], 6), k_neighbors=3)
    >>> g.indices.shape, bool((g.indices[:6] < 6).all() and (g.indices[6:] >= 6).all())
    ((12, 3), True)
    """
    from dataclasses import replace

    from datafix.signals.neighbors import knn_graph

    members = [np.flatnonzero(folds == f) for f in np.unique(folds)]
    k = min([k_neighbors, *(len(m) - 1 for m in members)])
    if k < 1:  # a fold of one sample: no neighbours to vote
        return None
    indices = np.zeros((len(folds), k), dtype=np.int64)
    distances = np.zeros((len(folds), k))
    graph = None
    for rows in members:
        graph = knn_graph(held_out_embeddings[rows], k, **options)
        indices[rows], distances[rows] = rows[graph.indices], graph.distances
    return replace(graph, indices=indices, distances=distances)
