"""features='<model name>' on Ray (issue 21): the pretrained extractor built once per actor from a local
checkpoint, equal to the single-machine audit with the same name and weights (the real torchvision's
mobilenet_v3_small, random weights saved to a file)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

import datafix as dfx  # noqa: E402
from datafix.errors import InvalidInputError  # noqa: E402
from datafix.scale import audit_ray  # noqa: E402

pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.slow]  # a local Ray cluster: make test, not make check
MODEL = "mobilenet_v3_small"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """The checkpoint of a seeded, randomly initialised mobilenet_v3_small."""
    import torch
    import torchvision

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / f"{MODEL}.pth"
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), path)
    return path


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=400 * 2**20,
             configure_logging=False)
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


def test_a_pretrained_model_by_name_runs_on_an_actor_pool_and_equals_the_single_machine(cluster, weights,
                                                                                       digits_folder):
    single = dfx.audit(str(digits_folder), features=MODEL, weights=weights, model="logistic", verbose=False)
    on_ray = audit_ray(str(digits_folder), features=MODEL, weights=weights, verbose=False)
    assert len(on_ray.issues) == len(single.issues) == 620
    assert on_ray.signals["features"].startswith(f"torchvision/{MODEL} embeddings, weights from")
    assert single.signals["features"].startswith(f"torchvision/{MODEL} embeddings, weights from")
    for flag in ("is_exact_duplicate", "is_duplicate", "is_outlier"):
        pd.testing.assert_series_equal(on_ray.issues[flag], single.issues[flag], check_names=False)
    np.testing.assert_allclose(on_ray.issues["outlier_score"], single.issues["outlier_score"], rtol=1e-5)
    assert on_ray.issues["is_exact_duplicate"].sum() == 40
    flagged, local = on_ray.issues["is_label_issue"], single.issues["is_label_issue"]
    assert (flagged & local).sum() / max((flagged | local).sum(), 1) >= 0.95


def test_audit_with_engine_ray_hands_a_model_name_and_its_weights_to_the_ray_engine(cluster, weights, digits_folder,
                                                                                   monkeypatch):
    from datafix.scale.engine import RayEngine

    called = {}

    class Handed(Exception):
        pass

    def prepare(self, request):  # the one flow gives the Ray engine the request as the user wrote it
        called.update(data=request.data, **request.arguments)
        raise Handed

    monkeypatch.setattr(RayEngine, "prepare", prepare)
    with pytest.raises(Handed):
        dfx.audit(str(digits_folder), features=MODEL, weights=weights, engine="ray", image_size=24)
    assert (called["data"], called["labels"], called["features"]) == (str(digits_folder), None, MODEL)
    assert called["weights"] == weights and called["image_size"] == 24
    table = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    with pytest.raises(Handed):
        dfx.audit(table, labels="y", feature_columns=["x"], engine="ray")  # columns have their own argument
    assert called["feature_columns"] == ["x"] and called["features"] is None
    with pytest.raises(Handed):
        dfx.audit(table, labels="y", features="x", engine="ray")  # a string is a model's name, handed on as it is
    assert called["features"] == "x"


def test_a_model_name_needs_its_weights_file_and_an_image_folder(cluster, weights, digits_folder):
    with pytest.raises(InvalidInputError, match="needs weights= a local checkpoint file"):
        audit_ray(str(digits_folder), features=MODEL, verbose=False)
    with pytest.raises(InvalidInputError, match="no model of that name in torchvision"):
        audit_ray(str(digits_folder), features="resnet999", weights=weights, verbose=False)
    with pytest.raises(InvalidInputError, match="names a pretrained network, which embeds images"):
        audit_ray(ray.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})), labels="y",
                  features=MODEL, weights=weights, verbose=False)
    with pytest.raises(InvalidInputError, match="'weights' argument is the checkpoint of the model that features="):
        audit_ray(str(digits_folder), weights=weights, verbose=False)
    with pytest.raises(InvalidInputError, match="model='cnn' trains a network per fold on one machine"):
        audit_ray(str(digits_folder), model="cnn", verbose=False)
