"""
Per-sample augmentation of a batch: policies, recipes and exact replays
=======================================================================

:class:`datafix.augment.Compose` augments a whole batch at once, on the batch's device (the
same code on a CPU and on a GPU, where eligible pipelines run as one fused kernel), and every
sample draws its own parameters: eight copies of one photo come out as eight different images.
The draws are keyed on ``(seed, epoch, sample id)``, so a sample's augmentation replays exactly,
whatever batch it lands in. The photos are the two that ship with scikit-learn.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_sample_images

from datafix import augment as A
from datafix.augment.recipes import recipe

photos = load_sample_images().images                       # two real 427 x 640 RGB photos
crops = [photo[100:356, 200:456] for photo in photos]      # 256 x 256 crops
images = torch.tensor(np.stack([crops[0]] * 4 + [crops[1]] * 4)).permute(0, 3, 1, 2)  # (8, 3, 256, 256) uint8
print(images.shape, images.dtype)


def show(rows: dict[str, torch.Tensor]) -> None:
    fig, axes = plt.subplots(len(rows), 8, figsize=(12, 1.6 * len(rows)))
    for r, (name, batch) in enumerate(rows.items()):
        for c in range(8):
            axes[r, c].imshow(batch[c].permute(1, 2, 0).clamp(0, 1).numpy())
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.tight_layout()


# %%
# The policies
# ------------
# RandAugment, TrivialAugmentWide, AutoAugment and AugMix follow torchvision's op sets and
# magnitude ranges, but each sample of the batch draws its own ops and magnitudes.
policies = {
    "RandAugment(2, 9)": A.Compose([A.RandAugment(num_ops=2, magnitude=9)], seed=0),
    "TrivialAugmentWide": A.Compose([A.TrivialAugmentWide()], seed=0),
    "AutoAugment(imagenet)": A.Compose([A.AutoAugment("imagenet")], seed=0),
    "AugMix(3, 3)": A.Compose([A.AugMix(severity=3, width=3)], seed=0),
}
show({"input": images / 255.0, **{name: aug(images) for name, aug in policies.items()}})

# %%
# Geometry and colour, fused
# --------------------------
# A classic training pipeline. Neighbouring geometric transforms are fused into one resampling
# pass; on a GPU with Triton the whole pipeline is one kernel launch (see the benchmarks).
classic = A.Compose([A.RandomResizedCrop(160), A.HorizontalFlip(), A.Affine(degrees=20, shear=10),
                     A.ColorJitter(0.4, 0.4, 0.4, 0.1), A.RandomErasing(p=0.5)], seed=1)
show({"classic": classic(images), "limited-data recipe": recipe("limited-data", size=256, num_classes=2,
                                                                  seed=2)(images, torch.tensor([0] * 4 + [1] * 4))[0]})

# %%
# Exact replays
# -------------
# With ``sample_ids``, sample 5 of epoch 3 gets the same augmentation in any batch, on any
# device: debugging a strange batch, or resuming a run, replays it bit for bit.
aug = A.Compose([A.TrivialAugmentWide(), A.RandomErasing(p=0.5)], seed=7)
aug.set_epoch(3)
ids = torch.arange(8)
whole = aug(images, sample_ids=ids)
alone = aug(images[5:6], sample_ids=ids[5:6])
print("sample 5 alone == sample 5 in the batch:", torch.equal(whole[5:6], alone))
aug.set_epoch(4)
print("the next epoch draws again:", not torch.equal(aug(images, sample_ids=ids), whole))
