"""Users' data through the Python API: one report row per input row, dtypes kept, no copied keys,
training-ready datasets, and errors and warnings that name the user's values."""

from __future__ import annotations

import warnings

import albumentations as alb
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from torch.utils.data import DataLoader, Dataset

import datafix as dfx
from conftest import checksum
from datafix.errors import DatafixWarning, InvalidInputError
from datafix.fix import (
    Augment,
    DropBroken,
    DropLabelIssues,
    DropOutliers,
    Pipeline,
    Rebalance,
    Synthesize,
)


def small_table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n // 2, int), np.ones(n - n // 2, int)]
    return pd.DataFrame({"a": rng.normal(y * 3.0, 1.0), "b": rng.normal(size=n), "y": y})


# -- 1. one report row per input row, whatever the index ---------------------------------------

def test_repeated_index_values_are_refused_with_the_fix():
    df = small_table(400)
    df.index = [i // 2 for i in range(400)]  # what pd.concat without ignore_index gives
    with pytest.raises(InvalidInputError, match=r"index repeats 200 values \(\[0, 1, 2, 3, 4 and 195 more\]\)") as err:
        dfx.audit(df, "y", verbose=False)
    assert "reset_index(drop=True)" in str(err.value)
    with pytest.raises(InvalidInputError, match="index repeats"):
        Pipeline([DropOutliers()]).fit(df, "y", verbose=False)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.integers(-5, 40), st.text(max_size=3)), min_size=40, max_size=40))
def test_every_output_has_one_row_per_input_row(index_values):
    df = small_table(40)
    df.index = pd.Index(index_values, dtype=object)
    if not df.index.is_unique:
        with pytest.raises(InvalidInputError, match="index repeats"):
            dfx.audit(df, "y", verbose=False)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = dfx.audit(df, "y", verbose=False)
        plan = Pipeline([DropLabelIssues(), DropOutliers()]).fit(df, "y", report=report)
    assert report.issues.index.equals(df.index) and len(report.issues) == len(df)
    assert plan.samples.index.equals(df.index)
    assert plan.to_frame(actions=True).index.equals(df.index)


# -- 3. synthetic rows never copy keys; dates are generated -----------------------------------

def test_synthetic_rows_get_no_real_ids_and_generated_dates():
    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "spend": rng.normal(100, 20, n),
        "signup": pd.date_range("2021-01-01", periods=n, freq="D").astype(str),
        "last_seen": pd.date_range("2023-01-01", periods=n, freq="h", tz="UTC"),
        "y": np.r_[np.zeros(100, int), np.ones(20, int)],
    })
    report = dfx.audit(df, "y", verbose=False)
    assert report.tables["columns"].loc["customer_id", "is_id_like"]
    for method in ("copula", "vae"):
        plan = Pipeline([Synthesize(method=method)]).fit(df, "y", report=report)
        new = plan.to_frame().query("datafix_source != 'real'")
        assert len(new) == 80 and new["customer_id"].isna().all()
        signup = pd.to_datetime(new["signup"])
        assert signup.between("2021-01-01", "2021-05-01").all()
        assert new["last_seen"].isin(df["last_seen"]).mean() < 0.2  # made, not copied from real rows
        assert (signup == signup.dt.normalize()).all()  # whole days, like the source
        assert new["last_seen"].dtype == df["last_seen"].dtype


# -- 4. the label column keeps its dtype ------------------------------------------------------

@pytest.mark.parametrize("dtype", ["int64", "int8", "bool", "category"])
def test_to_frame_keeps_the_label_dtype(tmp_path, dtype):
    df = small_table(80)
    if dtype == "category":
        df["y"] = pd.Categorical(np.where(df["y"] == 1, "yes", "no"), categories=["no", "yes", "maybe"])
    else:
        df["y"] = df["y"].astype(dtype)
    before = checksum(df)
    plan = Pipeline([DropLabelIssues(), Synthesize(method="copula")]).fit(df, "y", verbose=False)
    out = plan.to_frame()
    assert out["y"].dtype == df["y"].dtype and plan.samples["label"].dtype == df["y"].dtype
    if dtype == "category":
        assert list(out["y"].cat.categories) == ["no", "yes", "maybe"]
    plan.to_parquet(tmp_path / "out.parquet")
    assert pd.read_parquet(tmp_path / "out.parquet")["y"].dtype == df["y"].dtype
    if dtype != "category":
        torch.tensor(plan.to_frame(actions=True)["y"].to_numpy())  # numbers, not objects
    assert checksum(df) == before


