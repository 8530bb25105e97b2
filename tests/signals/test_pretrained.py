"""Pretrained extractors: a torchvision / timm model by name, weights from a local file only.

torchvision's wheels for this machine's CPU torch do not load (its compiled ops are built for the
CUDA torch), so most tests put a small stand-in ``torchvision.models`` module in ``sys.modules``
with the same calls (``list_models``, ``get_model``, ``get_model_weights``); the last test uses the
real torchvision when it is installed.
"""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest
import torch
from torch import nn

import datafix as dfx
from datafix.errors import InvalidInputError
from datafix.signals import PretrainedExtractor, pretrained_extractor


class TinyNet(nn.Module):
    """A torchvision-style classifier: features, global pooling, a linear ``fc`` head."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


class Preset:
    resize_size, crop_size = [40], [32]
    mean, std = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]


@pytest.fixture
def torchvision(monkeypatch):
    """A stand-in torchvision whose model registry holds 'tinynet'."""
    models = types.ModuleType("torchvision.models")
    models.list_models = lambda: ["tinynet"]
    models.get_model = lambda name, weights=None: TinyNet()
    models.get_model_weights = lambda name: types.SimpleNamespace(
        DEFAULT=types.SimpleNamespace(transforms=lambda: Preset()))
    package = types.ModuleType("torchvision")
    package.models = models
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    monkeypatch.setitem(sys.modules, "timm", None)  # not installed
    return models


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    net = TinyNet()
    path = tmp_path / "tinynet.pth"
    torch.save(net.state_dict(), path)
    return path, net


def test_the_named_model_loads_the_local_weights_drops_its_head_and_preprocesses(torchvision, checkpoint):
    path, net = checkpoint
    extractor = pretrained_extractor("tinynet", path, device="cpu")
    assert isinstance(extractor, PretrainedExtractor) and extractor.name == "torchvision/tinynet"
    assert (extractor.resize, extractor.crop) == (40, 32) and not extractor.training
    images = torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8)
    out = extractor(images)
    # by hand: grey to RGB, [0, 1], shorter side to 40, centre 32 x 32, normalised, the saved conv
    x = images.float().div(255).expand(-1, 3, -1, -1)
    x = nn.functional.interpolate(x, size=(40, 40), mode="bilinear", align_corners=False)[:, :, 4:36, 4:36]
    expected = torch.relu(net.conv((x - 0.5) / 0.25)).mean(dim=(2, 3))
    assert out.shape == (5, 8)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_audit_embeds_images_with_the_named_model(torchvision, checkpoint, tmp_path):
    path, _ = checkpoint
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 3, 16, 16), dtype=np.uint8)
    y = np.arange(40) % 2
    report = dfx.audit(x, y, features="torchvision/tinynet", weights=path, cv=2, verbose=False)
    assert report.audited[2].features.shape == (40, 8)
    assert report.signals["features"] == f"torchvision/tinynet embeddings, weights from {str(path)!r} (8 columns)"
    expected = pretrained_extractor("tinynet", path)(torch.from_numpy(x)).double().numpy()
    np.testing.assert_allclose(report.audited[2].features, expected, atol=1e-6)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    from_dataset = dfx.audit(dataset, features="tinynet", weights=path, cv=2, verbose=False)
    np.testing.assert_allclose(from_dataset.audited[2].features, expected, atol=1e-6)


def test_bad_weights_and_names_get_clear_errors(torchvision, checkpoint, tmp_path):
    path, _ = checkpoint
    x, y = np.zeros((8, 3, 16, 16), np.uint8), np.arange(8) % 2
    with pytest.raises(InvalidInputError, match="never downloads weights"):
        dfx.audit(x, y, features="tinynet", verbose=False)
    with pytest.raises(InvalidInputError, match=r"'weights' file '.*nowhere\.pth' does not exist"):
        dfx.audit(x, y, features="tinynet", weights=tmp_path / "nowhere.pth", verbose=False)
    other = tmp_path / "other.pth"
    torch.save(nn.Linear(3, 2).state_dict(), other)
    with pytest.raises(InvalidInputError, match=r"does not match the model 'tinynet': .*Missing key\(s\)"):
        dfx.audit(x, y, features="tinynet", weights=other, verbose=False)
    wrong_size = TinyNet(num_classes=10).state_dict()
    torch.save(wrong_size, other)
    with pytest.raises(InvalidInputError, match=r"does not match the model 'tinynet': .*size mismatch for fc.weight"):
        pretrained_extractor("tinynet", other)
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(InvalidInputError, match="is not a torch checkpoint"):
        pretrained_extractor("tinynet", tmp_path / "text.pth")
    with pytest.raises(InvalidInputError, match="no model of that name in torchvision"):
        pretrained_extractor("resnet9000", path)
    with pytest.raises(InvalidInputError, match="the library must be one of"):
        pretrained_extractor("keras/tinynet", path)
    with pytest.raises(InvalidInputError, match="'weights' argument is the checkpoint of the model that features="):
        dfx.audit(x, y, weights=path, verbose=False)


def test_a_checkpoint_saved_from_ddp_or_under_a_key_loads(torchvision, checkpoint, tmp_path):
    path, net = checkpoint
    wrapped = tmp_path / "ddp.pth"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, wrapped)
    images = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(pretrained_extractor("tinynet", wrapped)(images), pretrained_extractor("tinynet", path)(images))


def test_without_torchvision_or_timm_the_error_says_what_to_install(monkeypatch, checkpoint):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(InvalidInputError, match="needs torchvision or timm: pip install torchvision"):
        pretrained_extractor("resnet18", checkpoint[0])


def test_a_timm_model_uses_its_data_config_and_reset_classifier(monkeypatch, checkpoint):
    class TimmNet(TinyNet):
        def reset_classifier(self, num_classes: int) -> None:
            self.fc = nn.Identity()

    timm = types.ModuleType("timm")
    timm.list_models = lambda: ["timmnet"]
    timm.create_model = lambda name, pretrained=False: TimmNet()
    timm.data = types.SimpleNamespace(resolve_data_config=lambda args, model=None: {
        "input_size": (3, 48, 48), "crop_pct": 0.75, "mean": (0.1, 0.2, 0.3), "std": (1.0, 1.0, 1.0)})
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "timm", timm)
    extractor = pretrained_extractor("timmnet", checkpoint[0])
    assert extractor.name == "timm/timmnet" and (extractor.resize, extractor.crop) == (64, 48)
    assert extractor.mean.flatten().tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert extractor(torch.zeros(2, 3, 20, 30)).shape == (2, 8)


def _loads(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None and bool(importlib.import_module(name))
    except Exception:  # noqa: BLE001 - a wheel built for another torch fails on import
        return False


@pytest.mark.skipif(not _loads("torchvision"), reason="torchvision is not installed (or does not load here)")
def test_a_real_torchvision_resnet18_with_random_weights_from_a_file(tmp_path):
    import torchvision

    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    extractor = pretrained_extractor("resnet18", path, device="cpu")
    assert (extractor.resize, extractor.crop) == (256, 224)
    assert extractor(torch.zeros(2, 1, 28, 28, dtype=torch.uint8)).shape == (2, 512)
