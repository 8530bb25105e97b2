"""
Audit a torch Dataset: unreadable items and wrong labels, shown as thumbnails
==============================================================================

Any map-style :class:`torch.utils.data.Dataset` can be audited. Items that raise when read
(a truncated file, say) are reported as broken instead of stopping the audit, and any
``nn.Module`` can turn a batch into features. The images are scikit-learn's 1,797 real 8 x 8
handwritten digits, 15 % of them with a flipped label.
"""

import matplotlib.pyplot as plt
import torch
from torch.utils.data import Dataset

import datafix as dfx


class DigitsDataset(Dataset):
    """The digits as 1 x 8 x 8 tensors; the items in ``unreadable`` raise like a bad file."""

    def __init__(self, noise: float = 0.15, unreadable: tuple[int, ...] = (7, 99)) -> None:
        self.data = dfx.datasets.load_noisy("digits", noise=noise, random_state=0)
        self.images = torch.tensor(self.data.X, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
        self.targets = self.data.y.tolist()
        self.unreadable = set(unreadable)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        if i in self.unreadable:
            raise OSError(f"image {i} is truncated")
        return self.images[i], self.targets[i]


ds = DigitsDataset()
report = dfx.audit(ds, features=torch.nn.Flatten(), batch_size=128, verbose=False)
print(report.render(max_rows=5))

# %%
# The broken items are rows of the report too, flagged and left out of the other checks:
report.flagged("broken")[["is_broken", "broken_reason"]]

# %%
# How good is the label check here?
found = report.issues["is_label_issue"].fillna(False).to_numpy(bool)
truth = ds.data.is_label_error
print(f"flipped labels found: {(found & truth).sum()} of {truth.sum()}, false alarms: {(found & ~truth).sum()}")

# %%
# The likeliest wrong labels, as pictures
# ---------------------------------------
# Each thumbnail is titled with the given label and the one the audit suggests; a red title is a
# label that was really flipped.
worst = report.flagged("label").head(16)
fig, axes = plt.subplots(2, 8, figsize=(10, 3))
for ax, (i, row) in zip(axes.ravel(), worst.iterrows(), strict=False):
    ax.imshow(ds.images[i, 0], cmap="gray_r")
    ax.set_title(f"{row['given_label']} -> {row['suggested_label']}", fontsize=9,
                 color="tab:red" if truth[i] else "black")
    ax.axis("off")
fig.suptitle("given -> suggested label (red: truly flipped)")
fig.tight_layout()

# %%
# A different feature extractor is one argument away: 2 x 2 pooled pixels, 16 features.
coarse = dfx.audit(ds, features=torch.nn.Sequential(torch.nn.AvgPool2d(2), torch.nn.Flatten()), verbose=False)
print(f"with 2x2-pooled features: {int(coarse.summary().loc['label', 'count'])} labels flagged")
