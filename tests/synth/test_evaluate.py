import numpy as np
import pandas as pd
import pytest

from datafix.errors import InvalidInputError
from datafix.synth import GaussianCopulaGenerator, evaluate


@pytest.fixture(scope="module")
def real():
    rng = np.random.default_rng(0)
    n = 400
    y = rng.choice([0, 1], n)
    x = rng.normal(size=n) + 2.5 * y
    return pd.DataFrame({"x": x, "z": -x + rng.normal(scale=0.3, size=n), "kind": rng.choice(["u", "v"], n), "y": y})


def test_copies_are_caught_and_good_synthetic_data_scores_well(real):
    copies = evaluate(real, real.sample(200, random_state=0), "y")
    assert copies.summary["copy_share"] == 1.0 and copies.summary["median_dcr"] == 0.0
    fake = GaussianCopulaGenerator(random_state=0).fit(real, labels="y").sample(400)
    q = evaluate(real, fake, "y")
    assert q.summary["copy_share"] < 0.05
    assert q.summary["tstr_balanced_accuracy"] > q.summary["trtr_balanced_accuracy"] - 0.1
    assert q.summary["detection_auc"] < 0.8 and q.summary["correlation_difference"] < 0.1
    assert set(q.columns.index) == {"x", "z", "kind"} and (q.columns["distance"] < 0.2).all()


def test_bad_synthetic_data_scores_badly_and_unseen_categories_count(real):
    noise = real.assign(x=np.random.default_rng(1).normal(size=len(real)) * 10, kind="w")  # 'w' never in real
    q = evaluate(real, noise, "y")
    assert q.columns.loc["kind", "distance"] == 1.0 and q.columns.loc["x", "distance"] > 0.3
    assert q.summary["detection_auc"] > 0.9


def test_bad_input(real):
    with pytest.raises(InvalidInputError, match="differ in columns"):
        evaluate(real, real.drop(columns="z"), "y")
    with pytest.raises(InvalidInputError, match="not in the frame"):
        evaluate(real, real, "label")
    with pytest.raises(InvalidInputError, match="empty"):
        evaluate(real, real.iloc[:0], "y")


def test_detection_auc_is_near_chance_for_a_resample_of_the_same_distribution():
    def draw(seed):
        rng = np.random.default_rng(seed)
        y = rng.choice(4, 400)
        x = rng.normal(size=400) + 2.5 * y
        return pd.DataFrame({"x": x, "z": -x + rng.normal(scale=0.3, size=400), "y": y})

    # the twin is ordered by class on purpose: unshuffled folds gave an AUC of 0.30 here
    q = evaluate(draw(0), draw(5).sort_values("y"), "y")
    assert 0.4 < q.summary["detection_auc"] < 0.6


def test_one_numeric_column_leaves_the_correlation_out_and_says_why():
    """The README's example: one numeric column has no correlations to compare (it printed nan)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=300), "colour": rng.choice(["red", "blue"], 300),
                       "y": rng.choice(["common", "rare"], 300, p=[0.9, 0.1])})
    fake = df.assign(x=df["x"] + rng.normal(0, 0.3, 300))
    q = evaluate(df, fake, "y")
    assert "correlation_difference" not in q.summary and all(np.isfinite(v) for v in q.summary.values())
    assert q.notes == {"correlation_difference": "left out: it compares the correlations between numeric columns, "
                                                 "and the table has 1 ('x')"}
    assert evaluate(df.assign(z=rng.normal(size=300)), fake.assign(z=rng.normal(size=300)), "y").notes == {}
