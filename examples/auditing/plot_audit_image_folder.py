"""
Audit an image folder: real photos with wrong folders, copies, and broken files
===============================================================================

An image folder ``root/<class>/<file>`` is audited from its path. Here the folder is cut from
the two real photographs that ship with scikit-learn (a temple in China and a flower), 64 x 64
tiles of each under its own class, with problems a real folder has: tiles filed under the wrong
class, a copied file, a truncated JPEG, a frame that is almost black and a blurred one. The
image checks (dark, overexposed, blurry, low information, odd size) run with the label,
duplicate and outlier checks.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image, ImageFilter
from sklearn.datasets import load_sample_images

import datafix as dfx

photos = dict(zip(["china", "flower"], load_sample_images().images, strict=True))
root = Path(tempfile.mkdtemp()) / "tiles"
tiles = {}
for name, photo in photos.items():
    (root / name).mkdir(parents=True)
    for r in range(0, photo.shape[0] - 63, 64):
        for c in range(0, photo.shape[1] - 63, 64):
            tiles[f"{name}-{r:03d}-{c:03d}"] = photo[r:r + 64, c:c + 64]

for key, tile in tiles.items():
    folder = key.split("-")[0]
    if key in {"china-064-192", "china-128-320", "china-192-448"}:   # filed under the wrong class
        folder = "flower"
    Image.fromarray(tile).save(root / folder / f"{key}.jpg", quality=95)
Image.fromarray(tiles["flower-192-256"]).save(root / "flower" / "copy-of-flower-192-256.jpg", quality=95)
Image.fromarray((tiles["china-256-128"] * 0.04).astype(np.uint8)).save(root / "china" / "dark-frame.jpg")
Image.fromarray(tiles["china-128-064"]).filter(ImageFilter.GaussianBlur(4)).save(root / "china" / "blurred.jpg")
(root / "china" / "truncated.jpg").write_bytes((root / "china" / "china-000-000.jpg").read_bytes()[:300])
print(sum(1 for _ in root.rglob("*.jpg")), "files in", root)

# %%
# The audit reads the folder; file names are the report's index.
report = dfx.audit(str(root), verbose=False)
report.summary().query("status == 'ran'")

# %%
# Which files did each check flag? (The index holds paths relative to the folder.) The three
# misfiled tiles are all flagged (two of them among the first four), the copy pairs with its
# original, the dark frame and the blurred tile are found. The other flags are the photos' own:
# the flower's background is out of focus (blurry by the same rule), and plain sky, petal or
# shadow tiles look alike across the two photos when the features are raw pixels of 118 tiles;
# a feature module (``features=``, see the torch Dataset example) separates them better.
for check in ["broken", "label", "duplicate", "dark", "blurry", "outlier"]:
    print(f"{check:>9}: {[Path(p).name for p in report.flagged(check).index]}")  # worst first

# %%
# The flagged files, as pictures
# ------------------------------
shown = [(check, path) for check in ["label", "duplicate", "dark", "blurry"]
         for path in report.flagged(check).index[:4]]
fig, axes = plt.subplots(1, len(shown), figsize=(1.6 * len(shown), 2.2))
for ax, (check, path) in zip(np.atleast_1d(axes), shown, strict=True):
    ax.imshow(Image.open(root / path).convert("RGB"))
    ax.set_title(f"{check}\n{Path(path).parent.name}/{Path(path).name[:14]}", fontsize=7)
    ax.axis("off")
fig.tight_layout()
