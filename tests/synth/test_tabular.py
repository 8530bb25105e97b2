import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp, spearmanr

from conftest import checksum
from datafix.errors import DatafixWarning, InvalidInputError, InvalidTypeError
from datafix.synth import ConditionalVAEGenerator, GaussianCopulaGenerator


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 600
    y = rng.choice(["a", "b"], n, p=[0.7, 0.3])
    x1 = rng.normal(size=n) + (y == "b") * 3
    x2 = 2 * x1 + rng.normal(scale=0.5, size=n)  # strongly correlated with x1
    df = pd.DataFrame({
        "x1": x1,
        "x2": x2,
        "count": rng.poisson(3, n),
        "colour": np.where(x1 > 1, "red", rng.choice(["blue", "green"], n)),
        "constant": 7.0,
        "target": y,
    })
    df.loc[::10, "x2"] = np.nan
    df.loc[::15, "colour"] = None
    return df


@pytest.mark.parametrize("make", [lambda: GaussianCopulaGenerator(random_state=0),
                                  lambda: ConditionalVAEGenerator(epochs=150, random_state=0)], ids=["copula", "vae"])
def test_generators_keep_marginals_classes_and_dtypes(frame, make):
    before = checksum(frame)
    gen = make().fit(frame, labels="target")
    out = gen.sample(400, label="b")
    assert list(out.columns) == list(frame.columns) and set(out["target"]) == {"b"}
    assert out["count"].dtype == frame["count"].dtype and (out["constant"] == 7.0).all()
    real_b = frame[frame["target"] == "b"]
    assert ks_2samp(real_b["x1"], out["x1"]).statistic < 0.2
    assert set(out["colour"].dropna()) <= {"red", "blue", "green"}
    assert 0.02 < out["x2"].isna().mean() < 0.25  # the 10 % missing rate, roughly
    mixed = gen.sample(500)
    assert abs((mixed["target"] == "a").mean() - 0.7) < 0.1
    assert checksum(frame) == before


def test_copula_keeps_rank_correlation(frame):
    out = GaussianCopulaGenerator(random_state=1).fit(frame, labels="target").sample(800, label="a")
    real = frame[frame["target"] == "a"].dropna()
    ok = out[["x1", "x2"]].dropna()
    assert abs(spearmanr(ok["x1"], ok["x2"]).statistic - spearmanr(real["x1"], real["x2"]).statistic) < 0.1


def test_sampling_continues_the_stream_and_provenance(frame):
    gen = GaussianCopulaGenerator(random_state=2).fit(frame, labels="target")
    a, b = gen.sample(5, label="a"), gen.sample(5, label="a")
    assert not a.equals(b)
    again = GaussianCopulaGenerator(random_state=2).fit(frame, labels="target").sample(5, label="a")
    pd.testing.assert_frame_equal(a, again)
    out, prov = gen.sample_with_provenance(3, label="b")
    assert len(prov) == 3 and prov["is_synthetic"].all() and (prov["method"] == "gaussian_copula").all()


def test_bad_input(frame):
    with pytest.raises(InvalidInputError, match="'label' is not in the frame|'nope' is not in the frame"):
        GaussianCopulaGenerator().fit(frame, labels="nope")
    with pytest.raises(InvalidTypeError, match="DataFrame"):
        GaussianCopulaGenerator().fit(frame.to_numpy(), labels="target")
    gen = GaussianCopulaGenerator().fit(frame, labels="target")
    with pytest.raises(InvalidInputError, match="no class 'c'"):
        gen.sample(3, label="c")
    with pytest.raises(InvalidInputError, match="not fitted"):
        GaussianCopulaGenerator().sample(3)
    with pytest.raises(InvalidInputError, match="missing values"):
        GaussianCopulaGenerator().fit(frame.assign(target=frame["target"].where(frame.index > 0)), labels="target")
    one = pd.concat([frame.iloc[:50].assign(target="a"), frame.iloc[50:51].assign(target="solo")])
    with pytest.warns(DatafixWarning, match="one row"):
        solo = GaussianCopulaGenerator().fit(one, labels="target").sample(3, label="solo")
    assert (solo["x1"] == frame["x1"].iloc[50]).all()
