import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset, TensorDataset

from datafix.data import as_view, from_frame, from_image_folder, from_torch_dataset
from datafix.errors import DatafixWarning, InvalidInputError, InvalidTypeError


def test_arrays_flatten_per_sample_and_do_not_alias_writable_views():
    X = np.arange(24, dtype=np.float64).reshape(3, 2, 4)
    view = as_view(X, labels=[0, 1, 0])
    assert view.features.shape == (3, 8)
    assert not view.features.flags.writeable
    assert X.flags.writeable  # the caller's array keeps its flags
    assert list(view.index) == [0, 1, 2]


def test_arrays_reject_length_mismatch_and_text():
    with pytest.raises(InvalidInputError, match="'labels' argument has 2 entries but the data has 3"):
        as_view(np.zeros((3, 2)), labels=[0, 1])
    with pytest.raises(InvalidTypeError, match="must be numeric"):
        as_view(np.array([["a", "b"], ["c", "d"]]), labels=[0, 1])
    with pytest.raises(InvalidInputError, match="features' argument has 2 rows"):
        as_view(np.zeros((3, 2)), labels=[0, 1, 0], features=np.zeros((2, 5)))


def test_frame_keeps_index_encodes_categories_and_speaks_user_labels():
    df = pd.DataFrame(
        {"size": [1.0, 2.0, 3.0, 4.0], "colour": ["r", "g", "r", None], "y": ["a", "b", "a", "b"]},
        index=["s1", "s2", "s3", "s4"],
    )
    view = from_frame(df, labels="y")
    assert list(view.index) == ["s1", "s2", "s3", "s4"]
    assert view.feature_names == ["size", "colour=g", "colour=r"]
    assert view.features[3].tolist() == [4.0, 0.0, 0.0]  # a missing category is all zeros
    assert view.labels.tolist() == ["a", "b", "a", "b"]


def test_frame_errors_name_the_column():
    df = pd.DataFrame({"a": [1, 2], "y": [0, 1]})
    with pytest.raises(InvalidInputError, match="column 'target'.*columns are \\['a', 'y'\\]"):
        from_frame(df, labels="target")


def test_frame_leaves_out_id_like_text_columns_with_a_warning():
    df = pd.DataFrame({"id": [f"u{i}" for i in range(60)], "v": np.arange(60.0), "y": [0, 1] * 30})
    with pytest.warns(DatafixWarning, match="'id'"):
        view = from_frame(df, labels="y")
    assert view.feature_names == ["v"]


class _Items(Dataset):
    """A dataset without targets whose items at some positions fail to load."""

    def __init__(self, n=12, bad=(3, 7)):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 2, 3, generator=g)
        self.y = [i % 3 for i in range(n)]
        self.bad = set(bad)
        self.reads = 0

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        self.reads += 1
        if i in self.bad:
            raise OSError(f"cannot read item {i}")
        return self.x[i], self.y[i]


def test_torch_dataset_one_pass_records_failing_items_as_broken():
    ds = _Items()
    view = from_torch_dataset(ds, features=torch.nn.Flatten(), batch_size=5, verbose=False)
    assert ds.reads == len(ds)  # one pass
    assert sorted(view.broken) == [3, 7]
    assert "cannot read item 3" in view.broken[3]
    assert view.codes[3] == -1 and view.codes[0] == 0
    assert np.isnan(view.features[3]).all()
    np.testing.assert_allclose(view.features[0], ds.x[0].flatten().numpy())


def test_torch_dataset_labels_from_targets_label_fn_or_given():
    x = torch.randn(4, 2)
    ds = TensorDataset(x, torch.tensor([1, 0, 1, 0]))
    ds.targets = ["b", "a", "b", "a"]
    assert from_torch_dataset(ds, verbose=False).labels.tolist() == ["b", "a", "b", "a"]
    v = from_torch_dataset(ds, label_fn=lambda item: int(item[1]) * 10, verbose=False)
    assert v.labels.tolist() == [10, 0, 10, 0]
    v = from_torch_dataset(TensorDataset(x), labels=["p", "q", "p", "q"], verbose=False)
    assert v.labels.tolist() == ["p", "q", "p", "q"]


def test_torch_feature_module_runs_in_batches_and_is_restored_to_training():
    ds = TensorDataset(torch.randn(10, 3), torch.tensor([0, 1] * 5))
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.5))
    module.train()
    view = from_torch_dataset(ds, features=module, batch_size=4, verbose=False)
    assert module.training
    with torch.no_grad():
        expected = module.eval()(ds.tensors[0]).numpy()
    np.testing.assert_allclose(view.features, expected, rtol=1e-5)


def test_torch_dataset_where_every_item_fails_raises():
    with pytest.raises(InvalidInputError, match="Every item of the dataset failed"):
        from_torch_dataset(_Items(n=3, bad=(0, 1, 2)), verbose=False)


def _folder(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("cat", "dog"):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)).save(tmp_path / c / f"{i}.png")
    Image.fromarray(rng.integers(0, 255, (9, 9), dtype=np.uint8), mode="L").save(tmp_path / "dog" / "gray.jpg")
    (tmp_path / "dog" / "corrupt.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "dog" / "notes.txt").write_text("ignored")
    return tmp_path


def test_image_folder_reads_every_image_and_records_corrupt_ones(tmp_path):
    view = from_image_folder(_folder(tmp_path), image_size=8, verbose=False)
    assert list(view.index) == [
        "cat/0.png", "cat/1.png", "cat/2.png", "dog/0.png", "dog/1.png", "dog/2.png", "dog/corrupt.png", "dog/gray.jpg",
    ]
    assert list(view.broken) == [6]
    assert view.features.shape == (8, 3 * 8 * 8)
    assert view.labels[0] == "cat" and view.labels[7] == "dog" and view.labels[6] is None
    assert view.kind == "images"


def test_image_folder_without_images_raises(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="has no images"):
        from_image_folder(tmp_path, verbose=False)
    with pytest.raises(InvalidInputError, match="does not exist"):
        from_image_folder(tmp_path / "nope", verbose=False)


def test_as_view_rejects_unknown_sources_and_misplaced_options():
    with pytest.raises(InvalidTypeError, match="'data' argument must be"):
        as_view({"a": 1}, labels=[0])
    with pytest.raises(InvalidInputError, match="label_fn"):
        as_view(np.zeros((2, 2)), labels=[0, 1], label_fn=lambda item: 0)
    with pytest.raises(InvalidTypeError, match="feature module"):
        as_view(np.zeros((2, 2)), labels=[0, 1], features=torch.nn.Identity())


def test_a_column_of_vectors_is_not_an_identifier_and_does_not_crash_the_id_rule():
    """An embedding per row (a column of arrays, as Ray tables hold) made id_columns raise
    'unhashable type: numpy.ndarray'; it is skipped by the identifier rule."""
    from datafix.data.frame import id_columns

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"key": [f"r{i}" for i in range(60)], "x": rng.normal(size=60),
                          "embedding": list(rng.normal(size=(60, 4)))})
    assert id_columns(frame) == ["key"]
