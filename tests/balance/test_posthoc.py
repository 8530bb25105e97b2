import numpy as np
import pytest
import torch

from datafix.balance import adjust_logits, logit_adjustment, tune_logit_adjustment
from datafix.errors import InvalidInputError


def test_adjust_logits_subtracts_tau_log_prior():
    labels = [0] * 8 + [1] * 2
    z = torch.randn(5, 2)
    torch.testing.assert_close(adjust_logits(z, labels, tau=0.5), z - 0.5 * torch.log(torch.tensor([0.8, 0.2])))
    torch.testing.assert_close(adjust_logits(z.numpy(), priors=[4, 1]), z - logit_adjustment(priors=[0.8, 0.2]))
    with pytest.raises(InvalidInputError, match="shape"):
        adjust_logits(torch.zeros(3, 3), labels)


def test_tuned_tau_raises_balanced_accuracy_of_a_biased_model():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 200)
    logits = rng.normal(size=(600, 3)) + 2.0 * np.eye(3)[y]
    logits += np.log([0.9, 0.09, 0.01])  # a model that learned the training priors
    tau, scores = tune_logit_adjustment(logits, y, priors=[0.9, 0.09, 0.01])
    assert 0.5 <= tau <= 1.5 and scores[tau] > scores[0.0] + 0.1
