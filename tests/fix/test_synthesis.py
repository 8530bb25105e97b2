"""Synthesize and Augment steps: the plan serves synthetic samples with provenance, and transforms."""

from __future__ import annotations

import albumentations as alb
import numpy as np
import pandas as pd
import pytest
import torch

import datafix as dfx
from datafix.fix import Augment, DropLabelIssues, Pipeline, Rebalance, Synthesize


@pytest.fixture(scope="module")
def long_tailed_wine():
    data = dfx.datasets.load_noisy("wine", noise=0.0, random_state=0)
    X, y = np.asarray(data.X, dtype=np.float64), np.asarray(data.y)
    classes = np.unique(y)
    keep = np.r_[np.flatnonzero(y == classes[0]), np.flatnonzero(y == classes[1]), np.flatnonzero(y == classes[2])[:8]]
    return X[keep], y[keep]


def test_smote_rows_balance_the_kept_classes_and_carry_their_parents(long_tailed_wine):
    X, y = long_tailed_wine
    before = X.copy()
    plan = Pipeline([DropLabelIssues(), Synthesize(random_state=1), Rebalance()]).fit(X, y, verbose=False)
    counts = plan.class_counts()
    assert counts["after"].nunique() == 1 and counts["synthetic"].sum() == len(plan.synthetic)
    kept_labels = dict(zip(plan.samples.index[plan.kept], plan.labels, strict=True))
    for _, row in plan.synthetic.iterrows():
        assert row["method"] == "smote" and len(row["parents"]) == 2
        assert all(kept_labels[p] == row["label"] for p in row["parents"])  # parents: kept, same class
    assert len(plan.dataset) == len(plan.kept) + len(plan.synthetic) == len(plan.training_labels)
    x_last, label_last = plan.dataset[len(plan.dataset) - 1]
    parents = plan.synthetic.iloc[-1]["parents"]
    lo, hi = np.minimum(X[list(parents)], 0).min(), np.maximum(X[list(parents)], 0).max()
    assert plan.classes[label_last] == plan.synthetic.iloc[-1]["label"] and lo - 1e-3 <= float(x_last.min()) <= hi + 1e-3
    assert len(list(plan.sampler)) == len(plan.dataset)
    frame = plan.to_frame()
    assert len(frame) == len(plan.dataset) and frame.index[-1] == len(X) + len(plan.synthetic) - 1  # fresh ints
    assert frame["datafix_source"].iloc[-1] == "synthetic-" + str(len(plan.synthetic) - 1)
    assert "synthetic" in plan.to_frame(actions=True)["datafix_action"].to_numpy()
    assert "smote (seed 1) from" in plan.explain(plan.synthetic.index[0])
    assert plan.summary().loc["synthesize", "added"] == len(plan.synthetic)
    page = plan.report.to_html(plan=plan)
    assert "Synthetic samples" in page and f"{plan.synthetic.iloc[0]['parents'][0]}, " in page
    np.testing.assert_array_equal(X, before)  # the source is untouched


def test_copula_rows_for_a_frame_keep_columns_and_dtypes():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=120), "n": rng.integers(0, 5, 120),
                       "colour": rng.choice(["red", "blue"], 120),
                       "y": np.r_[np.zeros(100, int), np.ones(20, int)]})
    plan = Pipeline([Synthesize(method="copula")]).fit(df, "y", verbose=False)
    frame = plan.to_frame()
    assert len(frame) == 200 and list(frame.columns) == ["a", "n", "colour", "y", "datafix_source"]
    assert frame["n"].dtype == df["n"].dtype and set(frame["colour"]) <= {"red", "blue"}
    assert (plan.synthetic["label"] == 1).all() and plan.synthetic["parents"].map(len).eq(0).all()


