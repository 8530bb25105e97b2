"""
Audit, fix, and train before and after
======================================

The whole job on scikit-learn's 1,797 real handwritten digits (8 x 8 pixels): a quarter of the
training labels are flipped, as a careless annotation round would leave them. We audit the
training split, fix it with a pipeline of steps (reversibly: the data are never changed), train
the same small network on the raw and on the fixed training data through a ``DataLoader``, and
score both on a clean test split. The report page at the end shows what was found and what the
plan changed.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

import datafix as dfx
from datafix.fix import DropLabelIssues, DropNearDuplicates, Pipeline, Rebalance, Relabel

data = dfx.datasets.load_noisy("digits", noise=0.25, n_duplicates=20, random_state=0)
positions = np.arange(len(data.y))
train, test = train_test_split(positions, test_size=0.3, stratify=data.y_true, random_state=0)
X_train, y_train = data.X[train] / 16.0, data.y[train]
X_test, y_test = data.X[test] / 16.0, data.y_true[test]           # the test labels are clean
print(f"{len(train)} training rows, {int(data.is_label_error[train].sum())} with a flipped label")

# %%
# 1. Audit
# --------
report = dfx.audit(X_train, labels=y_train, verbose=False)
report.summary().query("status == 'ran'")

# %%
# 2. Fix: a plan, not a changed copy
# ----------------------------------
# Relabel what the evidence is sure about, drop the other doubtful labels and the copies, and
# draw classes evenly. ``max_drop_share`` caps what any step may take from a class.
pipeline = Pipeline([Relabel(min_confidence=0.9), DropLabelIssues(), DropNearDuplicates(), Rebalance()],
                    max_drop_share=0.5)
plan = pipeline.fit(X_train, y_train, report=report)
plan.summary()

# %%
# Every change can be explained, and undone step by step:
print(plan.explain(plan.changes.index[0]))
print("without the relabel step:", plan.undo("relabel").counts_line())

# %%
# 3. Train the same network before and after
# ------------------------------------------
# ``plan.dataset`` serves the kept rows with their fixed labels; ``plan.sampler`` draws them
# class-balanced. The raw run gets an ordinary shuffled loader over the same split.


def train_and_score(loader: DataLoader, classes: np.ndarray, seed: int) -> float:
    """Train on ``loader`` (labels are codes into ``classes``); accuracy on the clean test split."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    for epoch in range(30):
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        for xb, yb in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb.float()), yb.long()).backward()
            opt.step()
    with torch.no_grad():
        predicted = model(torch.tensor(X_test, dtype=torch.float32)).argmax(1).numpy()
    return float((classes[predicted] == y_test).mean())


raw = DataLoader(TensorDataset(torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train)),
                 batch_size=64, shuffle=True)
fixed = DataLoader(plan.dataset, sampler=plan.sampler, batch_size=64)
seeds = range(3)
scores = {"raw labels": [train_and_score(raw, np.arange(10), s) for s in seeds],
          "after the fix": [train_and_score(fixed, plan.classes, s) for s in seeds]}
for name, values in scores.items():
    print(f"{name:>14}: test accuracy {np.mean(values):.3f} +- {np.std(values, ddof=1) / np.sqrt(len(values)):.3f}"
          f" (3 seeds)")

# %%
# The class counts before and after the plan, and the two models side by side:
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
plan.class_counts()[["before", "after"]].plot.bar(ax=left, rot=0)
left.set(title="samples per class (given labels)", xlabel="digit")
right.bar(list(scores), [np.mean(v) for v in scores.values()],
          yerr=[np.std(v, ddof=1) / np.sqrt(len(v)) for v in scores.values()], color=["grey", "tab:green"])
right.set(ylim=(0.8, 1.0), title="test accuracy (clean labels)")
fig.tight_layout()

# %%
# 4. The report, with the plan
# ----------------------------
# ``report.to_html("audit.html", plan=plan)`` writes this page; a plan shows it in a notebook.
plan
