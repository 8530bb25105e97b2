"""
Synthetic rows for a rare class, traced to their parents and measured
=====================================================================

More rows for a rare class help only if they look like real ones and are not copies. This
example fits a class-conditional Gaussian copula to scikit-learn's wine table, generates rows of
its rarest cultivar, compares their marginals with the real ones, and measures them with
:func:`datafix.synth.evaluate`: train-on-synthetic / test-on-real accuracy, how well a classifier
tells them apart, and how many are near copies. Then :class:`~datafix.synth.TorchSMOTE` makes
rows whose parents are listed one by one.
"""

import matplotlib.pyplot as plt
import numpy as np

import datafix as dfx
from datafix.synth import GaussianCopulaGenerator, TorchSMOTE, evaluate

real = dfx.datasets.load_noisy("wine", random_state=0).frame("cultivar")
print(real["cultivar"].value_counts().to_dict())
rare = real["cultivar"].value_counts().idxmin()

# %%
# Generate and compare
# --------------------
generator = GaussianCopulaGenerator(random_state=0).fit(real, labels="cultivar")
synthetic = generator.sample(300, label=rare)
columns = ["alcohol", "flavanoids", "color_intensity", "proline"]
fig, axes = plt.subplots(1, len(columns), figsize=(12, 2.6))
for ax, column in zip(axes, columns, strict=True):
    bins = np.histogram_bin_edges(real[column], bins=20)
    ax.hist(real.loc[real["cultivar"] == rare, column], bins=bins, density=True, alpha=0.6, label="real")
    ax.hist(synthetic[column], bins=bins, density=True, alpha=0.6, label="synthetic")
    ax.set_title(column, fontsize=9)
axes[0].legend(fontsize=8)
fig.suptitle(f"cultivar {rare!r}: real vs synthetic marginals")
fig.tight_layout()

# %%
# Measure
# -------
# ``tstr``: a classifier trained on synthetic rows, tested on held-out real rows, against the
# same classifier trained on real rows (``trtr``); ``detection_auc`` near 0.5 means a classifier
# cannot tell synthetic from real; ``copy_share`` is the share of near copies of a real row.
quality = evaluate(real, generator.sample(len(real)), "cultivar", random_state=0)
{name: round(value, 3) for name, value in quality.summary.items()}

# %%
quality.columns.sort_values("distance").tail()

# %%
# SMOTE rows and their parents
# ----------------------------
# Every synthetic row of :class:`~datafix.synth.TorchSMOTE` says which two real rows it lies
# between, and with which seed it was drawn, so it can be traced or removed later.
X = real.drop(columns="cultivar").to_numpy(np.float32)
smote = TorchSMOTE(k_neighbors=5, random_state=0)
rows = smote.sample(X, real["cultivar"].to_numpy())
print(type(rows).__name__, {name: getattr(rows, name).shape for name in ("X", "y")})
rows.provenance.head()
