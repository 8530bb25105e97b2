"""
Long-tailed classes: a balanced sampler, logit adjustment, and SMOTE that does not crash
=========================================================================================

scikit-learn's handwritten digits cut to a long tail (ratio 50: 90 images of digit 0, 2 of digit
9). The same small network is trained plainly, with a class-balanced sampler that also draws
doubtful labels less often (weights from an audit), and with logit adjustment (Menon et al.
2021); balanced accuracy is measured on a balanced test split. Then SMOTE is run on a class with
one sample left, which makes imbalanced-learn's SMOTE raise.

Under ``DistributedDataParallel`` nothing changes: build the sampler in each process after
``torch.distributed.init_process_group``; it reads ``num_replicas`` and ``rank`` from the group,
and ``sampler.set_epoch(epoch)`` gives every rank its share of the same balanced draw.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

import datafix as dfx
from datafix.balance import ClassBalancedSampler, LogitAdjustedLoss, Resampler

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.5, stratify=y, random_state=0)
keep = dfx.datasets.long_tail_subset(y_train, 50, random_state=0)
X_lt, y_lt = X_train[keep], y_train[keep]
print("training images per digit:", np.bincount(y_lt).tolist())

# %%
# What a sampler draws
# --------------------
# One epoch of a plain shuffle follows the tail; :class:`~datafix.balance.ClassBalancedSampler`
# draws every class equally often (``weighting="inverse"``; ``"sqrt"`` and ``"effective"`` are
# gentler). With ``sample_weights=report`` it also draws each sample in proportion to its audit
# label score, so doubtful labels come up less.
report = dfx.audit(X_lt, labels=y_lt, verbose=False)
sampler = ClassBalancedSampler(y_lt, sample_weights=report, seed=0)
drawn = y_lt[np.fromiter(iter(sampler), dtype=int)]
fig, ax = plt.subplots(figsize=(7, 2.8))
width = 0.4
ax.bar(np.arange(10) - width / 2, np.bincount(y_lt, minlength=10), width, label="plain shuffle")
ax.bar(np.arange(10) + width / 2, np.bincount(drawn, minlength=10), width, label="ClassBalancedSampler")
ax.set(xlabel="digit", ylabel="draws per epoch", xticks=range(10))
ax.legend()
fig.tight_layout()

# %%
# Train the same model three ways
# -------------------------------


def train(sampler=None, loss_fn=None, epochs=40, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    data = TensorDataset(torch.tensor(X_lt, dtype=torch.float32), torch.tensor(y_lt))
    loader = DataLoader(data, batch_size=32, sampler=sampler, shuffle=sampler is None)
    loss_fn = loss_fn or torch.nn.CrossEntropyLoss()
    for epoch in range(epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    with torch.no_grad():
        predicted = model(torch.tensor(X_test, dtype=torch.float32)).argmax(1).numpy()
    return balanced_accuracy_score(y_test, predicted)


levers = {
    "plain": lambda seed: train(seed=seed),
    "balanced sampler": lambda seed: train(ClassBalancedSampler(y_lt, sample_weights=report, seed=seed),
                                           seed=seed),
    "logit adjustment": lambda seed: train(loss_fn=LogitAdjustedLoss(y_lt), seed=seed),
}
scores = {name: [run(seed) for seed in range(3)] for name, run in levers.items()}
for name, values in scores.items():
    print(f"{name:>17}: balanced accuracy {np.mean(values):.3f} +- {np.std(values, ddof=1) / np.sqrt(3):.3f} (3 seeds)")

# %%
# SMOTE on a class of one
# -----------------------
# A cleaning step left digit 9 with one sample. imbalanced-learn's SMOTE needs ``k_neighbors + 1``
# samples per class and raises; :class:`~datafix.balance.Resampler` adapts (fewer neighbours,
# random oversampling for a class of one) and says so in a warning that names the class.
one_left = np.concatenate([np.flatnonzero(y_lt != 9), np.flatnonzero(y_lt == 9)[:1]])
resampler = Resampler("smote", random_state=0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    X_res, y_res = resampler.fit_resample(X_lt[one_left], y_lt[one_left])
print("after SMOTE, samples per digit:", np.bincount(y_res).tolist())
print(f"synthetic rows: {int(resampler.is_synthetic_.sum())}")
for w in caught:
    print("warning:", w.message)