# -- 6. plan.dataset feeds a DataLoader -------------------------------------------------------

def image_folder(root, rng) -> None:
    """Two classes of small photos-like images, with a grayscale, an RGBA and an odd-size file."""
    for c, base in (("bird", 60), ("cat", 190)):
        (root / c).mkdir(parents=True)
        for i in range(16):
            pixels = np.clip(rng.normal(base, 25, (20, 20, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / c / f"{i}.png")
    Image.new("L", (20, 20), 70).save(root / "bird" / "gray.png")
    Image.new("RGBA", (20, 20), (190, 190, 190, 128)).save(root / "cat" / "rgba.png")
    Image.new("RGB", (40, 30), (60, 60, 60)).save(root / "bird" / "big.png")


class TensorImages(Dataset):
    def __init__(self, n=40, seed=0):
        rng = np.random.default_rng(seed)
        self.y = np.r_[np.zeros(30, int), np.ones(n - 30, int)]
        self.x = torch.from_numpy(np.clip(rng.normal(self.y[:, None, None, None] * 120 + 60, 20, (n, 3, 12, 12)),
                                          0, 255).astype(np.uint8))
        self.targets = list(self.y)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def sources(tmp_path):
    rng = np.random.default_rng(0)
    image_folder(tmp_path / "images", rng)
    frame = small_table(80)
    frame["colour"] = rng.choice(["red", "blue"], 80)
    frame["y"] = np.where(frame["y"] == 1, "churn", "stay")
    return {
        "arrays": ((frame[["a", "b"]].to_numpy(), frame["y"].to_numpy()), {}),
        "frame": ((frame, "y"), {}),
        "images": ((str(tmp_path / "images"),), {}),
        "torch": ((TensorImages(),), {"features": torch.nn.Flatten()}),
    }


@pytest.mark.parametrize("kind", ["arrays", "frame", "images", "torch"])
@pytest.mark.parametrize("extra", ["plain", "synthesize"])
def test_plan_dataset_feeds_a_dataloader_with_workers(tmp_path, kind, extra):
    args, kwargs = sources(tmp_path)[kind]
    steps = [DropBroken(), Rebalance()]
    if extra == "synthesize":
        steps.insert(1, Synthesize())
        if kind in ("images", "torch"):
            steps.append(Augment(alb.Compose([alb.HorizontalFlip(p=0.5)]), on="sample"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        plan = Pipeline(steps).fit(*args, verbose=False, **kwargs)
    loader = DataLoader(plan.dataset, sampler=plan.sampler, batch_size=8, num_workers=2)
    batches = list(loader)
    x, y = batches[0][:2]
    assert y.dtype == torch.int64 and set(plan.classes[y.numpy()]) <= set(plan.classes)
    if kind == "images":
        assert x.dtype == torch.uint8 and x.shape[1:] == (3, 20, 20)  # RGB, the most common size
    elif kind == "torch":
        assert x.dtype == torch.uint8 and x.shape[1:] == (3, 12, 12)
    else:
        assert x.dtype == torch.float32 and x.ndim == 2
    if kind == "frame":
        assert x.shape[1] == len(plan.view.feature_names) == 4  # a, b, colour=blue, colour=red
    total = sum(len(b[1]) for b in batches)
    assert total == len(plan.sampler) == len(plan.dataset) == len(plan.kept) + len(plan.synthetic)


def test_image_dataset_resizes_on_request(tmp_path):
    image_folder(tmp_path, np.random.default_rng(1))
    plan = Pipeline([DropBroken()]).fit(str(tmp_path), verbose=False)
    assert plan.image_dataset(8)[0][0].shape == (3, 8, 8)
    with pytest.raises(InvalidInputError, match="image folder"):
        Pipeline([DropBroken()]).fit(small_table(), "y", verbose=False).image_dataset(8)


# -- 9. a step whose check was skipped says why ---------------------------------------------

class Sentences(Dataset):
    """Text items: nothing datafix can derive features from (a Dataset of images now gets its pixels)."""

    def __len__(self) -> int:
        return 30

    def __getitem__(self, i: int):
        return f"sentence {i}", i % 2


def test_label_steps_on_a_dataset_without_features_say_what_to_give():
    with pytest.raises(InvalidInputError, match=r"acts on the 'label' check's findings, but it was skipped \(no "
                                                r"pred_probs were given and there are no features") as err:
        Pipeline([DropBroken(), DropLabelIssues(), Rebalance()]).fit(Sentences(), verbose=False)
    assert "features=" in str(err.value) and "pred_probs=" in str(err.value)


# -- 10, 11: label values written two ways; dates are dates -------------------------------------

def test_near_identical_label_values_are_flagged_with_the_canonical_value():
    df = small_table(120)
    df["y"] = np.where(df["y"] == 1, "churn", "stay").astype(object)
    df.loc[0:2, "y"] = "churn "
    df.loc[3:4, "y"] = "chrun"
    df.loc[5:6, "y"] = "Stay"
    report = dfx.audit(df, "y", verbose=False)
    flagged = report.issues[report.issues["is_label_value_issue"].fillna(False).astype(bool)]
    assert dict(zip(flagged.index, flagged["suggested_value"], strict=True)) == {
        0: "churn", 1: "churn", 2: "churn", 3: "churn", 4: "churn", 5: "stay", 6: "stay"}
    assert "'churn '" in report.render()  # two values that print alike are shown as reprs
    assert not dfx.audit(small_table(), "y", verbose=False).issues["is_label_value_issue"].any()


@pytest.mark.parametrize("parse", [False, True])
def test_dates_are_described_not_called_id_like(parse):
    df = small_table(60)
    df["when"] = pd.date_range("2024-03-01 08:00", periods=60, freq="37min").astype(str)
    if parse:
        df["when"] = pd.to_datetime(df["when"])
    report = dfx.audit(df, "y", verbose=False)
    row = report.tables["columns"].loc["when"]
    assert row["kind"] == "date" and not row["is_id_like"] and row["first"] == "2024-03-01 08:00:00"
    assert "when" in report.audited[2].feature_names  # enters the features (as seconds)
    assert "date columns enter the features as seconds" in report.checks["null"].rule


# -- 17, 18: samplers under workers; channels-last batches ----------------------------------------

def test_set_epoch_before_a_worker_loader_does_not_warn():
    ds = TensorImages()
    sampler = dfx.balance.BalancedBatchSampler(ds.targets, classes_per_batch=2, samples_per_class=2)
    loader = DataLoader(ds, batch_sampler=sampler, num_workers=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatafixWarning)
        for epoch in range(2):
            sampler.set_epoch(epoch)
            assert sum(1 for _ in loader) == len(sampler)
    with pytest.warns(DatafixWarning, match="set_epoch"):
        list(loader)  # a second pass at epoch 1 without set_epoch still warns


def test_channels_last_batches_are_refused_before_any_work():
    images = torch.zeros((4, 32, 32, 3), dtype=torch.uint8)
    aug = dfx.augment.Compose([dfx.augment.RandomResizedCrop(16)], seed=0)
    with pytest.raises(InvalidInputError, match=r"channels-last.*images.permute\(0, 3, 1, 2\)"):
        aug(images)


# -- 19. what people read -----------------------------------------------------------------------

def test_printed_results_read_plainly():
    df = small_table(80)
    report = dfx.audit(df, "y", verbose=False)
    assert "..." not in repr(report.summary())  # pandas cut long notes to 50 characters
    plan = Pipeline([DropLabelIssues(), DropOutliers(), Rebalance()]).fit(df, "y", report=report)
    summary = plan.summary()
    assert list(summary.index) == ["drop_label_issues", "drop_outliers", "rebalance"]  # no-op steps too
    assert summary.loc["rebalance"].sum() == 0
    text = plan.explain(np.int64(5))
    assert text.startswith("sample 5: ") and "np.int64" not in text
    tiny = report.issues.assign(label_score=1e-4, is_label_issue=True)
    assert "1.00e-04" in dfx.Report(tiny, report.checks, report.params).render()


def test_image_rules_count_channels_as_integers(tmp_path):
    image_folder(tmp_path, np.random.default_rng(2))
    (tmp_path / "cat" / "broken.png").write_bytes(b"not an image")  # its missing statistics made 3 a float
    report = dfx.audit(str(tmp_path), verbose=False)
    assert "other than 3 channels" in report.checks["odd_mode"].rule
    assert report.issues.loc["bird/gray.png", "is_odd_mode"]


def test_image_folder_with_synthesize_and_batch_augment_serves_decoded_keyed_items(tmp_path):
    image_folder(tmp_path, np.random.default_rng(3))
    (tmp_path / "cat" / "extra.png").unlink(missing_ok=True)
    for i in range(8):  # make "cat" the minority
        (tmp_path / "cat" / f"{i}.png").unlink()
    plan = Pipeline([DropBroken(), Synthesize(), Augment(alb.Compose([alb.HorizontalFlip(p=1.0)]))]).fit(
        str(tmp_path), verbose=False)
    x, y, idx = plan.dataset[len(plan.dataset) - 1]  # a virtual sample: decoded image, class code, index
    assert x.dtype == torch.uint8 and x.shape == (3, 20, 20) and plan.classes[y] == "cat"
    assert idx == len(plan.dataset) - 1
    batch = torch.stack([plan.dataset[i][0] for i in range(4)])
    assert plan.transform(batch).shape == (4, 3, 20, 20)


def test_html_shows_the_flagged_rows_values(tmp_path):
    df = small_table(80)
    df.loc[5, "a"] = 40.0  # an entry error
    page = dfx.audit(df, "y", verbose=False).to_html()
    outliers = page.split("<h2>Outliers</h2>")[1].split("<h2>")[0]
    assert "<th>a</th>" in outliers and "40.000" in outliers


def test_date_columns_need_95_percent_parsed_values_wherever_the_failures_are():
    from datafix.data.encoding import as_dates

    days = pd.date_range("2024-01-01", periods=3000).astype(str).tolist()
    assert as_dates(pd.Series(["x1"] * 140 + days[:2860])) is not None  # 4.7 % fail, all at the head
    assert as_dates(pd.Series(days[:2840] + ["x1"] * 160)) is None  # 5.3 % fail, all at the tail
    assert as_dates(pd.Series([f"C{i:06d}" for i in range(3000)])) is None  # IDs: rejected from the head


def test_read_only_arrays_reach_torch_without_a_warning_and_without_a_copy():
    # load_fashion_mnist's images are np.frombuffer of the file (read-only), as are np.load(mmap_mode="r")
    # arrays; PyTorch warns once per process that writing to them is undefined, so a fresh interpreter
    # with warnings as errors. Before: DataView.images() (the CNN's route) raised the UserWarning.
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import numpy as np
        from datafix.balance.epoch_resampling import LazySMOTE
        from datafix.data.adapt import as_view
        from datafix.signals.cnn import as_image_batch
        from datafix.synth.smote import TorchSMOTE

        rng = np.random.default_rng(0)
        images = np.frombuffer(rng.integers(0, 256, 40 * 64, dtype=np.uint8).tobytes(), np.uint8).reshape(40, 1, 8, 8)
        rows = np.frombuffer(rng.normal(size=(40, 3)).astype(np.float32).tobytes(), np.float32).reshape(40, 3)
        y = np.arange(40) % 4 // 3
        assert not images.flags.writeable and not rows.flags.writeable
        batch = as_view(images, labels=y).images()
        assert np.shares_memory(batch.numpy(), images)  # read, not copied
        assert as_image_batch(images).shape == (40, 1, 8, 8)
        assert as_view(rows, labels=y).training_x(0).tolist() == rows[0].tolist()
        assert len(TorchSMOTE(k_neighbors=2, random_state=0).sample(rows, y).y) > 0
        assert LazySMOTE(rows, y, k_neighbors=2)[0][0].tolist() == rows[0].tolist()
        print("quiet")
    """)
    done = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "quiet"