@pytest.mark.parametrize("on", ["sample", "batch"])
def test_images_get_virtual_augmented_copies(on):
    rng = np.random.default_rng(0)

    class Images(torch.utils.data.Dataset):
        images = [rng.integers(0, 256, (12, 12, 3), dtype=np.uint8) for _ in range(40)]
        targets = [0] * 32 + [1] * 8

        def __len__(self):
            return 40

        def __getitem__(self, i):
            return self.images[i], self.targets[i]

    aug = alb.Compose([alb.Affine(rotate=(-30, 30), p=1.0)])
    plan = Pipeline([Synthesize(), Augment(aug, on=on)]).fit(Images(), verbose=False)
    assert plan.class_counts()["after"].tolist() == [32, 32] and len(plan.dataset) == 64
    source = plan.synthetic.iloc[0]["parents"][0]
    item = plan.dataset[40]
    assert item[1] == 1
    if on == "batch":  # raw images, augmented on the device keyed by index: the copy differs from its source
        assert item[2] == 40 and np.array_equal(item[0], Images.images[source])
        pair = torch.from_numpy(np.stack([item[0], Images.images[source]])).permute(0, 3, 1, 2)
        out = plan.transform(pair, sample_ids=torch.tensor([40, source]))
        assert not torch.allclose(out[0], out[1])
    else:  # augmented per sample, seeded by (epoch, index): repeatable
        assert plan.transform is None and not np.array_equal(np.asarray(item[0]), Images.images[source])
        assert np.array_equal(np.asarray(plan.dataset[40][0]), np.asarray(item[0]))
    with pytest.raises(ValueError, match="needs an Augment step"):
        Pipeline([Synthesize()]).fit(Images(), verbose=False)


def test_config_round_trip_and_errors(tmp_path, long_tailed_wine):
    pipe = Pipeline([Synthesize(method="smote", random_state=2), Augment(alb.Compose([alb.HorizontalFlip(p=0.2)]))])
    path = tmp_path / "pipe.yaml"
    import yaml

    path.write_text(yaml.safe_dump(pipe.to_config()))
    again = Pipeline.from_config(path)
    assert again.to_config() == pipe.to_config()
    assert again.steps[1].albumentations().transforms[0].p == 0.2
    with pytest.raises(ValueError, match="'method'"):
        Synthesize(method="gan")
    with pytest.raises(ValueError, match="'pipeline'"):
        Augment({"not": "albumentations"})
    X, y = long_tailed_wine
    with pytest.raises(ValueError, match="needs a source of kind 'frame'"):
        Pipeline([Synthesize(method="copula")]).fit(X, y, verbose=False)
    with pytest.raises(ValueError, match="needs a source of kind 'images' or 'torch'"):
        Pipeline([Synthesize(method="augment")]).fit(X, y, verbose=False)


def test_synthetic_rows_keep_the_dtypes_of_id_columns(tmp_path):
    """An int32 ID and a StringDtype ID (left out of the synthesis) stay int32-like and string in to_frame and the CSV."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, -1]]
    frame = pd.concat([frame[frame["target"] == 1].iloc[:150], frame[frame["target"] == 0].iloc[:20]])
    frame.insert(0, "row", np.arange(len(frame), dtype=np.int32))
    frame.insert(1, "patient", pd.array([f"P{i:05d}" for i in range(len(frame))], dtype="string"))
    before = frame.copy()
    with pytest.warns(UserWarning, match="ID"):
        plan = Pipeline([Synthesize(random_state=0)]).fit(frame, "target", verbose=False)
    out = plan.to_frame()
    synthetic = out["datafix_source"] != "real"
    assert synthetic.sum() == 130
    assert out["patient"].dtype == frame["patient"].dtype and out["row"].dtype == "Int32"
    assert out.loc[synthetic, ["row", "patient"]].isna().all().all()
    assert out.loc[~synthetic, "patient"].tolist() == frame["patient"].tolist()
    plan.to_csv(tmp_path / "out.csv", index=False)
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[1].startswith("0,P00000,") and lines[-1].startswith(",,")
    pd.testing.assert_frame_equal(frame, before)
