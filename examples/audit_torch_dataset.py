"""Audit a torch Dataset with a feature extractor, some unreadable items and some wrong labels.

Run: .venv/bin/python examples/audit_torch_dataset.py
"""

import torch
from torch.utils.data import Dataset

import datafix as dfx


class DigitsDataset(Dataset):
    """scikit-learn's digits as 8x8 image tensors; items listed in `unreadable` raise like a bad file."""

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


def main() -> None:
    ds = DigitsDataset()
    # Any nn.Module turns a batch of inputs into features; it runs on its own device, in batches.
    extractor = torch.nn.Sequential(torch.nn.AvgPool2d(2), torch.nn.Flatten())
    report = dfx.audit(ds, features=torch.nn.Flatten(), batch_size=128, verbose=False)
    print(report.render(max_rows=5))

    found = report.issues["is_label_issue"].fillna(False).to_numpy(bool)
    truth = ds.data.is_label_error
    print(f"flipped labels found: {(found & truth).sum()} of {truth.sum()}, false alarms: {(found & ~truth).sum()}")

    coarse = dfx.audit(ds, features=extractor, verbose=False)  # 16 pooled features instead of 64
    print(f"with 2x2-pooled features: {int(coarse.summary().loc['label', 'count'])} flagged")


if __name__ == "__main__":
    main()
