"""Long-tailed digits: train the same small model plainly, with a class-balanced sampler that
also draws doubtful labels less often (weights from an audit), and with logit adjustment; then
oversample the features with SMOTE, which copes with a class of a single sample.

Under DistributedDataParallel nothing changes: build the sampler in each process after
``torch.distributed.init_process_group``; it reads ``num_replicas`` and ``rank`` from the group,
and ``sampler.set_epoch(epoch)`` at the start of each epoch gives every rank its share of the
same balanced draw.

Run: .venv/bin/python examples/rebalance_long_tail.py
"""

import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

import datafix as dfx
from datafix.balance import ClassBalancedSampler, LogitAdjustedLoss, Resampler


def train(X, y, *, sampler=None, loss_fn=None, epochs=40, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    data = TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
    loader = DataLoader(data, batch_size=32, sampler=sampler, shuffle=sampler is None)
    loss_fn = loss_fn or torch.nn.CrossEntropyLoss()
    for epoch in range(epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    return model


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.5, stratify=y, random_state=0)
    keep = dfx.datasets.long_tail_subset(y_train, 50, random_state=0)  # 90 samples of digit 0 ... 2 of digit 9
    X_lt, y_lt = X_train[keep], y_train[keep]
    print("train samples per class:", np.bincount(y_lt).tolist())

    report = dfx.audit(X_lt, labels=y_lt, verbose=False)  # its label_score weights the sampler
    levers = {
        "plain": {},
        "class-balanced sampler (label_score weights)": {"sampler": ClassBalancedSampler(y_lt, sample_weights=report)},
        "logit adjustment": {"loss_fn": LogitAdjustedLoss(y_lt)},
    }
    for name, kwargs in levers.items():
        model = train(X_lt, y_lt, **kwargs)
        with torch.no_grad():
            pred = model(torch.tensor(X_test, dtype=torch.float32)).argmax(1).numpy()
        print(f"{name:>45}: balanced accuracy {balanced_accuracy_score(y_test, pred):.3f}")

    # a cleaning step left digit 9 with one sample: SMOTE would crash, the Resampler adapts
    one_left = np.concatenate([np.flatnonzero(y_lt != 9), np.flatnonzero(y_lt == 9)[:1]])
    resampler = Resampler("smote", random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X_res, y_res = resampler.fit_resample(X_lt[one_left], y_lt[one_left])
    print("after SMOTE, samples per label:", np.bincount(y_res).tolist())
    print(f"synthetic rows: {int(resampler.is_synthetic_.sum())}; note: {caught[0].message if caught else 'none'}")


if __name__ == "__main__":
    main()
