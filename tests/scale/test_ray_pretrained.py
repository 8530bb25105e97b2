"""features='<model name>' on Ray (issue 21): the pretrained extractor built once per actor from a local
checkpoint, equal to the single-machine audit with the same name and weights.

torchvision's wheels do not load beside this machine's CPU torch, so a stand-in ``torchvision``
package with the same calls (``list_models``, ``get_model``, ``get_model_weights``) is written to disk
and shipped to the cluster's workers with Ray's ``py_modules``; the driver imports it from ``sys.path``.
"""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

import datafix as dfx  # noqa: E402
from datafix.errors import InvalidInputError  # noqa: E402
from datafix.scale import audit_ray  # noqa: E402

pytestmark = pytest.mark.xdist_group("ray")

STAND_IN = '''
"""A stand-in for torchvision.models: one registered model, 'tinynet', with a 20 -> 16 preset."""
from types import SimpleNamespace

import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))


class _Preset:
    resize_size, crop_size = [20], [16]
    mean, std = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]


def list_models():
    return ["tinynet"]


def get_model(name, weights=None):
    return TinyNet()


def get_model_weights(name):
    return SimpleNamespace(DEFAULT=SimpleNamespace(transforms=lambda: _Preset()))
'''


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    """The stand-in torchvision on disk, importable here; the checkpoint of its seeded TinyNet."""
    import torch

    root = tmp_path_factory.mktemp("stand_in")
    package = root / "torchvision"
    package.mkdir()
    (package / "__init__.py").write_text("from torchvision import models  # noqa: F401\n")
    (package / "models.py").write_text(textwrap.dedent(STAND_IN))
    sys.path.insert(0, str(root))
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] in ("torchvision", "timm")}
    sys.modules["timm"] = None  # not installed, whatever this machine has
    import torchvision.models

    torch.manual_seed(0)
    weights = root / "tinynet.pth"
    torch.save(torchvision.models.TinyNet().state_dict(), weights)
    yield package, weights
    sys.path.remove(str(root))
    for name in [n for n in sys.modules if n.split(".")[0] in ("torchvision", "timm")]:
        del sys.modules[name]
    sys.modules.update(saved)


@pytest.fixture(scope="module")
def cluster(stand_in):
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=400 * 2**20,
             configure_logging=False, runtime_env={"py_modules": [str(stand_in[0])]})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def digits_folder(tmp_path_factory):
    """600 real images (scikit-learn's digits as 16 x 16 PNGs), 5 % under a wrong digit, 20 copies."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(1)
    root = tmp_path_factory.mktemp("digits")
    labels = digits.target[:600].copy()
    wrong = rng.choice(600, 30, replace=False)
    labels[wrong] = (labels[wrong] + 1) % 10
    paths = []
    for i, (image, label) in enumerate(zip(digits.images[:600], labels, strict=True)):
        (root / f"digit{label}").mkdir(exist_ok=True)
        paths.append(root / f"digit{label}" / f"{i:04d}.png")
        Image.fromarray((image * 255 / 16).astype(np.uint8)).resize((16, 16), Image.NEAREST).save(paths[-1])
    for j, i in enumerate(rng.choice(600, 20, replace=False)):
        (paths[i].parent / f"copy{j:02d}.png").write_bytes(paths[i].read_bytes())
    return root


def test_a_pretrained_model_by_name_runs_on_an_actor_pool_and_equals_the_single_machine(cluster, stand_in,
                                                                                       digits_folder):
    _, weights = stand_in
    single = dfx.audit(str(digits_folder), features="tinynet", weights=weights, model="logistic", verbose=False)
    on_ray = audit_ray(str(digits_folder), features="tinynet", weights=weights, verbose=False)
    assert len(on_ray.issues) == len(single.issues) == 620
    assert on_ray.signals["features"].startswith("torchvision/tinynet embeddings, weights from")
    assert single.signals["features"].startswith("torchvision/tinynet embeddings, weights from")
    for flag in ("is_exact_duplicate", "is_duplicate", "is_outlier"):
        pd.testing.assert_series_equal(on_ray.issues[flag], single.issues[flag], check_names=False)
    np.testing.assert_allclose(on_ray.issues["outlier_score"], single.issues["outlier_score"], rtol=1e-5)
    assert on_ray.issues["is_exact_duplicate"].sum() == 40
    flagged, local = on_ray.issues["is_label_issue"], single.issues["is_label_issue"]
    assert (flagged & local).sum() / max((flagged | local).sum(), 1) >= 0.95


def test_audit_with_engine_ray_hands_a_model_name_and_its_weights_to_the_ray_engine(cluster, stand_in, digits_folder,
                                                                                   monkeypatch):
    import datafix.scale
    from datafix.report import Report

    called = {}
    stub = Report(pd.DataFrame(index=pd.RangeIndex(2)), {}, {}, {}, {}, {})
    monkeypatch.setattr(datafix.scale, "audit_ray", lambda data, labels, **kwargs: called.update(
        data=data, labels=labels, **kwargs) or stub)
    assert dfx.audit(str(digits_folder), features="tinynet", weights=stand_in[1], engine="ray", image_size=24) is stub
    assert (called["data"], called["labels"], called["features"]) == (str(digits_folder), "label", "tinynet")
    assert called["weights"] == stand_in[1] and called["image_size"] == 24
    table = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    dfx.audit(table, labels="y", features="x", engine="ray")  # for a table, one name is one column
    assert called["features"] == ["x"]


def test_a_model_name_needs_its_weights_file_and_an_image_folder(cluster, stand_in, digits_folder):
    with pytest.raises(InvalidInputError, match="needs weights= a local checkpoint file"):
        audit_ray(str(digits_folder), features="tinynet", verbose=False)
    with pytest.raises(InvalidInputError, match="no model of that name in torchvision"):
        audit_ray(str(digits_folder), features="resnet999", weights=stand_in[1], verbose=False)
    with pytest.raises(InvalidInputError, match="names a pretrained network, which embeds images"):
        audit_ray(ray.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})), labels="y",
                  features="tinynet", weights=stand_in[1], verbose=False)
    with pytest.raises(InvalidInputError, match="'weights' argument is the checkpoint of the model that features="):
        audit_ray(str(digits_folder), weights=stand_in[1], verbose=False)
    with pytest.raises(InvalidInputError, match="model='cnn' trains a network per fold on one machine"):
        audit_ray(str(digits_folder), model="cnn", verbose=False)
