import numpy as np
import pytest
import torch

from datafix.balance import LogitAdjustedLoss, class_priors, class_weights, logit_adjustment
from datafix.balance.weights import per_class_weights
from datafix.errors import DatafixWarning, InvalidInputError

LABELS = [0] * 90 + [1] * 9 + [2] * 1


def test_inverse_weights_are_inverse_frequency_with_mean_one():
    w = class_weights(LABELS)
    expected = np.array([1 / 90, 1 / 9, 1.0])
    np.testing.assert_allclose(w.numpy(), expected / expected.mean(), rtol=1e-6)
    assert w.dtype == torch.float32
    loss = torch.nn.CrossEntropyLoss(weight=w)(torch.zeros(3, 3), torch.tensor([0, 1, 2]))
    assert torch.isfinite(loss)


def test_sqrt_and_effective_number_follow_their_formulas():
    np.testing.assert_allclose(per_class_weights(np.array([100, 4]), "sqrt"), [0.1, 0.5])
    beta = 0.99
    counts = np.array([1000, 10])
    expected = (1 - beta) / (1 - beta ** counts)
    np.testing.assert_allclose(per_class_weights(counts, "effective", beta=beta), expected)
    w = class_weights([0] * 1000 + [1] * 10, "effective", beta=beta).numpy()
    np.testing.assert_allclose(w, expected / expected.mean(), rtol=1e-6)


def test_effective_number_spans_none_to_inverse():
    counts = np.array([500, 50, 5])
    np.testing.assert_allclose(per_class_weights(counts, "effective", beta=0.0), [1, 1, 1])
    near_inverse = per_class_weights(counts, "effective", beta=1 - 1e-9)
    np.testing.assert_allclose(near_inverse / near_inverse[0], (1 / counts) / (1 / counts[0]), rtol=1e-5)


def test_power_temperature_one_is_natural_and_two_is_sqrt():
    counts = np.array([400, 100, 1])
    np.testing.assert_allclose(per_class_weights(counts, "power", temperature=1.0), [1, 1, 1])
    np.testing.assert_allclose(per_class_weights(counts, "power", temperature=2.0), per_class_weights(counts, "sqrt"))


def test_classes_order_and_string_labels():
    w = class_weights(["cat"] * 3 + ["dog"], classes=["dog", "cat"])
    assert w[0] > w[1]  # the rare 'dog' comes first, as listed


def test_empty_listed_class_gets_zero_weight_with_a_warning():
    with pytest.warns(DatafixWarning, match="no samples"):
        w = class_weights([0, 0, 1], classes=[0, 1, 2])
    assert w[2] == 0 and torch.isclose(w[:2].mean(), torch.tensor(1.0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weighting": "log"}, "weighting"),
        ({"weighting": "effective", "beta": 1.0}, "beta"),
        ({"weighting": "effective", "beta": -0.1}, "beta"),
    ],
)
def test_bad_weight_arguments_name_the_argument(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        class_weights(LABELS, **kwargs)


def test_labels_must_be_class_labels():
    with pytest.raises(InvalidInputError, match="non-integer floats"):
        class_weights([0.5, 1.0])
    with pytest.raises(InvalidInputError, match="not in the 'classes'"):
        class_weights([0, 3], classes=[0, 1])


def test_logit_adjustment_is_tau_log_prior():
    priors = class_priors(LABELS)
    np.testing.assert_allclose(priors.numpy(), [0.9, 0.09, 0.01])
    offsets = logit_adjustment(LABELS, tau=0.5)
    np.testing.assert_allclose(offsets.numpy(), 0.5 * np.log([0.9, 0.09, 0.01]), rtol=1e-6)
    np.testing.assert_allclose(logit_adjustment(priors=[9, 0.9, 0.1]).numpy(), np.log([0.9, 0.09, 0.01]), rtol=1e-6)


def test_logit_adjusted_loss_is_cross_entropy_of_shifted_logits():
    torch.manual_seed(0)
    logits = torch.randn(8, 3, requires_grad=True)
    target = torch.randint(0, 3, (8,))
    loss = LogitAdjustedLoss(LABELS, tau=1.0)(logits, target)
    expected = torch.nn.functional.cross_entropy(logits + torch.log(torch.tensor([0.9, 0.09, 0.01])), target)
    assert torch.isclose(loss, expected, atol=1e-6)
    loss.backward()
    assert logits.grad is not None
    # the loss pushes the rare class harder: its gradient is larger than plain CE's
    plain = torch.nn.functional.cross_entropy(logits.detach(), torch.full((8,), 2))
    adjusted = LogitAdjustedLoss(LABELS)(logits.detach(), torch.full((8,), 2))
    assert adjusted > plain


def test_logit_adjustment_bad_input():
    with pytest.raises(InvalidInputError, match="exactly one"):
        logit_adjustment()
    with pytest.raises(InvalidInputError, match="priors"):
        logit_adjustment(priors=[0.5, 0.0])
    with pytest.raises(InvalidInputError, match="priors"):
        logit_adjustment(priors=[0.5, float("nan")])
    with pytest.raises(ValueError, match="4 classes"):
        LogitAdjustedLoss(LABELS)(torch.zeros(2, 4), torch.tensor([0, 1]))
    with pytest.warns(DatafixWarning, match="half a sample"):
        offsets = logit_adjustment([0, 1], classes=[0, 1, 2])
    assert torch.isfinite(offsets).all()
