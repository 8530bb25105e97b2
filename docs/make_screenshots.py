"""Write the HTML report of a messy table and of a messy image folder, and screenshot both.

Needs Debian's ``chromium`` (headless) and ``dataset-fashion-mnist`` (``make data``)::

    .venv/bin/python docs/make_screenshots.py

Writes ``docs/report-table.png`` and ``docs/report-images.png`` (and the pages under /tmp).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from datafix.cli import main

FASHION = Path("/usr/share/datasets/fashion-mnist")
DOCS = Path(__file__).resolve().parent


def messy_table(path: Path) -> None:
    """A churn table as users have them: IDs, dates as text, typos in the labels, a broken row, copies."""
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=n)
    df = pd.DataFrame({
        "customer_id": [f"C{100000 + i}" for i in range(n)],
        "age": rng.integers(18, 80, n),
        "monthly_spend": (x * 30 + 100).round(2),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "signup": pd.date_range("2021-01-01", periods=n, freq="D").astype(str),
        "churned": np.where(x + rng.normal(scale=0.4, size=n) > 0.6, "churn", "stay"),
    })
    df.loc[[3, 40, 77], "churned"] = "churn "
    df.loc[[5, 90], "churned"] = "chrun"
    df.loc[[8, 12], "churned"] = "Stay"
    df.loc[[200, 201], ["age", "monthly_spend"]] = [[230, 900.0], [-4, -350.0]]  # entry errors
    df.loc[300:304, ["age", "monthly_spend", "plan", "signup"]] = df.loc[100:104, ["age", "monthly_spend", "plan",
                                                                                     "signup"]].to_numpy()
    df.to_csv(path, index=False)


def fashion(n_per_class: int = 60) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(FASHION / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(FASHION / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images, labels


def messy_folder(root: Path) -> None:
    """Fashion-MNIST photos in class folders, with the files a real folder has: broken, dark, RGBA, copies."""
    images, labels = fashion()
    names = {0: "tshirt", 1: "trouser", 7: "sneaker"}
    for code, name in names.items():
        (root / name).mkdir(parents=True)
        for i, j in enumerate(np.flatnonzero(labels == code)[:60]):
            Image.fromarray(images[j]).save(root / name / f"{name}_{i:03d}.png")
    sneaker = np.flatnonzero(labels == 7)[100:104]
    for i, j in enumerate(sneaker):  # mislabelled: sneakers filed as trousers
        Image.fromarray(images[j]).save(root / "trouser" / f"misfiled_{i}.png")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(root / "tshirt" / "dark.png")
    Image.fromarray(images[np.flatnonzero(labels == 0)[70]]).convert("RGBA").save(root / "tshirt" / "rgba.png")
    Image.fromarray(images[np.flatnonzero(labels == 1)[70]]).resize((280, 90)).save(root / "trouser" / "wide.png")
    shutil.copy(root / "sneaker" / "sneaker_000.png", root / "sneaker" / "copy_of_000.png")
    (root / "sneaker" / "broken.png").write_bytes(b"\x89PNG not really")


def screenshot(page: Path, out: Path, height: int) -> None:
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={out}", f"--window-size=1200,{height}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)


def run() -> None:
    work = Path(tempfile.mkdtemp(prefix="datafix-screens-"))
    table = work / "customers.csv"
    messy_table(table)
    main(["audit", str(table), "--label", "churned", "-q", "--html", str(work / "table.html")])
    folder = work / "clothes"
    messy_folder(folder)
    main(["audit", str(folder), "-q", "--html", str(work / "images.html")])
    screenshot(work / "table.html", DOCS / "report-table.png", 2600)
    screenshot(work / "images.html", DOCS / "report-images.png", 3000)
    print(f"pages in {work}; screenshots in {DOCS}")


if __name__ == "__main__":
    run()
